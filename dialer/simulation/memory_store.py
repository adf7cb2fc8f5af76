"""An in-memory stand-in for :class:`dialer.store.redis_store.Store`, for ``callpact simulate``.

Why not Redis here: a what-if run has nothing to persist — its debtors are
made up and its attempts are thrown away once the metrics are taken — and it
must take seconds, because one ``callpact simulate`` runs the same day a dozen
times or more (every pacing policy, a grid of fixed ratios). A Redis round trip
per claim and per finished call would cost more than the rest of the
simulation. What matters is unchanged: the real :class:`~dialer.engine.CampaignEngine`
and the real pacing policy run against this store exactly as they run against
Redis in production, so the simulator measures the code that will dial.

It implements :class:`~dialer.store.port.CampaignStore`, the methods and attributes the
engine uses, with the same contracts (``claim`` returns :class:`~dialer.store.port.Claim` objects,
``finish_attempt`` closes an attempt once and answers False after, attempt ids
are ``<campaign>-<n>``), and holds an **unlimited supply of fresh debtors**:
debtor ``i`` (1, 2, 3, ...) has the one number ``+316`` followed by ``i`` in 8
digits and has never been called. So the simulator measures pacing, not list
exhaustion, and — because the simulated network seeds each call's fate from
``(seed, number, debtor attempt)`` — the k-th call of every policy goes to the
same number on its first attempt and meets the same fate: common random
numbers, which make a comparison of policies on one scenario meaningful.
Follow-ups the engine schedules (retries) are recorded on the debtor but never
dialled: the supply of fresh debtors always comes first. It has no
:class:`~dialer.store.port.CallbackStore` side, so a simulated engine takes no callers back.
tests/dialer/test_store_port.py holds it to the protocol.

Every finished attempt is kept as an :class:`AttemptRecord` (dial, answer,
connect and end instants, outcome) for the simulator's metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dialer.core.errors import NotFound
from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome
from dialer.store.port import AttemptStart, Claim, Control

__all__ = ["AttemptRecord", "SimulationStore", "sim_debtor"]


def sim_debtor(i: int) -> Debtor:
    """The ``i``-th debtor of the unlimited supply (``i`` >= 1)."""
    if not 0 < i < 100_000_000:
        raise ValueError(f"simulated debtor numbers run from 1 to 99,999,999, not {i}")
    return Debtor(f"S{i:08d}", f"Simulated debtor {i}", (f"+316{i:08d}",), Decimal("100.00"))


@dataclass(slots=True)
class AttemptRecord:
    """One attempt as the simulator's metrics see it (epoch seconds; None when it did not happen)."""

    attempt_id: str
    seq: int                           # 1 for the first attempt the store handed out
    debtor_id: str
    phone: str
    dialled_at: float
    outcome: Outcome | None = None     # None while the call is in progress
    answered_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None

    @property
    def live(self) -> bool:
        return self.outcome is not None and self.outcome.is_live_answer

    @property
    def abandoned(self) -> bool:
        return self.outcome is Outcome.ABANDONED


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class SimulationStore:
    """The store methods :class:`~dialer.engine.CampaignEngine` calls, in memory, for one campaign."""

    HEARTBEAT_TTL_S = 15

    def __init__(self, campaign: str, campaign_text: str, *, owner: str = "simulator",
                 state: str = "running") -> None:
        self.campaign = campaign
        self.owner = owner
        self.display_url = "memory://simulation"
        self.heartbeat_ttl_s = self.HEARTBEAT_TTL_S
        self._text = campaign_text
        self._control = Control(state, 1)
        self._next_debtor = 1
        self._seq = 0
        # debtor id -> [debtor, state, status, owner, open attempt id]
        self._debtors: dict[str, list[Any]] = {}
        self._claimed: dict[str, float] = {}          # debtor id -> claim instant
        self._open: dict[str, AttemptRecord] = {}
        self.records: list[AttemptRecord] = []            # every attempt, in the order begun
        self._stats: dict[str, int] = {}
        self._hourly: dict[int, list[int]] = {}
        self.rescheduled = 0                              # follow-ups scheduled (never dialled here)

    # -- helpers ----------------------------------------------------------------------------
    def _check(self, campaign: str) -> None:
        if campaign != self.campaign:
            raise NotFound(f"campaign {campaign!r} is not loaded (this simulation runs {self.campaign!r})")

    def _bump(self, key: str, by: int = 1) -> None:
        self._stats[key] = self._stats.get(key, 0) + by

    @property
    def debtors_handed_out(self) -> int:
        return self._next_debtor - 1

    # -- processes -----------------------------------------------------------------------------
    async def heartbeat(self, info: str = "") -> None:
        return None

    async def is_alive(self, owner: str) -> bool:
        return owner == self.owner

    # -- campaign --------------------------------------------------------------------------------
    async def campaign_text(self, name: str) -> str:
        self._check(name)
        return self._text

    async def control(self, name: str) -> Control:
        self._check(name)
        return self._control

    def set_state(self, state: str) -> None:
        """Change the campaign state the engine sees at its next control poll."""
        self._control = Control(state, self._control.version + 1)

    # -- debtors -----------------------------------------------------------------------------
    async def debtor(self, campaign: str, debtor_id: str) -> tuple[Debtor, DebtorState, str] | None:
        self._check(campaign)
        row = self._debtors.get(debtor_id)
        if row is None:
            return None
        return row[0], DebtorState.from_json(row[1].to_json()), row[2].value

    # -- the hopper ----------------------------------------------------------------------------
    async def claim(self, campaign: str, n: int, now: float, promote_limit: int = 2000) -> list[Claim]:
        """``n`` fresh debtors, never called before (the supply does not run out)."""
        self._check(campaign)
        claims = []
        for _ in range(max(0, n)):
            debtor = sim_debtor(self._next_debtor)
            self._next_debtor += 1
            state = DebtorState()
            self._debtors[debtor.debtor_id] = [debtor, state, DebtorStatus.CLAIMED, self.owner, ""]
            self._claimed[debtor.debtor_id] = now
            claims.append(Claim(debtor, DebtorState(), now))
        return claims

    async def next_due(self, campaign: str) -> float | None:
        self._check(campaign)
        return 0.0          # fresh debtors are always ready

    async def reschedule(self, campaign: str, debtor_id: str, due: float | None,
                         status: DebtorStatus = DebtorStatus.SCHEDULED) -> None:
        self._check(campaign)
        self._claimed.pop(debtor_id, None)
        row = self._debtors.get(debtor_id)
        if row is None:
            return
        row[3] = ""
        if due is None:
            row[2] = status
            self._bump(f"status:{status.value}")
        else:
            row[2] = DebtorStatus.SCHEDULED
            self.rescheduled += 1

    async def begin_attempts(self, campaign: str, starts: Sequence[AttemptStart]) -> list[str]:
        self._check(campaign)
        ids = []
        for start in starts:
            self._seq += 1
            aid = f"{campaign}-{self._seq}"
            debtor_id = start.claim.debtor.debtor_id
            record = AttemptRecord(aid, self._seq, debtor_id, start.phone, start.dialled_at)
            self._open[aid] = record
            self.records.append(record)
            row = self._debtors.get(debtor_id)
            if row is not None:
                row[4] = aid
            ids.append(aid)
        self._bump("attempts", len(ids))
        return ids

    async def finish_attempt(self, campaign: str, attempt_id: str, debtor_id: str, outcome: Outcome,
                             fields: dict[str, Any], state: DebtorState, status: DebtorStatus,
                             due: float | None, hour: int) -> bool:
        """Close an open attempt and move its debtor on. False if it was already closed."""
        self._check(campaign)
        record = self._open.pop(attempt_id, None)
        if record is None:
            return False
        record.outcome = outcome
        record.answered_at = _float(fields.get("answered_at"))
        record.connected_at = _float(fields.get("connected_at"))
        record.ended_at = _float(fields.get("ended_at"))
        self._claimed.pop(debtor_id, None)
        row = self._debtors.get(debtor_id)
        if row is not None:
            row[1], row[2], row[3], row[4] = state, status, "", ""
        if due is None:
            self._bump(f"status:{status.value}")
        else:
            self.rescheduled += 1
        self._bump(f"outcome:{outcome.value}")
        if outcome.is_live_answer:
            self._bump("live")
            self._hourly.setdefault(hour, [0, 0])[0] += 1
        if outcome is Outcome.ABANDONED:
            self._bump("abandoned")
            self._hourly.setdefault(hour, [0, 0])[1] += 1
        return True

    # -- crash recovery (one process, nothing to recover; answered honestly all the same) -------
    async def orphan_candidates(self, campaign: str, mine: set[str], my_debtors: set[str], *,
                                now: float, own_claim_grace_s: float = 60.0, slice_size: int = 2000,
                                ) -> tuple[list[str], list[str]]:
        self._check(campaign)
        stranded = [d for d, at in self._claimed.items()
                    if at < now - own_claim_grace_s and not self._debtors[d][4] and d not in my_debtors]
        return [a for a in self._open if a not in mine], stranded

    async def attempts(self, campaign: str, attempt_ids: Sequence[str]) -> list[dict[str, str]]:
        self._check(campaign)
        rows = []
        for aid in attempt_ids:
            rec = self._open.get(aid)
            if rec is None:
                continue
            rows.append({"attempt_id": aid, "campaign": campaign, "debtor_id": rec.debtor_id,
                         "phone": rec.phone, "owner": self.owner, "state": "open",
                         "dialled_at": repr(rec.dialled_at)})
        return rows

    async def claimed_debtors(self, campaign: str, ids: Sequence[str] | None = None
                              ) -> list[tuple[str, str, str]]:
        self._check(campaign)
        wanted = sorted(self._claimed) if ids is None else list(ids)
        out = []
        for d in wanted:
            row = self._debtors.get(d)
            out.append((d, row[3] if row else "", row[4] if row else ""))
        return out

    # -- reporting -------------------------------------------------------------------------------
    async def stats(self, campaign: str) -> dict[str, int]:
        self._check(campaign)
        return dict(self._stats)

    async def hourly_counts(self, campaign: str) -> dict[int, tuple[int, int]]:
        self._check(campaign)
        return {h: (v[0], v[1]) for h, v in self._hourly.items()}

    async def close(self) -> None:
        return None
