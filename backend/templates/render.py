"""Template text: variables with defaults (Jinja2, sandboxed and reduced) and spintax alternatives.

What an owner writes (documented in README.md, "Templates"):
- `{{nome}}` a variable; `{{nome|default("cliente")}}` with its default, used when no value is given;
- `{Olá|Oi|Bom dia}` alternatives, one chosen at random per message. Not nested (a `{` inside an alternative is
  refused: WhatsApp owners write lists, not trees, and a nested choice is a syntax error there, not a surprise
  later); an alternative may hold variables. Braces without a `|` inside are plain text.
Jinja2 parses the text (its errors carry a line) and renders it in a SandboxedEnvironment with StrictUndefined;
before that the parsed tree is checked against a whitelist: text, a variable name, and the `default` filter
with one quoted text. Anything else (`''.__class__`, `cycler.__init__`, calls, loops, `{% set %}`, other
filters) is refused at save time, so the sandbox is the second wall, not the only one. Autoescape is off: the
output is plain WhatsApp text, capped at WhatsApp's text limit (validation.check_text).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..errors import InvalidInput
from ..validation import MAX_TEXT_CHARS, check_text
from .errors import TemplateNotAllowed, TemplateSyntax, TemplateVariableMissing

MAX_VALUE_CHARS = 4_096  # one variable's value: a name, an order number, a link; far below the text limit
_ENV = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class Parsed:
    """What a template's text asks for: its variables in order of first use, the defaults among them, and those
    written somewhere without a default (a message must be given those)."""

    variables: list[str]
    defaults: dict[str, str]
    required: list[str]


# Parsing and compiling a text costs ~1 ms of Jinja2's time; a campaign renders the same text thousands of times
# (docs/PERFORMANCE.md, "Campaigns"), so both are kept per text: the results are pure functions of the text.
CACHED_TEXTS = 256


def parse(text: str) -> Parsed:
    """Check a template's text (syntax, whitelist, spintax shape, length); its variables and defaults."""
    if not isinstance(text, str):
        return _parse(text)  # refused there (an unhashable value must not reach the cache)
    kept = _parsed(text)
    return Parsed(list(kept.variables), dict(kept.defaults), list(kept.required))


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _parsed(text: str) -> Parsed:
    """parse(), kept per text (callers get copies)."""
    return _parse(text)


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _compiled(chosen: str) -> Any:
    """The sandboxed Jinja2 template of a text whose alternatives were chosen, kept per text."""
    return _ENV.from_string(chosen)


def _parse(text: str) -> Parsed:
    """parse() without the cache."""
    if not isinstance(text, str) or not text.strip():
        raise TemplateSyntax("The template text is empty", details={"field": "text"})
    if len(text) > MAX_TEXT_CHARS:
        raise TemplateSyntax(f"The template has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}",
                             details={"length": len(text), "limit": MAX_TEXT_CHARS})
    split_spintax(text)  # refuses a nested or malformed choice
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        raise TemplateSyntax(f"Line {exc.lineno}: {exc.message}",
                             details={"line": exc.lineno, "reason": exc.message}) from None
    parsed = Parsed([], {}, [])
    for node in tree.body:
        _allowed_output(node, parsed)
    return parsed


def _allowed_output(node: nodes.Node, parsed: Parsed) -> None:
    """One top-level node: text, or `{{ ... }}` holding only allowed expressions."""
    if not isinstance(node, nodes.Output):
        _refuse(node)
    for child in node.nodes:
        if isinstance(child, nodes.TemplateData):
            continue
        name, default = _expression(child)
        if name not in parsed.variables:
            parsed.variables.append(name)
        if default is not None:
            parsed.defaults.setdefault(name, default)
        elif name not in parsed.required:
            parsed.required.append(name)


def _expression(node: nodes.Node) -> tuple[str, str | None]:
    """`name` or `name|default("text")`: (name, default or None)."""
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return _name(node), None
    if (isinstance(node, nodes.Filter) and node.name in ("default", "d") and isinstance(node.node, nodes.Name)
            and len(node.args) == 1 and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None
            and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)):
        return _name(node.node), node.args[0].value
    _refuse(node)


def _name(node: nodes.Name) -> str:
    """A variable's name; names starting with `_` (Python's private ones) are refused."""
    if node.name.startswith("_"):
        _refuse(node)
    return node.name


def _refuse(node: nodes.Node) -> None:
    """TemplateNotAllowed naming the construct and its line."""
    kind = type(node).__name__
    raise TemplateNotAllowed(f"Line {node.lineno}: only variables and their defaults are allowed "
                             f"(found {kind})", details={"line": node.lineno, "construct": kind})


def split_spintax(text: str) -> list[str | list[str]]:
    """The text as pieces: plain strings, and lists of alternatives for each `{a|b|c}`."""
    return [list(p) if isinstance(p, tuple) else p for p in _pieces(text)]


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _pieces(text: str) -> tuple[str | tuple[str, ...], ...]:
    """split_spintax(), kept per text (callers get copies)."""
    return tuple(tuple(p) if isinstance(p, list) else p for p in _split_spintax(text))


def _split_spintax(text: str) -> list[str | list[str]]:
    """split_spintax() without the cache."""
    pieces: list[str | list[str]] = []
    plain, i = [], 0
    while i < len(text):
        if text.startswith(("{{", "{%", "{#"), i):
            end = _jinja_end(text, i)
            plain.append(text[i:end])
            i = end
        elif text[i] == "{" and (choice := _choice(text, i)) is not None:
            pieces.append("".join(plain))
            plain = []
            pieces.append(choice[0])
            i = choice[1]
        else:
            plain.append(text[i])
            i += 1
    pieces.append("".join(plain))
    return [p for p in pieces if p != ""]


def _jinja_end(text: str, start: int) -> int:
    """Where the Jinja tag opened at `start` ends (its end, or the text's end if it is not closed)."""
    closing = {"{{": "}}", "{%": "%}", "{#": "#}"}[text[start:start + 2]]
    end = text.find(closing, start + 2)
    return len(text) if end < 0 else end + 2


def _choice(text: str, start: int) -> tuple[list[str], int] | None:
    """The alternatives of `{a|b}` at `start` and the index after it; None when it is plain text (no `|`,
    or never closed). A `{` inside is a nested choice: refused."""
    i, parts, current = start + 1, [], []
    while i < len(text):
        if text.startswith("{{", i):
            end = _jinja_end(text, i)
            current.append(text[i:end])
            i = end
            continue
        char = text[i]
        if char == "{":
            line = text.count("\n", 0, i) + 1
            raise TemplateSyntax(f"Line {line}: alternatives {{a|b}} cannot be nested",
                                 details={"line": line, "reason": "nested alternatives"})
        if char == "}":
            parts.append("".join(current))
            return (parts, i + 1) if len(parts) > 1 else None
        if char == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    return None


def choose(pieces: list[str | list[str]], rng: random.Random) -> str:
    """One message's text: an alternative picked at random for each choice."""
    return "".join(p if isinstance(p, str) else rng.choice(p) for p in pieces)


def alternatives(pieces: list[str | list[str]]) -> list[list[str]]:
    """Every choice's alternatives, in order (the preview lists them)."""
    return [p for p in pieces if isinstance(p, list)]


def render(text: str, values: dict[str, str], rng: random.Random) -> str:
    """The message: alternatives chosen, then variables filled; a missing one is TemplateVariableMissing."""
    parsed = parse(text)
    missing = [name for name in parsed.required if not values.get(name)]
    if missing:
        raise TemplateVariableMissing(f"Missing value for {', '.join(missing)}", details={"variables": missing})
    chosen = choose(split_spintax(text), rng)
    given = {name: value for name, value in values.items() if value != ""}  # empty: the default applies
    try:
        out = _compiled(chosen).render(given)
    except UndefinedError as exc:  # a defence: `required` above already named every such variable
        raise TemplateVariableMissing(str(exc), details={"variables": parsed.required}) from None
    except SecurityError as exc:  # unreachable past parse()'s whitelist; the sandbox is the second wall
        raise TemplateNotAllowed(str(exc), details={"construct": "sandbox"}) from None
    return check_text(out)


def check_values(raw: object) -> dict[str, str]:
    """The caller's `variables`: an object of names to text (numbers are written as text), each bounded."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput("'variables' must be an object of names to values", details={"field": "variables"})
    values: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidInput(f"The value of '{name}' must be text", details={"field": "variables"})
        text = str(value)
        if len(text) > MAX_VALUE_CHARS:
            raise InvalidInput(f"The value of '{name}' is longer than {MAX_VALUE_CHARS} characters",
                                 details={"field": "variables", "limit": MAX_VALUE_CHARS})
        values[str(name)] = text
    return values

