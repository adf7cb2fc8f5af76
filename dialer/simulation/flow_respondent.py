"""Simulated debtors who understand the flows they hear (for the demo and the simulator).

A :class:`~sip.simulated.Respondent`: asked a menu question, the person
recognises the menu by its choices (the grammar the runner passes to
``listen``), picks a choice with the configured weights and answers by voice
(a phrase of the grammar) or by the choice's key. Asked to key in a value,
they recognise the ``collect`` node by the prompt they just heard and type a
date a few days ahead (sometimes beyond the flow's limit, so the check is
exercised) or a number of terms. All draws come from the call's own stream,
so the same debtor attempt answers the same way under any pacing policy.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence

from dialer.core.telephony import Heard, HeardKind
from ivr_flows.model import Collect, CollectKind, Flow, Menu
from sip.simulated import Question

DEFAULT_WEIGHTS: Mapping[str, float] = {
    "confirm": 9.0, "deny": 1.0,
    "link": 4.0, "promise": 3.0, "plan": 1.5, "agent": 1.0, "paid": 1.0, "dispute": 0.3, "refused": 0.3,
    "stop": 0.5,
}


class FlowRespondent:
    def __init__(self, flows: Sequence[Flow], today: Callable[[], dt.date], *,
                 weights: Mapping[str, float] = DEFAULT_WEIGHTS, voice_share: float = 0.35) -> None:
        self.today = today
        self.weights = dict(weights)
        self.voice_share = voice_share
        self._menus: dict[frozenset[str], Menu] = {}
        self._menu_prompts: list[tuple[str, str, Menu]] = []
        self._collects: list[tuple[str, Collect, Flow]] = []
        for flow in flows:
            for node in flow.nodes.values():
                if isinstance(node, Menu):
                    self._menus.setdefault(frozenset(c.name for c in node.choices), node)
                    for text in node.prompt.values():      # what comes before and after the facts
                        head, tail = text.split("{", 1)[0].strip(), text.rsplit("}", 1)[-1].strip()
                        self._menu_prompts.append((head, tail, node))
                elif isinstance(node, Collect):
                    for text in node.prompt.values():
                        self._collects.append((text.split("{", 1)[0].strip(), node, flow))

    def answer(self, question: Question, rng: random.Random) -> Heard | None:
        if question.grammar:
            menu = self._menus.get(frozenset(question.grammar))
            return self._menu(menu, question, rng) if menu else None
        for prefix, node, flow in self._collects:
            if prefix and question.last_prompt.startswith(prefix):
                return self._collect(node, flow, rng)
        return None

    def interrupt(self, prompt_text: str, rng: random.Random) -> str | None:
        """Someone who knows what they want presses its key before a menu prompt ends."""
        menu = next((m for head, tail, m in self._menu_prompts
                     if head and prompt_text.startswith(head) and prompt_text.endswith(tail)), None)
        if menu is None:
            return None
        keyed = [c for c in menu.choices if c.digit]
        if not keyed:
            return None
        weights = [max(0.0, self.weights.get(c.name, 1.0)) for c in keyed]
        return rng.choices(keyed, weights if sum(weights) > 0 else None)[0].digit

    def _menu(self, menu: Menu, question: Question, rng: random.Random) -> Heard:
        choices = list(menu.choices)
        weights = [max(0.0, self.weights.get(c.name, 1.0)) for c in choices]
        pick = rng.choices(choices, weights if sum(weights) > 0 else None)[0]
        phrases = (question.grammar or {}).get(pick.name) or ()
        if phrases and (pick.digit is None or rng.random() < self.voice_share):
            return Heard(HeardKind.SPEECH, choice=pick.name, text=phrases[0],
                         confidence=round(rng.uniform(0.55, 0.98), 3))
        if pick.digit is None:
            return Heard(HeardKind.NO_MATCH, text="...")
        return Heard(HeardKind.DTMF, digits=pick.digit)

    def _collect(self, node: Collect, flow: Flow, rng: random.Random) -> Heard:
        if node.kind is CollectKind.DATE:
            limit = node.max_days_ahead
            if isinstance(limit, str):
                limit = flow.params.get(limit.removeprefix("params."), 14)
            days = rng.randint(1, int(limit or 14) + 4)
            when = self.today() + dt.timedelta(days=days)
            return Heard(HeardKind.DTMF, digits=f"{when.day:02d}{when.month:02d}")
        if node.kind is CollectKind.NUMBER:
            return Heard(HeardKind.DTMF, digits=str(rng.choice([2, 3, 3, 4, 6, 6, 10, 12])))
        return Heard(HeardKind.DTMF, digits="".join(rng.choice("0123456789") for _ in range(node.min_digits)))
