"""The ``callpact`` command run in-process against a real Redis, as the CLI tests drive it.

In-process (``dialer.cli.main``) rather than a subprocess: hundreds of refusals run in seconds,
and what the user sees is the same two streams, captured by pytest's ``capsys``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main


class CliRunner:
    """``callpact --redis-url URL ...`` in-process; returns (exit code, stdout, stderr)."""

    def __init__(self, redis_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        self.redis_url = redis_url
        self.capsys = capsys
        self.tmp = tmp_path

    def __call__(self, *args: str | Path) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["--redis-url", self.redis_url, *map(str, args)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str | Path) -> str:
        code, out, err = self(*args)
        assert code == 0, (args, out, err)
        return out

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


def one_error_line(err: str) -> str:
    """The stderr of a refused command: exactly one line, ``callpact: error: ...``, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("callpact: error: "), err
    assert "Traceback" not in err
    return lines[0]
