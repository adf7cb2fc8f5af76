"""Retention of rendered prompts (personal data): a renderer prunes its cache when it starts and on a
schedule while it runs, by default after a week, or after the ``cache_max_age`` of a ``tts:`` section."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from audio.cache import RenderCache, RenderKey
from audio.prompts import PromptRenderer
from audio.tts_config import TTSConfig, load_tts_config

DAY = 86400.0


def stored(directory: Path, text: str, age_s: float) -> RenderKey:
    """A render of ``text`` last used ``age_s`` ago, as an earlier dialer run left it."""
    key = RenderKey("espeak-ng|nl|1.51", text, 8000, "pcm16", -20.0)
    RenderCache(directory).put(key, b"\x00\x00")
    (path,) = directory.glob(f"??/{key.digest()}.audio")
    os.utime(path, (time.time() - age_s, time.time() - age_s))
    return key


def eventually(predicate: Callable[[], bool], within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_starting_renderer_removes_renders_older_than_the_tts_sections_max_age(tmp_path: Path) -> None:
    path = tmp_path / "tts.yaml"
    path.write_text("tts:\n  cache_dir: cache\n  cache_max_age: 2h\n")
    config = load_tts_config(path)
    old = stored(tmp_path / "cache", "Mevrouw Jansen, u heeft 45 euro open", 3 * 3600)
    young = stored(tmp_path / "cache", "Meneer de Vries, u heeft 12 euro open", 3600)
    renderer = PromptRenderer(config)
    try:
        assert eventually(lambda: old not in renderer.cache)
        assert young in renderer.cache
    finally:
        renderer.close()


def test_by_default_renders_are_kept_a_week_and_pruned_on_a_schedule_until_closed(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    old = stored(cache_dir, "Mevrouw Jansen, u heeft 45 euro open", 8 * DAY)
    young = stored(cache_dir, "Meneer de Vries, u heeft 12 euro open", 6 * DAY)
    renderer = PromptRenderer(TTSConfig(cache_dir=cache_dir), prune_interval_s=0.05)
    try:
        assert eventually(lambda: old not in renderer.cache)
        later = stored(cache_dir, "Mevrouw Bakker, u heeft 99 euro open", 8 * DAY)   # while running
        assert eventually(lambda: later not in renderer.cache)
        assert young in renderer.cache
    finally:
        renderer.close()
    after = stored(cache_dir, "Meneer Smit, u heeft 7 euro open", 8 * DAY)
    time.sleep(0.3)                                           # six intervals: a pruner left running shows
    assert after in RenderCache(cache_dir)


def test_without_a_maximum_age_nothing_is_pruned(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    ancient = stored(cache_dir, "Mevrouw Jansen, u heeft 45 euro open", 400 * DAY)
    renderer = PromptRenderer(TTSConfig(cache_dir=cache_dir, cache_max_age_s=None), prune_interval_s=0.05)
    try:
        time.sleep(0.3)
        assert ancient in renderer.cache
    finally:
        renderer.close()
