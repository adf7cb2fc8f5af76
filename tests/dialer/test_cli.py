"""The ``callpact`` command as a user runs it: exit codes, one-line errors, nothing stored lost.

Most tests call :func:`dialer.cli.main` in-process against the session Redis
(``--redis-url``); a few run the installed ``callpact`` script in a subprocess to
see the real exit code and that no Python traceback reaches the terminal, and the
demo runs on its own embedded Redis (``--data-dir``) to check that no
redis-server is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from helpers.cli import CliRunner, one_error_line
from helpers.fake_ami import FakeAmi

from dialer.core.phones import normalise_number
from dialer.store.redis_server import _ping, socket_path_for

CALLPACT = Path(sys.executable).with_name("callpact")

CAMPAIGN = """\
# November reminders
name: nov
dial_mode: ratio
pacing:
  ratio: 1.5
  max_abandon_rate: 0.02
calling_hours:
  timezone: Europe/Amsterdam
  weekly:
    mon: ["09:00-17:30"]
    tue: ["09:00-17:30"]
"""

HEADER = "debtor_id,name,phone,amount_due,language\n"
GOOD_ROWS = "d1,Jan de Vries,+31612345678,45.20,nl\nd5,Anna Bakker,06 12345681,99.95,en\n"


class Cli(CliRunner):
    """The runner with this file's campaign: status as JSON, and loading ``nov``."""

    def status(self, name: str = "nov") -> dict[str, Any]:
        return json.loads(self.ok("campaign", "status", name, "--json"))

    def load_campaign(self, text: str = CAMPAIGN) -> Path:
        path = self.write("nov.yaml", text)
        assert "campaign nov loaded" in self.ok("campaign", "load", path)
        return path


@pytest.fixture
def cli(redis_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    return Cli(redis_url, capsys, tmp_path)


def run_callpact(*args: str | Path, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # Wide enough that rich never wraps the summary table; no REDIS_URL unless the test sets one.
    full_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    full_env.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run([str(CALLPACT), *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=timeout, check=False)


# -- 1. debtor lists -------------------------------------------------------------------------------


def test_import_keeps_good_rows_and_rejects_bad_ones_with_line_column_and_reason(cli: Cli) -> None:
    cli.load_campaign()
    data = (
        HEADER.encode()
        + b"d1,Jan de Vries,+31612345678,45.20,nl\n"
        + b"d2,Caf\xe9 Jansen,+31612345679,10.00,nl\n"          # Windows-1252 byte in a UTF-8 file
        + b"d3,Piet Smit,12,10.00,nl\n"                          # too short to be a number
        + b"d4,Kees Bos,+31612345680,-5.00,nl\n"                 # negative amount
        + b"d5,Anna Bakker,06 12345681,99.95,en\n"
        + b"d6,Els Kok,onbekend,12.00,nl\n"                      # not a number at all
    )
    debtors = cli.write("debtors.csv", data)

    code, out, err = cli("import", debtors, "--campaign", "nov")

    assert code == 2, (out, err)  # bad input: non-zero even though the good rows are stored
    assert "2 debtors stored (2 new, 0 updated), 4 rows rejected" in out
    assert "Traceback" not in err
    assert f"{debtors}, line 3, column name: not valid UTF-8 text: byte 0xe9" in err
    assert f"{debtors}, line 4, column phone:" in err
    assert f"{debtors}, line 5, column amount_due: '-5.00' is negative" in err
    assert f"{debtors}, line 7, column phone:" in err and "letters" in err
    assert err.strip().splitlines()[-1].startswith(f"callpact: error: {debtors}: 4 rows rejected")

    rejects = debtors.with_name("debtors.csv.rejects.csv")
    assert f"rejected rows written to {rejects}" in out
    with rejects.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["debtor_id"], r["_line"], r["_column"]) for r in rows] == [
        ("d2", "3", "name"), ("d3", "4", "phone"), ("d4", "5", "amount_due"), ("d6", "7", "phone")]
    assert all(r["_reason"] for r in rows)
    assert b"Caf\xe9 Jansen" in rejects.read_bytes()  # the row as the user wrote it, byte for byte

    status = cli.status()
    assert status["debtors"] == 2 and status["hopper"]["scheduled"] + status["hopper"]["due_now"] == 2

    # The same file again: the good debtors are updated, not duplicated.
    code, out, _ = cli("import", debtors, "--campaign", "nov")
    assert code == 2 and "2 debtors stored (0 new, 2 updated)" in out
    assert cli.status()["debtors"] == 2


def test_a_clean_import_exits_zero_and_leaves_no_rejects_file(cli: Cli) -> None:
    cli.load_campaign()
    debtors = cli.write("clean.csv", HEADER + GOOD_ROWS)
    out = cli.ok("import", debtors, "--campaign", "nov")
    assert "2 debtors stored (2 new, 0 updated), 0 rows rejected" in out
    assert not debtors.with_name("clean.csv.rejects.csv").exists()
    assert not debtors.with_name("clean.csv.flags.csv").exists()


@pytest.mark.parametrize(("header", "missing"), [
    ("debtor_id,phone,amount_due,language\n", "'name'"),
    ("debtor_id,name,amount_due,language\n", "a phone column"),
    ("debtor_id,name,phone,language\n", "'amount_due'"),
])
def test_missing_required_column_refuses_the_whole_file_and_stores_nothing(
        cli: Cli, header: str, missing: str) -> None:
    cli.load_campaign()
    cli.ok("import", cli.write("first.csv", HEADER + GOOD_ROWS), "--campaign", "nov")
    bad = cli.write("bad.csv", header + "d9,x,+31612345699,5.00,nl\n")

    code, out, err = cli("import", bad, "--campaign", "nov")

    assert code == 2 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"callpact: error: {bad}: missing required column")
    assert missing in line and "Columns found:" in line
    assert cli.status()["debtors"] == 2  # what was stored before is still there, nothing added
    assert sorted(p.name for p in cli.tmp.iterdir() if p.name.startswith("bad.csv")) == ["bad.csv"]


def test_import_into_a_campaign_that_is_not_loaded_says_to_load_it_first(cli: Cli) -> None:
    debtors = cli.write("debtors.csv", HEADER + GOOD_ROWS)
    code, out, err = cli("import", debtors, "--campaign", "dec")
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert "campaign 'dec' is not loaded" in line and "callpact campaign load" in line
    assert not debtors.with_name("debtors.csv.rejects.csv").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["missing.csv"], "missing.csv: file not found"),
    (["."], ": is a directory, not a debtor list"),
    (["debtors.csv", "--rejects", "no/such/dir/r.csv"], "its directory does not exist"),
    (["debtors.csv", "--encoding", "klingon"], "unknown encoding 'klingon'"),
])
def test_unreadable_inputs_are_one_line_errors(cli: Cli, args: list[str], expected: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cli.load_campaign()
    cli.write("debtors.csv", HEADER + GOOD_ROWS)
    monkeypatch.chdir(cli.tmp)
    code, out, err = cli("import", *args, "--campaign", "nov")
    assert code == 2 and out == ""
    assert expected in one_error_line(err)
    assert cli.status()["debtors"] == 0


# -- 2. campaign files ----------------------------------------------------------------------------


BAD_CAMPAIGNS = {
    "unknown key": (
        "name: nov\npacing:\n  ratio: 2\n  max_abandon: 0.02\n",
        ["line 4", "pacing.max_abandon: unknown key", "max_abandon_rate", "ring_timeout"]),
    "wrong type": (
        "name: nov\npacing:\n  max_lines: many\n",
        ["line 3", "pacing.max_lines: must be a whole number", "'many'"]),
    "window ends before it starts": (
        'name: nov\ncalling_hours:\n  weekly:\n    mon: ["17:00-09:00"]\n',
        ["line 4", "calling_hours.weekly.mon[0]", "ends before it starts"]),
    "NL window before 07:00": (
        'name: nov\ncalling_hours:\n  weekly:\n    tue: ["06:30-12:00"]\n',
        ["line 4", "calling_hours.weekly.tue[0]", "07:00"]),
    "NL window after 20:00": (
        'name: nov\ncalling_hours:\n  weekly:\n    wed: ["18:00-21:00"]\n',
        ["line 4", "calling_hours.weekly.wed[0]", "20:00"]),
    "brackets that look like markup": (
        'name: nov\ndial_mode: "[/bold]"\n',
        ["line 2", "dial_mode: '[/bold]' is not allowed", "predictive, progressive, ratio, agentless"]),
}


@pytest.mark.parametrize("case", list(BAD_CAMPAIGNS))
def test_bad_campaign_file_is_refused_and_the_loaded_campaign_is_kept(cli: Cli, case: str) -> None:
    cli.load_campaign()
    cli.ok("import", cli.write("debtors.csv", HEADER + GOOD_ROWS), "--campaign", "nov")
    cli.ok("campaign", "start", "nov")
    text, fragments = BAD_CAMPAIGNS[case]
    bad = cli.write("bad.yaml", text)

    code, out, err = cli("campaign", "load", bad)

    assert code == 2 and out == ""
    line = one_error_line(err)
    assert line.startswith(f"callpact: error: {bad}, line ")
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    # Nothing stored is lost: same document, same state, same debtors.
    assert cli.ok("campaign", "show", "nov") == CAMPAIGN
    status = cli.status()
    assert (status["state"], status["dial_mode"], status["debtors"], status["max_abandon_rate"]) == (
        "running", "ratio", 2, 0.02)


def test_campaign_load_of_a_missing_or_non_utf8_file(cli: Cli) -> None:
    code, _, err = cli("campaign", "load", cli.tmp / "nope.yaml")
    assert code == 2 and "nope.yaml: file not found" in one_error_line(err)
    code, _, err = cli("campaign", "load", cli.write("latin.yaml", b"name: caf\xe9\n"))
    assert code == 2 and "latin.yaml: not UTF-8 text" in one_error_line(err)
    code, _, err = cli("campaign", "load", cli.tmp)
    assert code == 2 and "cannot read" in one_error_line(err)
    assert cli.ok("campaign", "list").split() == ["campaign", "state", "debtors", "attempts"]


def test_loading_a_campaign_again_updates_it(cli: Cli) -> None:
    path = cli.load_campaign()
    path.write_text(CAMPAIGN.replace("ratio: 1.5", "ratio: 2"), encoding="utf-8")
    assert "campaign nov updated (stopped)" in cli.ok("campaign", "load", path)
    assert "ratio: 2\n" in cli.ok("campaign", "show", "nov")


# -- 3. live edits ----------------------------------------------------------------------------------


def test_campaign_set_changes_the_stored_campaign(cli: Cli) -> None:
    cli.load_campaign()
    assert "campaign nov: pacing.ratio = 2.5" in cli.ok("campaign", "set", "nov", "pacing.ratio", "2.5")
    shown = cli.ok("campaign", "show", "nov")
    assert "ratio: 2.5" in shown and "max_abandon_rate: 0.02" in shown  # the rest is kept
    assert cli.status()["max_abandon_rate"] == 0.02


def test_a_small_desk_may_choose_which_abandon_bar_its_hours_answer_to(cli: Cli) -> None:
    cli.load_campaign()
    assert cli.status()["hourly_cap"] == "auto"
    assert "pacing.hourly_cap = never" in cli.ok("campaign", "set", "nov", "pacing.hourly_cap", "never")
    assert cli.status()["hourly_cap"] == "never"
    assert "clock hours held to the limit: never" in cli.ok("campaign", "status", "nov")
    code, _, err = cli("campaign", "set", "nov", "pacing.hourly_cap", "sometimes")
    assert code == 2 and "pacing.hourly_cap: must be one of auto, always, never" in one_error_line(err)
    assert cli.status()["hourly_cap"] == "never"


def _at(local: str) -> float:
    return dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Amsterdam")).timestamp()


def test_status_says_when_the_law_closes_the_window_and_when_it_opens(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.load_campaign()
    sunday = _at("2026-12-06T12:00")
    monkeypatch.setattr("dialer.reports.time", SimpleNamespace(time=lambda: sunday))
    status = cli.status()
    assert (status["window_open"], status["window_opens_at"]) == (False, "2026-12-07T09:00:00+01:00")
    assert status["window_closed_because"] == "Sunday; NL rules" and status["window_closed_by_law"]
    shown = cli.ok("campaign", "status", "nov")
    assert "closed (Sunday; NL rules) — opens Mon 2026-12-07 09:00 Europe/Amsterdam" in shown
    assert "`jurisdiction: none` removes them" in shown


def test_status_hints_at_no_jurisdiction_only_when_the_law_is_what_closes_the_window(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.load_campaign()  # Monday and Tuesday only
    clock = SimpleNamespace(time=lambda: _at("2026-12-09T12:00"))  # a Wednesday
    monkeypatch.setattr("dialer.reports.time", clock)
    shown = cli.ok("campaign", "status", "nov")
    assert "closed (no calling hours on Wednesday) — opens Mon 2026-12-14 09:00" in shown
    assert "jurisdiction: none" not in shown and not cli.status()["window_closed_by_law"]
    clock.time = lambda: _at("2026-12-07T10:00")  # Monday, inside the campaign's hours
    status = cli.status()
    assert status["window_open"] and status["window_closed_because"] is None
    assert "calling window" not in cli.ok("campaign", "status", "nov")


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("pacing.max_abandon_rate", "0.2", "pacing.max_abandon_rate: 0.2 is above the legal cap of 0.03"),
    ("pacing.ratio", "lots", "pacing.ratio: must be a number"),
    ("pacing.ratoi", "2", "pacing.ratoi: unknown key"),
    ("name", "dec", "cannot be renamed"),
    ("pacing.ratio", "[/x]", "pacing.ratio"),
    # .nan compares false with every bound: unrefused, an abandoned debtor was due again within the hour
    ("retry.abandoned", ".nan", "retry.abandoned: must be a duration"),
    ("pacing.calls_per_second", ".nan", "pacing.calls_per_second: must be a number"),
    ("pacing.ring_timeout", ".nan", "pacing.ring_timeout: must be a duration"),
    ("pacing.max_abandon_rate", ".inf", "pacing.max_abandon_rate: must be a fraction"),
])
def test_campaign_set_refuses_a_bad_value_and_keeps_the_stored_campaign(
        cli: Cli, key: str, value: str, expected: str) -> None:
    cli.load_campaign()
    code, out, err = cli("campaign", "set", "nov", key, value)
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert line.startswith("callpact: error: campaign nov") and expected in line
    assert cli.ok("campaign", "show", "nov") == CAMPAIGN


# -- 4. state -----------------------------------------------------------------------------------------


def test_start_pause_resume_stop_and_their_refusals(cli: Cli) -> None:
    cli.load_campaign()

    def state() -> str:
        return cli.status()["state"]

    def refused(action: str, expected: str) -> None:
        code, out, err = cli("campaign", action, "nov")
        assert code == 2 and out == ""
        assert expected in one_error_line(err)

    assert state() == "stopped"
    refused("resume", "campaign nov is stopped, not paused")
    refused("pause", "campaign nov is stopped, not running")
    out = cli.ok("campaign", "start", "nov")
    assert "campaign nov: stopped -> running" in out and "no dialer process is running" in out
    assert state() == "running"
    refused("resume", "campaign nov is running, not paused")
    assert "running -> paused" in cli.ok("campaign", "pause", "nov")
    assert state() == "paused"
    refused("pause", "campaign nov is paused, not running")
    assert "paused -> running" in cli.ok("campaign", "resume", "nov")
    assert "running -> stopped" in cli.ok("campaign", "stop", "nov")
    assert state() == "stopped"
    refused("resume", "campaign nov is stopped, not paused")
    assert cli.ok("campaign", "list").split()[4:6] == ["nov", "stopped"]


@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop", "status", "show"])
def test_control_of_a_campaign_that_is_not_loaded(cli: Cli, action: str) -> None:
    code, out, err = cli("campaign", action, "dec")
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert "campaign 'dec' is not loaded" in line and "callpact campaign load" in line


# -- export and other paths ---------------------------------------------------------------------------


def test_export_of_a_campaign_without_attempts_writes_just_the_header(cli: Cli) -> None:
    cli.load_campaign()
    out = cli.tmp / "sub" / "attempts.csv"
    assert f"0 attempts written to {out}" in cli.ok("export", "nov", "--out", out)
    assert out.read_text(encoding="utf-8").startswith("attempt_id,campaign,debtor_id,phone,")
    assert len(_csv_rows(out)) == 0


@pytest.mark.parametrize(("args", "expected"), [
    (["export", "nov", "--out", "."], ".: is a directory; give the CSV file to write"),
    (["export", "dec", "--out", "x.csv"], "campaign 'dec' is not loaded"),
    (["--data-dir", "nov.yaml", "campaign", "list"], "--data-dir nov.yaml: is not a directory"),
    (["demo", "--debtors", "0"], "--debtors and --agents must be at least 1"),
])
def test_path_and_argument_mistakes_are_one_line_errors(cli: Cli, args: list[str], expected: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    cli.load_campaign()
    monkeypatch.chdir(cli.tmp)
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert expected in one_error_line(err)
    assert not (cli.tmp / "x.csv").exists()


# -- 5. subprocess: real exit codes, no tracebacks -----------------------------------------------------


@contextlib.contextmanager
def rejecting_ami() -> Iterator[int]:
    """A scripted AMI that rejects every login, on its own loop and thread (``main`` runs its own
    loop); yields its port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeAmi(accept_login=False)
    port = asyncio.run_coroutine_threadsafe(fake.start(), loop).result(5)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.mark.parametrize(("peer", "expected"), [
    ("rejects the login", "login as 'callpact' rejected: Authentication failed"),
    ("is not listening", "no successful login within 2 s (connection refused)"),
])
def test_a_failed_asterisk_start_is_one_line_and_no_warnings_before_it(
        cli: Cli, caplog: pytest.LogCaptureFixture, peer: str, expected: str) -> None:
    cli.load_campaign()
    with rejecting_ami() as port:
        if peer == "is not listening":
            with socket.socket() as s:    # a port nobody listens on: bound, never listening
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        config = cli.write("asterisk.yaml", f"backend:\n  connect_timeout_s: 2\n  servers:\n"
                                            f"    - {{host: 127.0.0.1, ami_port: {port}, secret: wrong}}\n")
        with caplog.at_level(logging.WARNING):
            code, _, err = cli("dialer", "--backend", "asterisk", "--backend-config", config)
    assert code == 2 and expected in one_error_line(err)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize("how", ["option", "environment"])
def test_unreachable_redis_is_exit_code_3_with_one_line_naming_the_url(how: str) -> None:
    url = "redis://127.0.0.1:1/0"
    if how == "option":
        proc = run_callpact("--redis-url", url, "campaign", "list")
    else:
        proc = run_callpact("campaign", "status", "nov", env={"REDIS_URL": url})
    assert proc.returncode == 3, proc
    assert proc.stdout == ""
    line = one_error_line(proc.stderr)
    assert f"callpact: error: {url}: Redis is unreachable" in line


@pytest.mark.parametrize("query", ["password=secret", "password=secret&ssl_cert_reqs=bogus"])
def test_a_bad_or_unreachable_redis_url_is_one_line_that_never_shows_its_password(query: str) -> None:
    scheme = "rediss" if "ssl" in query else "redis"
    proc = run_callpact("campaign", "list", env={"REDIS_URL": f"{scheme}://127.0.0.1:1/0?{query}"})
    assert proc.returncode == 3, proc
    line = one_error_line(proc.stderr)
    assert "secret" not in line and "password=***" in line
    if "bogus" in query:
        assert "bad REDIS_URL: Invalid SSL Certificate Requirements Flag: bogus" in line


def test_bad_campaign_file_in_a_real_process(redis_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: nov\npacing:\n  max_abandon: 0.02\n", encoding="utf-8")
    proc = run_callpact("campaign", "load", bad, "--redis-url", redis_url)  # options after the command too
    assert proc.returncode == 2, proc
    assert "pacing.max_abandon: unknown key" in one_error_line(proc.stderr)
    proc = run_callpact("--redis-url", redis_url, "campaign", "status", "nov")
    assert proc.returncode == 2 and "is not loaded" in one_error_line(proc.stderr)


# -- 7/8. the demo, end to end, on its own embedded Redis ----------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A shortened demo day at -vv in a real process, then ``callpact export`` of what it stored."""
    base = tmp_path_factory.mktemp("demo")
    data_dir, out_dir = base / "data", base / "out"
    proc = run_callpact("-vv", "demo", "--debtors", "60", "--agents", "2", "--hours", "0.5",
                        "--out", out_dir, "--quiet", "--data-dir", data_dir, timeout=120)
    left_running_after_demo = _ping(socket_path_for(data_dir))
    export = run_callpact("--data-dir", data_dir, "export", "demo", "--out", base / "export.csv")
    return {
        "proc": proc, "export": export, "out_dir": out_dir, "data_dir": data_dir,
        "export_csv": base / "export.csv", "left_running_after_demo": left_running_after_demo,
    }


def _summary_value(stdout: str, label: str) -> int:
    match = re.search(rf"│ {re.escape(label)}\s*│\s*(\d+)", stdout)
    assert match, (label, stdout)
    return int(match[1])


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_demo_summary_matches_the_attempts_it_stored(demo_run: dict[str, Any]) -> None:
    proc = demo_run["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    attempts = _summary_value(proc.stdout, "call attempts")
    assert attempts > 0
    outcomes = {m[1]: int(m[2]) for m in re.finditer(r"│   ([a-z-]+)\s*│\s*(\d+) \(", proc.stdout)}
    assert outcomes and sum(outcomes.values()) == attempts
    assert "debtors imported" in proc.stdout and "60 (0 rows rejected" in proc.stdout
    assert "match the store's counters" in proc.stdout and "DO NOT MATCH" not in proc.stdout

    # The CSV the demo wrote: one row per attempt, outcomes as in the summary, every attempt ended.
    rows = _csv_rows(demo_run["out_dir"] / "attempts.csv")
    assert len(rows) == attempts
    assert Counter(r["outcome"] for r in rows) == outcomes
    assert all(r["ended_at"] and r["queued_at"] <= r["ended_at"] for r in rows)
    assert len({r["attempt_id"] for r in rows}) == attempts

    # `callpact export` in a later process reads the same attempts back from the persisted store.
    export = demo_run["export"]
    assert export.returncode == 0, export.stderr
    assert f"{attempts} attempts written to" in export.stdout
    assert _csv_rows(demo_run["export_csv"]) == rows


def test_demo_leaves_no_redis_server_running(demo_run: dict[str, Any]) -> None:
    data_dir = demo_run["data_dir"]
    assert not demo_run["left_running_after_demo"]
    assert not _ping(socket_path_for(data_dir))
    assert not (data_dir / "redis.pid").exists()
    assert (data_dir / "appendonlydir").is_dir()  # the data stays, only the server is gone


def test_demo_logs_never_show_a_name_or_number_unmasked(demo_run: dict[str, Any]) -> None:
    proc = demo_run["proc"]
    logs = proc.stderr + proc.stdout
    assert " DEBUG " in proc.stderr and " INFO " in proc.stderr  # -vv really logged
    secrets: set[str] = set()
    names: set[str] = set()
    for row in _csv_rows(demo_run["out_dir"] / "debtors.csv"):
        names.add(row["name"])
        for column in ("phone", "phone2"):
            raw = row[column].strip()
            if not raw:
                continue
            secrets.add(raw)
            e164 = normalise_number(raw).e164
            if e164:
                secrets.update({e164, e164[1:]})
                if e164.startswith("+31"):
                    secrets.add("0" + e164[3:])  # as typed in the Netherlands
    assert secrets and names
    leaked = sorted(s for s in secrets | names if s in logs)
    assert not leaked, leaked
    assert re.search(r"\+31\*+\d\d", proc.stderr)  # numbers do appear, masked
