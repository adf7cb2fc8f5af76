"""The ``callpact`` command line.

One process per command, like ``redis-cli``: it opens the store (the embedded
Redis in the data directory unless ``--redis-url``/``REDIS_URL`` names one),
does its job, and exits with 0, or with a one-line error naming what and where
and a non-zero code (2 bad input or configuration, 3 store unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dialer import __version__
from dialer.campaign import parse_campaign, set_campaign_key
from dialer.core.errors import CallpactError, ConfigError, InputError, StoreUnavailable
from dialer.reports import campaign_report
from dialer.store.redis_store import Store

if TYPE_CHECKING:
    from dialer.outcome_journal import OutcomeJournal

# No markup (file names, YAML keys and values are printed as they are, brackets and all) and no
# wrapping at 80 columns when piped: an error stays one line that scripts and logs can grep.
console = Console(stderr=False, highlight=False, markup=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callpact", description="Outbound dialer and IVR for collections teams.")
    p.add_argument("--version", action="version", version=f"callpact {__version__}")
    _global_options(p, None)
    # The same options after the command (`callpact demo --data-dir d`); there they override.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    sub = _Subparsers(p.add_subparsers(dest="command", required=True, metavar="COMMAND"), common)

    imp = sub.add_parser("import", help="import a debtor list (CSV or JSON Lines) into a campaign")
    imp.add_argument("file", type=Path)
    imp.add_argument("--campaign", required=True)
    imp.add_argument("--rejects", type=Path, help="where to write rejected rows (default FILE.rejects.csv)")
    imp.add_argument("--encoding", default="utf-8")
    imp.add_argument("--no-progress", action="store_true")

    camp = sub.add_parser("campaign", help="load, start, pause, resume, stop, inspect and tune campaigns")
    csub = _Subparsers(camp.add_subparsers(dest="action", required=True, metavar="ACTION"), common)
    load = csub.add_parser("load", help="load (or update) a campaign from its YAML file")
    load.add_argument("file", type=Path)
    csub.add_parser("list", help="list loaded campaigns and their state")
    for action, text in (
        ("start", "start dialling"),
        ("pause", "stop launching calls; calls in progress go on"),
        ("resume", "resume a paused campaign"),
        ("stop", "stop the campaign"),
    ):
        a = csub.add_parser(action, help=text)
        a.add_argument("name")
    status = csub.add_parser("status", help="hopper, attempts, outcomes and abandon rate")
    status.add_argument("name")
    status.add_argument("--json", action="store_true")
    show = csub.add_parser("show", help="print the campaign's stored YAML")
    show.add_argument("name")
    setp = csub.add_parser("set", help="change one setting, also while running (e.g. pacing.ratio 2.0)")
    setp.add_argument("name")
    setp.add_argument("key")
    setp.add_argument("value")

    exp = sub.add_parser("export", help="write a campaign's attempts to CSV")
    exp.add_argument("name")
    exp.add_argument("--out", type=Path, required=True)

    dial = sub.add_parser("dialer", help="run the dialer process for running campaigns")
    dial.add_argument("--campaign", action="append", help="serve only this campaign (repeatable)")
    dial.add_argument("--network", "--backend", dest="network", choices=["sim", "sip", "asterisk"],
                      default="sim",
                      help="telephony backend (sim: the simulated phone network; sip: a SIP trunk over "
                           "pjsua2; asterisk: AMI + AudioSocket), configured with --backend-config")
    dial.add_argument("--backend-config", type=Path,
                      help="YAML file: a 'sip:' section for sip (see config/sip.yaml), a 'backend:' "
                           "section for asterisk (see README)")
    dial.add_argument("--agents", type=int, default=10, help="simulated agents")
    dial.add_argument("--answer-prob", type=float, default=0.35)
    dial.add_argument("--seed", type=int, default=1)
    dial.add_argument("--exit-when-stopped", action="store_true",
                      help="exit once every served campaign is stopped and its calls ended")
    dial.add_argument("--journal-dir", type=Path,
                      help="where outcomes Redis could not take wait to be replayed (default: "
                           "DATA_DIR/journal; with --redis-url/$REDIS_URL and no --data-dir, "
                           "~/.local/state/callpact/journal)")

    demo = sub.add_parser("demo", help="run a demo campaign: a simulated working day in under a minute")
    demo.add_argument("--debtors", type=int, default=2000)
    demo.add_argument("--agents", type=int, default=10)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--out", type=Path, default=Path("demo-output"))
    demo.add_argument("--hours", type=float, default=None, help="simulate only this many hours")
    demo.add_argument("--quiet", action="store_true", help="no live progress line")

    simp = sub.add_parser("simulate",
                          help="compare pacing policies on a simulated day (what-if and benchmark)")
    simp.add_argument("scenario", type=Path, help="scenario YAML (see docs/simulate.md)")
    simp.add_argument("--json", action="store_true", help="print one JSON object keyed by policy name")
    simp.add_argument("--plot", type=Path, metavar="FILE.png",
                      help="draw dial level, abandon rate and utilisation over the day")
    simp.add_argument("--policy", metavar="NAME", help="run only this policy: callpact, progressive, "
                      "adaptive_tapered, best_fixed_ratio_hindsight (also runs the _hourly one) or ratio:<r>")
    simp.add_argument("--ratios", metavar="LIST", help="fixed ratios to try instead of the search: "
                      "1.5,2,2.5 or start:stop:step like 1.0:4.0:0.1")
    simp.add_argument("--tick", type=float, default=None, metavar="S",
                      help="engine tick in simulated seconds (default 1.0)")
    simp.add_argument("--jobs", type=int, default=None, metavar="N",
                      help="policy runs in parallel processes (default: the number of CPUs)")
    _add_sip_commands(sub)
    _add_tts_parser(sub, common)
    _ivr_parsers(sub)
    return p


def _add_sip_commands(sub: Any) -> None:
    """`doctor` and `call`: the machine's dependencies, and one real call through a SIP trunk."""
    sub.add_parser("doctor", help="check every dependency (pjsua2, redis-server, TTS, sox, sipp, packages)")
    call = sub.add_parser("call", help="place one real call through a SIP trunk (for testing a trunk)")
    call.add_argument("--to", required=True, metavar="NUMBER", help="the number to call, e.g. +31612345678")
    call.add_argument("--trunk", metavar="sip:HOST:PORT",
                      help="the trunk; without it, the trunk of --sip-config")
    call.add_argument("--sip-config", type=Path, metavar="FILE", help="SIP settings (see config/sip.yaml)")
    call.add_argument("--caller-id", default="", metavar="NUMBER", help="the number the callee sees")
    call.add_argument("--flow", metavar="NAME",
                      help="IVR flow to run: a shipped name or a FILE.yaml (default: a built-in test prompt)")
    call.add_argument("--debtor", metavar="JSON", help='debtor context, e.g. \'{"language": "en"}\'')
    call.add_argument("--ring-timeout", type=float, default=30.0, metavar="S")
    call.add_argument("--json", action="store_true", help="print one JSON object")


def _add_tts_parser(sub: _Subparsers, common: argparse.ArgumentParser) -> None:
    tts = sub.add_parser("tts", help="hear and check IVR prompts: speakable text, render to a file, voices")
    tsub = _Subparsers(tts.add_subparsers(dest="action", required=True, metavar="ACTION"), common)
    say = tsub.add_parser("say", help="render TEXT as the dialer would play it (8 kHz)")
    text = tsub.add_parser("text", help="print TEXT as the engine will be given it (figures in words)")
    check = tsub.add_parser("check", help="check that every configured engine, voice and model is there")
    for p in (say, text):
        p.add_argument("text")
        p.add_argument("--language", default="nl", help="nl or en (default nl)")
    for p in (say, check):
        p.add_argument("--config", type=Path, help="YAML file with a tts: section (default: built-in voices)")
    say.add_argument("--flow", help="use this flow's voices where it has its own")
    say.add_argument("--out", type=Path, required=True,
                     help="FILE.wav (8 kHz 16-bit WAV), or any other name for raw --format bytes")
    say.add_argument("--format", choices=["pcm16", "ulaw", "alaw"], default="pcm16",
                     help="raw output encoding when --out is not a .wav")


def _ivr_parsers(sub: Any) -> None:
    flow = sub.add_parser("flow", help="check IVR flow files (or shipped flows by name) before use")
    flow.add_argument("flows", nargs="+", metavar="FLOW", help="FILE.yaml or a shipped flow name")
    cbs = sub.add_parser("callbacks", help="write a campaign's callers back (rule, route, result) to CSV")
    cbs.add_argument("name")
    cbs.add_argument("--out", type=Path, required=True)


def _global_options(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("--redis-url", default=default,
                   help="Redis to use (default: $REDIS_URL, else the embedded Redis)")
    p.add_argument("--data-dir", type=Path, default=default, help="data directory of the embedded Redis "
                   "(default: $CALLPACT_DATA_DIR or ~/.local/share/callpact)")
    p.add_argument("-v", "--verbose", action="count", default=0 if default is None else default,
                   help="log more (-v info, -vv debug)")


class _Subparsers:
    """``add_subparsers()`` whose parsers all accept the global options too."""

    def __init__(self, action: Any, common: argparse.ArgumentParser) -> None:
        self.action = action
        self.common = common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return self.action.add_parser(name, parents=[self.common], **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = COMMANDS[args.command]
    try:
        if args.data_dir is not None and args.data_dir.exists() and not args.data_dir.is_dir():
            raise ConfigError("is not a directory", where=f"--data-dir {args.data_dir}")
        return handler(args)
    except CallpactError as exc:
        _error(str(exc))
        return exc.exit_code
    except OSError as exc:
        if exc.filename is None:  # not about a file the user named: a bug, shown as one
            raise
        _error(f"{exc.filename}: {exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        err_console.print("callpact: interrupted")
        return 130


def _error(message: str) -> None:
    err_console.print(f"[bold red]callpact: error:[/] {escape(message)}", markup=True)


def _run(args: argparse.Namespace, body: Callable[[Store], Awaitable[int]]) -> int:
    async def runner() -> int:
        store = await Store.open(args.redis_url, args.data_dir)
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(runner())


# -- import ----------------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from dialer.hopper_import import count_data_lines, import_file

    path: Path = args.file
    if not path.exists():
        raise InputError("file not found", where=str(path))
    if path.is_dir():
        raise InputError("is a directory, not a debtor list", where=str(path))
    rejects: Path | None = args.rejects
    if rejects is not None and (rejects.is_dir() or not rejects.parent.is_dir()):
        raise InputError("cannot write the rejects file here: "
                         + ("it is a directory" if rejects.is_dir() else "its directory does not exist"),
                         where=str(rejects))

    async def body(store: Store) -> int:
        cfg = parse_campaign(await store.campaign_text(args.campaign), f"campaign {args.campaign}")
        show = not args.no_progress and sys.stderr.isatty()
        total = count_data_lines(path)
        with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
                      TimeRemainingColumn(), console=err_console, disable=not show) as bar:
            task = bar.add_task("import", total=total)
            last = [0]

            def progress(line: int) -> None:
                if line - last[0] >= 2000:
                    bar.update(task, completed=line)
                    last[0] = line

            result = await import_file(store, cfg, path, rejects_path=args.rejects, encoding=args.encoding,
                                       progress=progress)
            bar.update(task, completed=total)
        console.print(
            f"{path}: {result.accepted} debtors stored ({result.created} new, {result.updated} updated), "
            f"{result.rejected} rows rejected, {result.flagged} numbers flagged, in {result.seconds:.1f} s"
        )
        for line in result.first_problems:
            err_console.print(f"  rejected: {line}", markup=False)
        if result.rejects_path:
            console.print(f"rejected rows written to {result.rejects_path}")
        if result.flags_path:
            console.print(f"flagged numbers written to {result.flags_path}")
        if result.unschedulable:
            console.print(f"warning: {result.unschedulable} debtors have no calling window in the next year")
        if result.rejected:  # bad input: a script must notice, even though the good rows are stored
            fix = f"fix them in {result.rejects_path} and import that file again" if result.rejects_path \
                else "see above"
            rows = "1 row" if result.rejected == 1 else f"{result.rejected} rows"
            kept = "1 good row was" if result.accepted == 1 else f"{result.accepted} good rows were"
            _error(f"{path}: {rows} rejected ({fix}); {kept} stored")
            return 2
        return 0

    return _run(args, body)


# -- campaign -------------------------------------------------------------------------------------
def cmd_campaign(args: argparse.Namespace) -> int:
    action = args.action

    async def body(store: Store) -> int:
        if action == "load":
            try:
                text = args.file.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise ConfigError("file not found", where=str(args.file)) from None
            except UnicodeDecodeError:
                raise ConfigError("not UTF-8 text", where=str(args.file)) from None
            except OSError as exc:
                raise ConfigError(f"cannot read: {exc.strerror}", where=str(args.file)) from None
            cfg = parse_campaign(text, str(args.file))
            existed = cfg.name in await store.campaigns()
            await store.save_campaign(cfg.name, text)
            state = (await store.control(cfg.name)).state
            console.print(f"campaign {cfg.name} {'updated' if existed else 'loaded'} ({state})")
            return 0
        if action == "list":
            table = Table("campaign", "state", "debtors", "attempts", box=None)
            for name in await store.campaigns():
                stats = await store.stats(name)
                table.add_row(name, (await store.control(name)).state, str(stats.get("debtors", 0)),
                              str(stats.get("attempts", 0)))
            console.print(table)
            return 0
        if action in ("start", "pause", "resume", "stop"):
            await store.campaign_text(args.name)  # not loaded: say how to load it
            current = (await store.control(args.name)).state
            target = {"start": "running", "resume": "running", "pause": "paused", "stop": "stopped"}[action]
            if action == "resume" and current != "paused":
                raise CallpactError(f"campaign {args.name} is {current}, not paused")
            if action == "pause" and current != "running":
                raise CallpactError(f"campaign {args.name} is {current}, not running")
            await store.set_state(args.name, target)
            console.print(f"campaign {args.name}: {current} -> {target}")
            if target == "running" and not await store.dialers_alive():
                console.print("note: no dialer process is running; start one with `callpact dialer`")
            return 0
        if action == "show":
            console.print(await store.campaign_text(args.name), markup=False, end="")
            return 0
        if action == "set":
            text = await store.campaign_text(args.name)
            new_text = set_campaign_key(text, f"campaign {args.name}", args.key, args.value)
            await store.save_campaign(args.name, new_text)
            console.print(f"campaign {args.name}: {args.key} = {args.value}")
            return 0
        if action == "status":
            report = await campaign_report(store, args.name)
            if args.json:
                console.print_json(json.dumps(report))
            else:
                print_report(report)
            return 0
        raise AssertionError(action)

    return _run(args, body)


def print_report(report: dict[str, Any]) -> None:
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("campaign", f"{report['campaign']} ({report['state']}, {report['dial_mode']})")
    t.add_row("debtors", f"{report['debtors']}: {report['hopper']['scheduled']} scheduled, "
              f"{report['hopper']['due_now']} due now, {report['hopper']['claimed']} in call, "
              f"{report['debtors_done']} done, {report['debtors_exhausted']} exhausted, "
              f"{report['debtors_unreachable']} unreachable")
    t.add_row("attempts", f"{report['attempts']} ({report['hopper']['open_attempts']} open)")
    t.add_row("outcomes", ", ".join(f"{k} {v}" for k, v in report["outcomes"].items()) or "-")
    amd = ""
    if report.get("amd_false_machine_rate"):
        amd = (f" and {report['amd_false_positives']:g} people AMD is estimated to have taken for machines "
               f"({report['amd_false_machine_rate']:.1%} of people; Ofcom counts them as abandoned)")
    t.add_row("abandoned", f"{report['abandoned']} of {report['live_answers']} live answers{amd} = "
              f"{report['abandon_rate']:.2%} (last {report['abandon_window_hours']:g} h: "
              f"{report['abandon_rate_window']:.2%}; limit {report['max_abandon_rate']:.0%})")
    t.add_row("worst hour", f"{report['worst_hour_abandon_rate']:.2%} (clock hours held to the limit: "
              f"{report['hourly_cap']})")
    if report.get("ivr_outcomes"):
        t.add_row("IVR outcomes", ", ".join(f"{k} {v}" for k, v in report["ivr_outcomes"].items()))
    if report.get("callbacks"):
        t.add_row("callers back", f"{report['callbacks']}: " + ", ".join(
            f"{k} {v}" for k, v in report["callbacks_handled_by"].items()) + "; rules: " + ", ".join(
            f"{k} {v}" for k, v in report["callback_rules"].items()))
    console.print(t)
    if "window_open" in report and not report["window_open"]:
        # Under the table, whole: a table cell is cut to the terminal's width, and this line is the
        # answer to "why is nothing being called?".
        console.print(_closed_window_line(report))


# -- export --------------------------------------------------------------------------------------
def _closed_window_line(report: dict[str, Any]) -> str:
    """Why nothing is due: the window, when it opens, and (only when the law is what closes it)
    how a lab may lift the law, so the hint never suggests it fixes the campaign's own hours."""
    line = f"calling window closed ({report['window_closed_because']})"
    opens = report.get("window_opens_at")
    if opens:
        at = dt.datetime.fromisoformat(opens)
        line += f" — opens {at:%a %Y-%m-%d %H:%M} {report['window_timezone']}"
    else:
        line += " — no window opens within 400 days"
    if report.get("window_closed_by_law"):
        line += (f" (the {report['jurisdiction']} calling-hour rules; for tests and labs only, "
                 f"`jurisdiction: none` removes them)")
    return line


def cmd_export(args: argparse.Namespace) -> int:
    from dialer.export import export_attempts

    if args.out.is_dir():
        raise InputError("is a directory; give the CSV file to write, e.g. attempts.csv", where=str(args.out))

    async def body(store: Store) -> int:
        await store.campaign_text(args.name)
        count = await export_attempts(store, args.name, args.out)
        console.print(f"{count} attempts written to {args.out}")
        return 0

    return _run(args, body)


# -- dialer ---------------------------------------------------------------------------------------
def cmd_dialer(args: argparse.Namespace) -> int:
    import os

    from dialer.backends import SimSettings, open_backend
    from dialer.engine import CampaignEngine
    from dialer.outcome_journal import OutcomeJournal, default_journal_dir

    journal_dir = args.journal_dir or default_journal_dir(
        args.data_dir, external_redis=bool(args.redis_url or os.environ.get("REDIS_URL")))
    retry = os.environ.get("CALLPACT_FINISH_RETRY_S")     # tests: a Redis outage in seconds, not minutes

    async def body(store: Store) -> int:
        names = args.campaign or await store.campaigns()
        if not names:
            raise CallpactError("no campaigns are loaded; load one with `callpact campaign load FILE.yaml`")
        backend = await open_backend(args.network, config=args.backend_config, sim=SimSettings(
            agents=args.agents, answer_prob=args.answer_prob, seed=args.seed))
        network, where = backend.telephony, backend.where
        journal = OutcomeJournal(journal_dir, store.owner)
        engines = [
            CampaignEngine(store, network, parse_campaign(await store.campaign_text(n), f"campaign {n}"),
                           gc_mode="young", journal=journal,
                           finish_retry_s=float(retry) if retry else None)
            for n in names
        ]
        loop = asyncio.get_running_loop()
        stops = [0]
        give_up = asyncio.Event()

        def on_signal() -> None:
            stops[0] += 1
            if stops[0] == 1:
                err_console.print("stopping: no new calls; waiting for calls in progress (again to hang up)")
                for e in engines:
                    e.stop()
            else:
                give_up.set()
                for task in asyncio.all_tasks(loop):
                    if task.get_name().startswith("call-"):
                        task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            await store.heartbeat("dialer")
            console.print(f"dialer {store.owner} serving {', '.join(names)} on {where}; Ctrl-C to stop")
            try:
                await asyncio.gather(*(e.run(exit_when_stopped=args.exit_when_stopped) for e in engines))
            finally:
                await network.close()
            return await _replay_before_exit(store, journal, give_up)
        finally:
            journal.close()

    return _run(args, body)


async def _replay_before_exit(store: Store, journal: OutcomeJournal, give_up: asyncio.Event,
                              every_s: float = 2.0, say_every_s: float = 30.0) -> int:
    """Do not exit while outcomes wait in the journal: exiting 0 would tell a supervisor all is well."""
    said = -math.inf
    while journal.pending and not give_up.is_set():
        try:
            await store.heartbeat("dialer")
            if not await journal.replay(store):
                break
        except StoreUnavailable:
            pass
        now = time.monotonic()
        if now - said >= say_every_s:
            said = now
            err_console.print(f"callpact: {journal.pending} call outcome(s) wait for Redis in "
                              f"{journal.path}; retrying (Ctrl-C again to exit; they are replayed at "
                              "the next start)")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(give_up.wait(), every_s)
    if journal.pending:
        _error(f"{journal.pending} call outcome(s) are not in Redis yet; they stay in {journal.path} "
               "and are replayed when a dialer next starts with this journal directory")
        return 75       # EX_TEMPFAIL: the work is safe, but not done
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from dialer.simulation.demo import run_demo

    return run_demo(
        debtors=args.debtors, agents=args.agents, seed=args.seed, out_dir=args.out, hours=args.hours,
        quiet=args.quiet, redis_url=args.redis_url, data_dir=args.data_dir, console=console,
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    import os

    from dialer.simulation.compare import (
        DEFAULT_TICK_S,
        parse_ratios,
        plot,
        render_table,
        simulate,
        summary_lines,
    )
    from dialer.simulation.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    ratios = parse_ratios(args.ratios) if args.ratios else None
    tick = DEFAULT_TICK_S if args.tick is None else args.tick
    show_progress = err_console.is_terminal and not args.json

    def progress(name: str, result: Any) -> None:
        if show_progress:
            err_console.print(f"  {name}: utilisation {result.utilisation:.1%}, "
                              f"abandon {result.abandon_rate:.2%} ({result.cpu_s:.1f} s CPU)")

    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise CallpactError(f"--jobs must be at least 1, not {jobs}")
    report = simulate(scenario, policy=args.policy, ratios=ratios, tick_s=tick, jobs=jobs,
                      progress=progress)
    if args.plot is not None:
        plot(report, args.plot)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    # The table has a dozen columns: do not squeeze it into 80 when the output is a file or pipe.
    out = console if console.is_terminal else Console(highlight=False, markup=False, soft_wrap=True,
                                                      width=160)
    out.print(render_table(report))
    for line in summary_lines(report):
        out.print(line)
    if args.plot is not None:
        out.print(f"plot: {args.plot}")
    return 0


# -- doctor, call (real SIP) --------------------------------------------------------------------------
def cmd_doctor(args: argparse.Namespace) -> int:
    from dialer.doctor import render, run_checks

    lines, healthy = render(run_checks())
    for line in lines:
        console.print(line)
    console.print("doctor: all required dependencies present" if healthy
                  else "doctor: required dependencies missing (see MISSING lines)")
    return 0 if healthy else 1


def cmd_call(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from decimal import Decimal

    from audio.tts_config import TTSConfig
    from dialer.backends import read_sip_file, sip_telephony
    from dialer.core.phones import normalise_number
    from dialer.test_call import run_test_call
    from sip.pjsua2.backend import pjsua2_available
    from sip.pjsua2.settings import SipConfig, trunk_from_uri

    flow = None
    if args.flow is not None:
        from ivr_flows.loader import resolve_flow
        flow = resolve_flow(args.flow)
    if args.trunk is None and args.sip_config is None:
        raise ConfigError("name the trunk with --trunk sip:HOST:PORT or --sip-config FILE", where="call")
    debtor: dict[str, Any] = {}
    if args.debtor is not None:
        try:
            debtor = json.loads(args.debtor, parse_float=Decimal)   # 45.20 exactly, as the importer reads it
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} at character {exc.pos}", where="--debtor") from None
        if not isinstance(debtor, dict):
            raise InputError("must be a JSON object like {\"language\": \"en\"}", where="--debtor")
    tts = TTSConfig()
    if args.sip_config is not None:
        cfg, tts = read_sip_file(args.sip_config)
        if args.trunk is not None:
            uri = trunk_from_uri(args.trunk)
            trunk = replace(cfg.trunk, host=uri.host, port=uri.port, transport=uri.transport)
            cfg = replace(cfg, trunk=trunk)
    else:
        # A one-off call: any free local port, so it runs next to a dialer already on 5060.
        cfg = SipConfig(trunk=trunk_from_uri(args.trunk), sip_port=0, max_calls=2)
    check = normalise_number(args.to, cfg.default_region)
    if not check.usable or check.e164 is None:
        raise InputError(check.problem or "not a phone number", where=f"--to {args.to}")
    from dialer.test_call import debtor_from_json
    try:
        debtor_from_json(debtor, check.e164)
    except ValueError as exc:
        raise InputError(str(exc), where="--debtor") from None
    if not pjsua2_available():
        raise CallpactError("the pjsua2 module is not installed: run tools/build_pjsua2.sh .venv/bin/python")
    from dialer.core.telephony import OriginateError
    try:
        report = run_test_call(sip_telephony(cfg, tts), check.e164,
                               caller_id=args.caller_id or (cfg.caller_id.number or ""),
                               ring_timeout_s=args.ring_timeout, debtor=debtor, flow=flow)
    except OriginateError as exc:
        raise CallpactError(f"call not placed: {exc}") from None
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    detail = f" ({report.detail})" if report.detail else ""
    console.print(f"call to {report.number}: {report.outcome}{detail}")
    if report.answered_by is not None:
        console.print(f"  answered by: {report.answered_by}; "
                      f"prompt heard to the end: {report.prompt_completed}")
        if report.flow is not None:
            console.print(f"  flow {report.flow}: {report.flow_outcome} via {' > '.join(report.flow_path)}")
        console.print(f"  digits: {report.digits or '(none)'}")
        if report.answer_to_first_audio_ms is not None:
            console.print(f"  answer to first prompt audio: {report.answer_to_first_audio_ms:.0f} ms; "
                          f"frames from the far end: {report.frames_received}")
    console.print(f"  took {report.duration_s:.1f} s")
    return 0


def cmd_tts(args: argparse.Namespace) -> int:
    import wave

    from audio.normalise import normalise
    from audio.prompts import PromptRenderer
    from audio.tts_config import TTSConfig, load_tts_config
    from dialer.core.telephony import Prompt

    if args.action == "text":
        try:
            print(normalise(args.text, args.language))
        except ValueError as exc:
            raise CallpactError(str(exc)) from None
        return 0
    config = load_tts_config(args.config) if args.config else TTSConfig()
    renderer = PromptRenderer(config)
    try:
        if args.action == "check":
            renderer.check()
            for lang, voice in config.voices.items():
                console.print(f"{lang}: {voice.engine} {voice.voice or voice.model}: ok")
            for flow, flow_voices in config.flows.items():
                for lang, voice in flow_voices.items():
                    console.print(f"{flow}/{lang}: {voice.engine} {voice.voice or voice.model}: ok")
            stats = renderer.cache_stats()
            console.print(f"cache {config.cache_dir}: {stats.entries} renders, {stats.bytes / 1e6:.1f} MB")
            return 0
        if args.flow:
            renderer = renderer.for_flow(args.flow)
        pcm = asyncio.run(renderer.render(Prompt(args.text, args.language)))
        if args.out.suffix.lower() == ".wav":
            with wave.open(str(args.out), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(8000)
                out.writeframes(pcm)
        else:
            from audio.convert import encode

            args.out.write_bytes(encode(pcm, args.format))
        console.print(f"{args.out}: {len(pcm) / 16000:.2f} s at 8 kHz")
        return 0
    finally:
        renderer.close()


# -- IVR flows and callers back ----------------------------------------------------------------
def cmd_flow(args: argparse.Namespace) -> int:
    from ivr_flows.loader import resolve_flow

    for name in args.flows:
        flow = resolve_flow(str(name))
        console.print(f"{name}: flow {flow.name} is valid: {len(flow.nodes)} nodes, languages "
                      f"{', '.join(flow.languages)}, params {', '.join(sorted(flow.params)) or 'none'}")
    return 0


def cmd_callbacks(args: argparse.Namespace) -> int:
    from dialer.export import export_callbacks

    if args.out.is_dir():
        raise InputError("is a directory; give the CSV file to write, e.g. callbacks.csv",
                         where=str(args.out))

    async def body(store: Store) -> int:
        await store.campaign_text(args.name)
        count = await export_callbacks(store, args.name, args.out)
        console.print(f"{count} callers back written to {args.out}")
        return 0

    return _run(args, body)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "import": cmd_import,
    "campaign": cmd_campaign,
    "export": cmd_export,
    "dialer": cmd_dialer,
    "demo": cmd_demo,
    "flow": cmd_flow,
    "callbacks": cmd_callbacks,
    "simulate": cmd_simulate,
    "doctor": cmd_doctor,
    "call": cmd_call,
    "tts": cmd_tts,
}

if __name__ == "__main__":
    sys.exit(main())
