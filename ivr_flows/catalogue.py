"""The prompts of a flow that are the same on every call, so a TTS cache can render them beforehand.

A prompt whose placeholders are only flow parameters (``{params.company}``)
sounds the same for every debtor; ``audio.prompts.PromptRenderer.prerender``
can render these before the first call, leaving only the personal ones
(name, amount, dates) to be rendered during calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialer.core.telephony import PlayResult, Prompt
from ivr_flows.facts import param_value
from ivr_flows.interpreter import FlowRun, Play
from ivr_flows.model import Flow
from ivr_flows.templates import placeholders, render

_PROMPT_FIELDS = ("prompt", "no_input", "no_match", "invalid")


def fixed_prompts(flow: Flow, params: Mapping[str, Any] | None = None) -> list[Prompt]:
    """Every distinct prompt of ``flow`` (with ``params`` applied) that needs no call facts."""
    values = {f"params.{k}": param_value(k, v) for k, v in {**flow.params, **(params or {})}.items()}
    seen: set[tuple[str, str]] = set()
    out: list[Prompt] = []
    for node in flow.nodes.values():
        for name in _PROMPT_FIELDS:
            texts = getattr(node, name, None)
            if not texts:
                continue
            for language, template in texts.items():
                if not all(p.startswith("params.") for p in placeholders(template)):
                    continue
                text = render(template, values, language)
                if (language, text) not in seen:
                    seen.add((language, text))
                    out.append(Prompt(text, language, flow=flow.name))
    return out


def opening_prompts(run: FlowRun, limit: int = 8) -> list[Prompt]:
    """What a fresh ``run`` plays before it first waits for the caller: the personal greeting.

    Rendered when the debtor is claimed from the hopper, these make answer-to-first-audio
    independent of synthesis time. ``run`` is used up (start it anew for the real call).
    """
    out: list[Prompt] = []
    action = run.start()
    while isinstance(action, Play) and len(out) < limit:
        out.append(action.prompt)
        action = run.send(PlayResult(completed=True))
    return out
