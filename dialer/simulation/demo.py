"""``callpact demo``: one simulated working day of a collections campaign, in under a minute.

It is the whole product path, not a mock-up: generated debtors go through the
real importer into the real store (an embedded Redis of its own), the demo
campaign (``dialer/defaults/demo.yaml``) is paced by the real engine, and calls
go to the simulated phone network and simulated agents. Only time is virtual:
:class:`~dialer.core.virtual_time.VirtualTimeLoop` jumps over the waits. At the end
it exports the attempts CSV and checks it against the store's own counters.

The campaign is agentless: every answer runs the real ``payment_reminder``
flow with simulated debtors who answer by keypad and by voice
(:class:`~dialer.simulation.flow_respondent.FlowRespondent`); agents take the calls
the flow transfers. Some debtors who missed the call ring back later; callback
routing answers them. Webhook events go to an in-process stand-in for the back
office (:class:`BackOffice`), which accepts every event: no HTTP in a demo.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
import time
import zlib
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from rich.console import Console
from rich.live import Live
from rich.table import Table

from dialer.backends import SimSettings, sim_network
from dialer.campaign import CampaignConfig, parse_campaign
from dialer.core.csv_cells import unescape_dict
from dialer.core.errors import CallpactError
from dialer.core.virtual_time import real_io, run_virtual
from dialer.engine import CampaignEngine, Clock
from dialer.export import export_attempts, export_callbacks
from dialer.hopper_import import import_file
from dialer.reports import campaign_report
from dialer.simulation.debtor_generator import write_debtors_csv
from dialer.simulation.flow_respondent import FlowRespondent
from dialer.store.redis_store import Store
from ivr_flows.loader import shipped_flow
from sip.simulated import SimulatedNetwork

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def demo_campaign_text() -> str:
    return resources.files("dialer").joinpath("defaults/demo.yaml").read_text(encoding="utf-8")


class BackOffice:
    """Receives the flows' webhook events in the demo (and counts them); accepts everything."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()

    async def send(self, event: str, payload: Any, timeout_s: float, context: Any) -> bool:
        self.events[event] += 1
        return True


def demo_respondent(day: dt.date) -> FlowRespondent:
    """Simulated debtors who understand the shipped flows, on the demo's day."""
    flows = [shipped_flow(n) for n in ("payment_reminder", "callback", "general_menu", "thank_you")]
    return FlowRespondent(flows, today=lambda: day)


def next_working_day(after: dt.date) -> dt.date:
    nl = holidays.country_holidays("NL", years=range(after.year, after.year + 2))
    day = after + dt.timedelta(days=1)
    while day.weekday() >= 5 or day in nl:
        day += dt.timedelta(days=1)
    return day


def _dead_numbers(csv_path: Path, seed: int) -> frozenset[str]:
    """About 2% of the generated numbers are disconnected lines (the network says so)."""
    from dialer.core.phones import normalise_number

    dead = set()
    with csv_path.open(newline="", encoding="utf-8") as fh:
        for row in map(unescape_dict, csv.DictReader(fh)):
            for key, value in row.items():
                if key and key.startswith("phone") and value:
                    check = normalise_number(value)
                    if check.e164 and zlib.crc32(f"{seed}:{check.e164}".encode()) % 50 == 0:
                        dead.add(check.e164)
    return frozenset(dead)


class _ProgressLine:
    """A live one-line view of the running day (or an hourly line when not on a terminal)."""

    def __init__(self, console: Console, network: SimulatedNetwork, quiet: bool) -> None:
        self.console = console
        self.network = network
        self.quiet = quiet
        self.live: Live | None = None
        self._last_real = 0.0
        self._last_hour = -1

    def text(self, engine: CampaignEngine) -> str:
        c = engine.counters
        stats = self.network.agents.stats()
        local = dt.datetime.fromtimestamp(engine.clock.now(), AMSTERDAM)
        return (
            f"{local:%H:%M}  attempts {c.attempts:4d}  contacts {c.contacts:4d}  "
            f"abandoned {c.abandon_rate:5.2%}  agents busy {stats.utilisation:4.0%}  "
            f"lines {engine.calls_in_flight:2d}"
        )

    def __call__(self, engine: CampaignEngine) -> None:
        if self.quiet:
            return
        if self.live is not None:
            now = time.monotonic()
            if now - self._last_real >= 0.1:
                self._last_real = now
                self.live.update(self.text(engine))
            return
        hour = int(engine.clock.now() // 3600)
        if hour != self._last_hour:
            self._last_hour = hour
            self.console.print(self.text(engine), markup=False, highlight=False)


def run_demo(*, debtors: int, agents: int, seed: int, out_dir: Path, hours: float | None, quiet: bool,
             redis_url: str | None, data_dir: Path | None, console: Console) -> int:
    if debtors < 1 or agents < 1:
        raise CallpactError("--debtors and --agents must be at least 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    temp_dir = None
    if redis_url is None and data_dir is None:
        temp_dir = Path(tempfile.mkdtemp(prefix="callpact-demo-"))
        data_dir = temp_dir
    day = next_working_day(dt.date.today())
    start = dt.datetime.combine(day, dt.time(9, 0), AMSTERDAM).timestamp()
    end = dt.datetime.combine(day, dt.time(17, 30), AMSTERDAM).timestamp()
    if hours is not None:
        end = start + hours * 3600
    wall = time.perf_counter()
    try:
        summary = run_virtual(_demo(
            debtors=debtors, agents=agents, seed=seed, out_dir=out_dir, start=start, end=end, day=day,
            quiet=quiet, redis_url=redis_url, data_dir=data_dir, console=console,
        ))
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
    summary["wall_s"] = time.perf_counter() - wall
    print_summary(console, summary)
    return 0 if summary["export_matches"] else 1


async def _demo(*, debtors: int, agents: int, seed: int, out_dir: Path, start: float, end: float,
                day: dt.date, quiet: bool, redis_url: str | None, data_dir: Path | None,
                console: Console) -> dict[str, Any]:
    csv_path = out_dir / "debtors.csv"
    write_debtors_csv(csv_path, debtors, seed=seed, today=day)
    store = await Store.open(redis_url, data_dir, io_guard=real_io)
    try:
        text = demo_campaign_text()
        cfg = parse_campaign(text, "demo campaign")
        if redis_url is not None:  # a shared Redis: never touch an earlier campaign's data
            name = f"demo-{int(time.time())}"
            text = text.replace("name: demo\n", f"name: {name}\n", 1)
            cfg = parse_campaign(text, "demo campaign")
        await store.save_campaign(cfg.name, text)
        imported = await import_file(store, cfg, csv_path, now=start - 600)
        await store.set_state(cfg.name, "running")
        network = sim_network(SimSettings(agents=agents, seed=seed, respondent=demo_respondent(day),
                                          dead_numbers=_dead_numbers(csv_path, seed),
                                          max_lines=cfg.pacing.max_lines, callback_prob=0.35))
        progress = _ProgressLine(console, network, quiet)
        back_office = BackOffice()
        clock = Clock(start)
        # The engine answers the campaign's callers back while it runs (dialer.inbound).
        engine = CampaignEngine(store, network, cfg, clock=clock, tick_s=1.0, control_every_s=10.0,
                                on_tick=progress, events=back_office)
        if not quiet:
            console.print(f"demo: {imported.accepted} debtors imported ({imported.rejected} rejected rows), "
                          f"{agents} agents, simulated {day:%A %d %B %Y} "
                          f"{dt.datetime.fromtimestamp(start, AMSTERDAM):%H:%M}-"
                          f"{dt.datetime.fromtimestamp(end, AMSTERDAM):%H:%M}")
        await network.start()
        if not quiet and console.is_terminal:
            with Live(progress.text(engine), console=console, refresh_per_second=10,
                      transient=False) as live:
                progress.live = live
                await engine.run(until_epoch=end)
                live.update(progress.text(engine))
        else:
            await engine.run(until_epoch=end)
        network.set_inbound_handler(None)        # the office closes: calls back in progress finish
        await network.drain_inbound()
        summary = await _summarise(store, cfg, engine, network, imported, out_dir, end, agents, day)
        summary["webhook_events"] = dict(back_office.events)
        return summary
    finally:
        await store.close()


async def _summarise(store: Store, cfg: CampaignConfig, engine: CampaignEngine, network: SimulatedNetwork,
                     imported: Any, out_dir: Path, end: float, agents: int, day: dt.date) -> dict[str, Any]:
    report = await campaign_report(store, cfg.name, now=end)
    attempts_csv = out_dir / "attempts.csv"
    exported = await export_attempts(store, cfg.name, attempts_csv)
    with attempts_csv.open(newline="", encoding="utf-8") as fh:
        rows = list(map(unescape_dict, csv.DictReader(fh)))
    csv_outcomes = Counter(row["outcome"] for row in rows)
    ivr_outcomes = Counter(row["ivr_outcome"] for row in rows if row.get("ivr_outcome"))
    answered_by = Counter('"kind":"speech"' in row["ivr_inputs"] for row in rows if row.get("ivr_inputs"))
    heard = sum(1 for row in rows if row.get("message_heard") == "1")
    stored_ivr = {k.removeprefix("ivr:"): v for k, v in (await store.stats(cfg.name)).items()
                  if k.startswith("ivr:")}
    callbacks_csv = out_dir / "callbacks.csv"
    exported_callbacks = await export_callbacks(store, cfg.name, callbacks_csv)
    with callbacks_csv.open(newline="", encoding="utf-8") as fh:
        callback_rows = list(map(unescape_dict, csv.DictReader(fh)))
    agent_stats = network.agents.stats()
    hours_logged = agent_stats.logged_in_s / 3600
    contacts = report["outcomes"].get("connected-to-agent", 0)
    return {
        "campaign": cfg.name,
        "day": day,
        "report": report,
        "imported": imported,
        "agents": agents,
        "utilisation": agent_stats.utilisation,
        "contacts_per_agent_hour": contacts / hours_logged if hours_logged else 0.0,
        "agent_wait_mean_s": agent_stats.mean_idle_spell_s,
        "attempts_csv": attempts_csv,
        "debtors_csv": out_dir / "debtors.csv",
        "exported": exported,
        "export_matches": exported == report["attempts"]
        and all(csv_outcomes.get(k, 0) == v for k, v in report["outcomes"].items())
        and sum(csv_outcomes.values()) == exported
        and dict(ivr_outcomes) == stored_ivr,
        "lost_writes": engine.counters.lost_writes,
        "ivr_outcomes": ivr_outcomes,
        "flows_with_speech": answered_by.get(True, 0),
        "message_heard": heard,
        "callbacks_csv": callbacks_csv,
        "callbacks": exported_callbacks,
        "callback_rules": Counter(r["rule"] for r in callback_rows),
        "callbacks_auto": sum(1 for r in callback_rows if r["handled_by"] == "auto"),
        "callbacks_unserved": sum(1 for r in callback_rows if r["handled_by"] == "no-agent-free"),
    }


def print_summary(console: Console, s: dict[str, Any]) -> None:
    r = s["report"]
    t = Table(title=f"callpact demo - campaign {s['campaign']}, {s['day']:%A %d %B %Y}", show_header=True)
    t.add_column("measure")
    t.add_column("value", justify="right")
    imported = s["imported"]
    t.add_row("debtors imported", f"{imported.accepted} ({imported.rejected} rows rejected, "
              f"{imported.flagged} numbers flagged)")
    t.add_row("call attempts", str(r["attempts"]))
    for outcome, count in sorted(r["outcomes"].items(), key=lambda kv: -kv[1]):
        share = count / r["attempts"] if r["attempts"] else 0.0
        t.add_row(f"  {outcome}", f"{count} ({share:.1%})")
    ivr = s.get("ivr_outcomes") or {}
    flows = sum(ivr.values())
    if flows:
        t.add_row("IVR flows run (payment_reminder)", f"{flows} ({s['flows_with_speech']} answered by voice "
                  f"at least once; reminder heard to the end {s['message_heard']})")
        for outcome, count in sorted(ivr.items(), key=lambda kv: -kv[1]):
            t.add_row(f"    outcome {outcome}", f"{count} ({count / flows:.1%})")
    if s.get("callbacks"):
        auto = s["callbacks_auto"]
        t.add_row("callers back", f"{s['callbacks']}; handled without an agent {auto} "
                  f"({auto / s['callbacks']:.0%}; the market reports 60%); wanted a person but none was "
                  f"free {s['callbacks_unserved']}")
        for rule, count in sorted(s["callback_rules"].items(), key=lambda kv: -kv[1]):
            t.add_row(f"    rule {rule}", str(count))
    t.add_row("live answers", str(r["live_answers"]))
    t.add_row("abandoned", f"{r['abandoned']} = {r['abandon_rate']:.2%} (limit {r['max_abandon_rate']:.0%}; "
              f"worst hour {r['worst_hour_abandon_rate']:.2%})")
    t.add_row("agents", str(s["agents"]))
    t.add_row("agent utilisation (talk / logged-in)", f"{s['utilisation']:.1%}")
    t.add_row("contacts per agent hour", f"{s['contacts_per_agent_hour']:.1f}")
    t.add_row("mean agent wait between calls", f"{s['agent_wait_mean_s']:.1f} s")
    t.add_row("debtors done / unreachable / exhausted",
              f"{r['debtors_done']} / {r['debtors_unreachable']} / {r['debtors_exhausted']}")
    t.add_row("debtors still scheduled", str(r["hopper"]["scheduled"] + r["hopper"]["due_now"]))
    t.add_row("wall time", f"{s['wall_s']:.1f} s")
    console.print(t)
    check = "match" if s["export_matches"] else "DO NOT MATCH"
    console.print(f"attempts CSV: {s['attempts_csv']} ({s['exported']} rows; {check} the store's counters)")
    console.print(f"debtor list: {s['debtors_csv']}")
    if "callbacks_csv" in s:
        console.print(f"callers back: {s['callbacks_csv']} ({s['callbacks']} rows, each with the rule "
                      f"that fired)")
