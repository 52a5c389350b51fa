"""Every error code the server can send has a sentence in each language of the windows (issue 16, section 4).

The codes are read from the source (a `code = "..."` class attribute or a `code="..."` argument anywhere under
backend/), the sentences from frontend/js/i18n_errors.js as text: a code added without its pt-BR and en
sentences, or a key only one language has, fails here with its name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRINGS = ROOT / "frontend" / "js" / "i18n_errors.js"
LANGUAGES = ("pt-BR", "en")


def server_codes() -> set[str]:
    """Every literal error code under backend/: class attributes and code= keyword arguments."""
    codes: set[str] = set()
    for path in (ROOT / "backend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (isinstance(item, ast.Assign) and [getattr(t, "id", None) for t in item.targets] == ["code"]
                            and isinstance(item.value, ast.Constant) and isinstance(item.value.value, str)):
                        codes.add(item.value.value)
            elif isinstance(node, ast.Call):
                codes.update(k.value.value for k in node.keywords if k.arg == "code"
                             and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str))
    return codes


def keys_by_language() -> dict[str, dict[str, str]]:
    """{language: {key: sentence}} from the two blocks of i18n_errors.js."""
    text = STRINGS.read_text(encoding="utf-8")
    blocks = re.split(r"^  (?:'pt-BR'|en): \{$", text, flags=re.M)
    assert len(blocks) == 3, "i18n_errors.js has one block per language, pt-BR then en"
    pattern = re.compile(r"^    '([\w.]+)': '((?:[^'\\]|\\.)*)',$", re.M)
    parsed = {lang: dict(pattern.findall(block)) for lang, block in zip(LANGUAGES, blocks[1:])}
    written = len(re.findall(r"^    '", text, flags=re.M))  # a line this reader cannot parse must not be skipped
    assert written == sum(len(keys) for keys in parsed.values()), "a line of i18n_errors.js is not 'key': 'text',"
    return parsed


def test_the_scan_finds_the_codes_of_errors_py_and_of_raises_elsewhere():
    codes = server_codes()
    assert {"internal", "invalid_input", "whatsapp_error", "timeout"} <= codes  # class attributes
    assert {"password_mismatch", "pool_full", "too_many_streams", "no_qr_code"} <= codes  # code= arguments


def test_every_server_error_code_has_a_sentence_in_both_languages():
    strings = keys_by_language()
    for lang in LANGUAGES:
        missing = sorted(code for code in server_codes() if f"error.{code}" not in strings[lang])
        assert not missing, f"no {lang} sentence for the error codes {missing} (frontend/js/i18n_errors.js)"


def test_both_languages_have_the_same_error_and_field_keys():
    strings = keys_by_language()
    assert strings["pt-BR"].keys() == strings["en"].keys(), \
        sorted(strings["pt-BR"].keys() ^ strings["en"].keys())


def test_no_sentence_embeds_the_servers_english_message():
    for lang, strings in keys_by_language().items():
        embedding = sorted(key for key, text in strings.items() if "{message}" in text)
        assert not embedding, f"{lang}: {embedding} would put the server's English words in a translated sentence"
