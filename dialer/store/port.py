"""The store as the pacing engine and the callback handler see it: two protocols and their values.

:class:`~dialer.engine.CampaignEngine` needs a place that hands out debtors,
accounts for every call attempt and answers for the campaign's control state;
:class:`~dialer.inbound.CallbackHandler` needs a place that finds a caller's
debtors and keeps a record of each call back. Production keeps both in Redis
(:class:`dialer.store.redis_store.Store`); ``callpact simulate`` runs the same
engine on an in-memory :class:`~dialer.simulation.memory_store.SimulationStore`,
which has no callers back. Declaring exactly what the engine calls, instead of
typing it with the Redis class, lets a test hold both stores to the same
contract (tests/dialer/test_store_port.py): a new store call in the engine that
the simulator lacks fails there, not halfway through a simulated day.

Pure: no I/O, nothing but the contracts and the values that cross them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from dialer.core.records import Debtor, DebtorState, DebtorStatus, Outcome

__all__ = ["AttemptStart", "CallbackStore", "CampaignStore", "Claim", "Control"]


@dataclass(frozen=True)
class Claim:
    """A debtor taken from the hopper by this process."""

    debtor: Debtor
    state: DebtorState
    claimed_at: float


@dataclass(frozen=True)
class AttemptStart:
    claim: Claim
    phone: str
    dialled_at: float


@dataclass(frozen=True)
class Control:
    state: str
    version: int


class CampaignStore(Protocol):
    """What one campaign's pacing engine reads and writes.

    Every call attempt is accounted for: written open (:meth:`begin_attempts`) before its call is
    placed, closed exactly once (:meth:`finish_attempt`), and findable while open, so that what a
    crashed process leaves behind is reconciled by another (:meth:`orphan_candidates`). A lost link
    to the store raises :class:`~dialer.core.errors.StoreUnavailable` rather than a driver's error.
    """

    @property
    def owner(self) -> str:
        """This process's id: it owns the debtors it claims and the attempts it begins."""
        ...

    @property
    def heartbeat_ttl_s(self) -> int:
        """Seconds a heartbeat keeps its process counted alive; a dead one's work waits that long."""
        ...

    # -- processes -------------------------------------------------------------------------
    async def heartbeat(self, info: str = "") -> None:
        """Keep this process counted alive for another :attr:`heartbeat_ttl_s` seconds."""
        ...

    async def is_alive(self, owner: str) -> bool:
        """Whether ``owner`` (a process id) has a live heartbeat; this process always has."""
        ...

    # -- the campaign ----------------------------------------------------------------------
    async def campaign_text(self, name: str) -> str:
        """The campaign's stored YAML; raises :class:`~dialer.core.errors.NotFound` if not loaded."""
        ...

    async def control(self, name: str) -> Control:
        """The campaign's state (running/paused/stopped) and a version bumped by every change."""
        ...

    # -- debtors and the hopper ------------------------------------------------------------
    async def debtor(self, campaign: str, debtor_id: str) -> tuple[Debtor, DebtorState, str] | None:
        """A debtor, its dialling state and status; None if unknown."""
        ...

    async def claim(self, campaign: str, n: int, now: float, promote_limit: int = 2000) -> list[Claim]:
        """Atomically take up to ``n`` due debtors, best priority first, for this process alone:
        two processes sharing a store never claim the same debtor."""
        ...

    async def next_due(self, campaign: str) -> float | None:
        """The earliest due instant in the hopper (0.0 if some are ready now), None if it is empty."""
        ...

    async def reschedule(self, campaign: str, debtor_id: str, due: float | None,
                         status: DebtorStatus = DebtorStatus.SCHEDULED) -> None:
        """Give back a claimed debtor that was not dialled: due again at ``due``, or (None) done
        with ``status``. Atomic."""
        ...

    # -- attempts ----------------------------------------------------------------------------
    async def begin_attempts(self, campaign: str, starts: Sequence[AttemptStart]) -> list[str]:
        """Write attempts open, before their calls are placed; their ids are ``<campaign>-<n>``, in
        the order of ``starts``. Counts each in the ``attempts`` statistic."""
        ...

    async def finish_attempt(self, campaign: str, attempt_id: str, debtor_id: str, outcome: Outcome,
                             fields: dict[str, Any], state: DebtorState, status: DebtorStatus,
                             due: float | None, hour: int) -> bool:
        """Close an open attempt with its one outcome, release its debtor (due again at ``due``, or
        done with ``status``) and count it (outcome, live answer, abandoned, per ``hour``), all in one
        atomic step. Only once: False, and nothing changed, if it was already closed."""
        ...

    # -- crash recovery --------------------------------------------------------------------
    async def orphan_candidates(self, campaign: str, mine: set[str], my_debtors: set[str], *,
                                now: float, own_claim_grace_s: float = 60.0, slice_size: int = 2000,
                                ) -> tuple[list[str], list[str]]:
        """(open attempt ids, claimed debtor ids) that a dead process may have left behind: attempts
        of owners without a heartbeat, and claims with no attempt (this process's own only after
        ``own_claim_grace_s``). Never those in ``mine`` / ``my_debtors``."""
        ...

    async def attempts(self, campaign: str, attempt_ids: Sequence[str]) -> list[dict[str, str]]:
        """The stored fields of these attempts (those that exist)."""
        ...

    async def claimed_debtors(self, campaign: str, ids: Sequence[str] | None = None
                              ) -> list[tuple[str, str, str]]:
        """(debtor id, owner, open attempt id or '') for claimed debtors (all, or those given)."""
        ...

    # -- reporting -------------------------------------------------------------------------
    async def stats(self, campaign: str) -> dict[str, int]:
        """The campaign's counters (attempts, outcome:*, live, abandoned, status:*, ...)."""
        ...

    async def hourly_counts(self, campaign: str) -> dict[int, tuple[int, int]]:
        """Hour epoch -> (live answers, abandoned): what the rolling abandonment limit is taken over."""
        ...


@runtime_checkable
class CallbackStore(Protocol):
    """What answering callers back needs; a store without it (the simulator's) takes no callers back.

    Every inbound call leaves one record, whatever became of it.
    """

    async def callback_candidates(self, campaign: str, number: str, since: float
                                  ) -> list[tuple[Debtor, DebtorState, list[dict[str, str]]]]:
        """The debtors whose phones include ``number``, each with its attempts dialled at or after
        ``since`` (oldest first): what callback routing decides on."""
        ...

    async def record_callback(self, campaign: str, call_id: str, fields: dict[str, Any],
                              counters: Sequence[str]) -> None:
        """Keep one inbound call's routing decision and result and bump ``counters`` in the
        campaign's statistics, atomically."""
        ...
