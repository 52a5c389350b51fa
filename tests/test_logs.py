"""The log file a user sends when something goes wrong: written, rotated, at the level asked for."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from backend.host import logs


def test_lines_reach_the_file_at_the_level_asked_for(tmp_path: Path, restore_root) -> None:
    path = logs.setup_logging(tmp_path / "dados", "info", console=False)
    logging.getLogger("backend.pool").info("[Pool] Health check concluído: 1/1 clientes saudáveis")
    logging.getLogger("backend.pool").debug("detalhe que não deve aparecer")
    logs.setup_logging(tmp_path / "dados", "debug", console=False)  # again, as a restart with --log-level debug
    logging.getLogger("backend.pool").debug("agora sim")

    text = path.read_text(encoding="utf-8")
    assert path == tmp_path / "dados" / "logs" / "zapool.log"
    assert "Health check concluído: 1/1" in text and "agora sim" in text and "não deve aparecer" not in text
    assert text.count("agora sim") == 1, "a second setup replaces the handlers instead of doubling them"


def test_the_file_rotates_and_keeps_a_bounded_history(tmp_path: Path, restore_root, monkeypatch) -> None:
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    path = logs.setup_logging(tmp_path / "dados", "info", console=False)
    for n in range(400):
        logging.getLogger("backend.outbox").info("[Outbox] mensagem %04d enviada", n)

    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["zapool.log"] + [f"zapool.log.{i}" for i in range(1, logs.BACKUPS + 1)]
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    assert "mensagem 0399" in path.read_text(encoding="utf-8"), "the newest line is in the current file"


def test_an_unknown_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="debug, info, warning, error"):
        logs.setup_logging(tmp_path, "verbose")
