"""Prompts -> 8 kHz telephone audio, rendered ahead of the call so the caller never waits on synthesis.

:class:`PromptRenderer` is what a media session calls to play a
:class:`dialer.core.telephony.Prompt`: recorded audio passes through; text is normalised for
its language (:mod:`audio.normalise`), synthesised by the voice configured for that
language (and flow), converted to 8 kHz mono 16-bit PCM at the configured loudness,
and cached on disk. Synthesis runs in a worker thread (the engines are child
processes), so the event loop that paces calls and moves 20 ms frames never blocks.

:meth:`PromptRenderer.prerender` warms the cache: the static parts of a flow when a
campaign starts, the per-debtor parts (amount, due date) when the debtor is claimed
from the hopper, so that at answer time :meth:`render` is a cache read. Two requests
for the same prompt at once (a pre-render still running when the call is answered)
share one synthesis.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from audio.cache import PRUNE_INTERVAL_S, CachePruner, CacheStats, RenderCache, RenderKey
from audio.convert import TELEPHONE_RATE, encode, to_telephone
from audio.normalise import normalise
from audio.tts import Engine, TTSError
from audio.tts_config import TTSConfig, VoiceConfig
from dialer.core.telephony import Prompt

log = logging.getLogger(__name__)


@dataclass
class RenderStats:
    """What rendering cost: every call of render(), and the syntheses among them."""

    requests: int = 0
    passthrough: int = 0
    cache_hits: int = 0
    syntheses: int = 0
    shared: int = 0                   # waited on a synthesis already in flight
    failures: int = 0
    cache_write_errors: int = 0
    synth_seconds: float = 0.0
    synth_max_s: float = 0.0
    hit_seconds: float = 0.0

    @property
    def hit_rate(self) -> float:
        """Share of text prompts served without a synthesis of their own."""
        text_requests = self.requests - self.passthrough - self.failures
        return (self.cache_hits + self.shared) / text_requests if text_requests > 0 else 0.0

    @property
    def mean_synth_ms(self) -> float:
        return 1000 * self.synth_seconds / self.syntheses if self.syntheses else 0.0

    @property
    def mean_hit_ms(self) -> float:
        return 1000 * self.hit_seconds / self.cache_hits if self.cache_hits else 0.0


@dataclass(frozen=True)
class PrerenderReport:
    prompts: int
    synthesised: int
    already_cached: int
    errors: list[str] = field(default_factory=list)   # one line each; never the prompt text


class PromptRenderer:
    """Renders prompts with the voices of one configuration (and optionally one flow)."""

    def __init__(self, config: TTSConfig, *, cache: RenderCache | None = None, flow: str | None = None,
                 prune_interval_s: float = PRUNE_INTERVAL_S, _shared: _Shared | None = None) -> None:
        """With a maximum age (``cache_max_age``, a week by default), stale renders are pruned now and
        every ``prune_interval_s`` until :meth:`close`: a dialer runs for weeks and the renders hold
        debtors' names and amounts, so retention must not depend on someone remembering to prune."""
        self.config = config
        self.flow = flow
        if _shared is None:
            cache = cache or RenderCache(config.cache_dir, max_bytes=config.cache_max_bytes,
                                         max_age_s=config.cache_max_age_s)
            _shared = _Shared(
                cache,
                concurrent.futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="tts"),
                CachePruner(cache, prune_interval_s) if cache.max_age_s is not None else None,
            )
        self._shared = _shared

    # -- set-up ---------------------------------------------------------------------------------
    def for_flow(self, flow: str) -> PromptRenderer:
        """The same cache, workers and statistics, with ``flow``'s voices where it has its own."""
        return PromptRenderer(self.config, flow=flow, _shared=self._shared)

    def check(self) -> None:
        """Raise :class:`TTSError` now if any configured engine, voice or model is missing."""
        voices = list(self.config.voices.values())
        voices += [v for flow in self.config.flows.values() for v in flow.values()]
        for voice in voices:
            engine = self._shared.engine(voice, self.config)
            engine.check()
            engine.key()                                # asks the engine's version once, now

    @property
    def cache(self) -> RenderCache:
        return self._shared.cache

    @property
    def stats(self) -> RenderStats:
        return self._shared.stats

    def cache_stats(self) -> CacheStats:
        return self._shared.cache.stats()

    async def prune(self) -> int:
        """Drop cache entries older than ``cache_max_age`` now, besides the scheduled pruning."""
        return await asyncio.get_running_loop().run_in_executor(self._shared.executor, self.cache.prune)

    def close(self) -> None:
        """Stop the pruning, wait for syntheses in progress, then stop the workers and any engine
        process (piper)."""
        if self._shared.pruner is not None:
            self._shared.pruner.stop()
        self._shared.executor.shutdown(wait=True)
        for engine in self._shared.engines():
            engine.close()

    # -- rendering ------------------------------------------------------------------------------
    async def render(self, prompt: Prompt) -> bytes:
        """8 kHz 16-bit mono PCM for ``prompt`` (its own audio, or text rendered and cached)."""
        stats = self._shared.stats
        stats.requests += 1
        if prompt.audio is not None:
            if len(prompt.audio) % 2:
                stats.failures += 1
                raise TTSError("prompt audio must be 16-bit PCM (an even number of bytes)")
            stats.passthrough += 1
            return prompt.audio
        try:
            engine, key = self._plan(prompt)
        except (TTSError, ValueError) as exc:
            stats.failures += 1
            raise exc if isinstance(exc, TTSError) else TTSError(str(exc)) from None
        return await self._render_key(engine, key)

    async def render_encoded(self, prompt: Prompt, fmt: str) -> bytes:
        """The prompt as ``pcm16``, ``ulaw`` or ``alaw`` for a backend that carries G.711 itself."""
        return encode(await self.render(prompt), fmt)

    async def prerender(self, prompts: Iterable[Prompt]) -> PrerenderReport:
        """Render what is not cached yet, ``workers`` at a time; errors are collected, not raised."""
        unique: dict[str, tuple[Engine, RenderKey]] = {}
        errors: list[str] = []
        count = 0
        for index, prompt in enumerate(prompts):
            count += 1
            if prompt.audio is not None:
                continue
            try:
                engine, key = self._plan(prompt)
            except (TTSError, ValueError) as exc:
                errors.append(f"prompt {index + 1} ({prompt.language}): {exc}")
                continue
            unique.setdefault(key.digest(), (engine, key))
        cached = await asyncio.get_running_loop().run_in_executor(
            self._shared.executor, lambda: {d for d, (_, key) in unique.items() if key in self.cache})
        todo = [(d, pair) for d, pair in unique.items() if d not in cached]
        limit = asyncio.Semaphore(self.config.workers)

        async def one(engine: Engine, key: RenderKey) -> None:
            async with limit:
                await self._render_key(engine, key, counted=False)

        results = await asyncio.gather(*(one(*pair) for _, pair in todo), return_exceptions=True)
        for (_, (_, key)), result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                errors.append(f"a {key.engine_key.split('|')[0]} prompt: {result}")
        return PrerenderReport(prompts=count, synthesised=len(todo) - sum(isinstance(r, BaseException)
                                                                          for r in results),
                               already_cached=len(cached), errors=errors)

    # -- internals ------------------------------------------------------------------------------
    def _plan(self, prompt: Prompt) -> tuple[Engine, RenderKey]:
        """The engine and cache key for a text prompt (raises for an unconfigured language)."""
        language = prompt.language.strip().lower().replace("_", "-").split("-")[0]
        voice = self.config.voice_for(language, self.flow or prompt.flow or None)
        if voice is None:
            configured = ", ".join(sorted(self.config.voices)) or "none"
            raise TTSError(f"no TTS voice configured for language {prompt.language!r} "
                           f"(configured: {configured})")
        text = normalise(prompt.text, language, region=self.config.region)
        engine = self._shared.engine(voice, self.config)
        key = RenderKey(engine.key(), text, TELEPHONE_RATE, "pcm16", self.config.level_dbfs)
        return engine, key

    async def _render_key(self, engine: Engine, key: RenderKey, *, counted: bool = True) -> bytes:
        shared, stats = self._shared, self._shared.stats
        loop = asyncio.get_running_loop()
        digest = key.digest()
        in_flight = shared.in_flight.get(digest)
        if in_flight is not None:
            if counted:
                stats.shared += 1
            return await asyncio.shield(in_flight)
        # Registered before the first await, so a second request for the same prompt waits on this one.
        future: asyncio.Future[bytes] = loop.create_future()
        shared.in_flight[digest] = future
        started = time.perf_counter()
        try:
            data = await loop.run_in_executor(shared.executor, shared.cache.get, key)
            if data is not None:
                if counted:
                    stats.cache_hits += 1
                    stats.hit_seconds += time.perf_counter() - started
            else:
                data = await loop.run_in_executor(shared.executor, self._synthesize, engine, key)
                elapsed = time.perf_counter() - started
                stats.syntheses += 1
                stats.synth_seconds += elapsed
                stats.synth_max_s = max(stats.synth_max_s, elapsed)
        except BaseException as exc:
            if counted:
                stats.failures += 1
            future.set_exception(exc if isinstance(exc, Exception) else TTSError("rendering was cancelled"))
            future.exception()                          # retrieved here; waiters re-raise it themselves
            raise
        else:
            future.set_result(data)
        finally:
            shared.in_flight.pop(digest, None)
        return data

    def _synthesize(self, engine: Engine, key: RenderKey) -> bytes:
        """Worker thread: engine -> 8 kHz PCM at the target level -> cache.

        A cache that cannot be written (disk full, permissions) costs speed, not the
        prompt: the caller still gets the audio, and the problem is logged once per render.
        """
        pcm = to_telephone(engine.synthesize(key.text), level_dbfs=key.level_dbfs)
        try:
            self._shared.cache.put(key, pcm)
        except OSError as exc:
            self._shared.stats.cache_write_errors += 1
            log.warning("TTS cache %s cannot be written (%s): rendering without it",
                        self._shared.cache.directory, exc.strerror or exc)
        return pcm


class _Shared:
    """What every flow's renderer of one configuration shares."""

    def __init__(self, cache: RenderCache, executor: concurrent.futures.ThreadPoolExecutor,
                 pruner: CachePruner | None) -> None:
        self.cache = cache
        self.executor = executor
        self.pruner = pruner
        self.stats = RenderStats()
        self.in_flight: dict[str, asyncio.Future[bytes]] = {}
        self._engines: dict[VoiceConfig, Engine] = {}

    def engines(self) -> list[Engine]:
        return list(self._engines.values())

    def engine(self, voice: VoiceConfig, config: TTSConfig) -> Engine:
        engine = self._engines.get(voice)
        if engine is None:
            engine = voice.make(timeout_s=config.timeout_s, max_chars=config.max_chars)
            self._engines[voice] = engine
        return engine
