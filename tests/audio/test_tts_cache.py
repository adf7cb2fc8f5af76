"""The render cache on disk: same key -> same audio, any change -> a miss, bounded, never half-written."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from audio.cache import RenderCache, RenderKey
from audio.tts import TTSError


def key(text: str = "vijfenveertig euro", engine: str = "espeak-ng|nl|rate=default|1.51", *,
        rate: int = 8000, fmt: str = "pcm16", level: float | None = -20.0) -> RenderKey:
    return RenderKey(engine, text, rate, fmt, level)


def test_a_stored_render_comes_back(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    assert cache.get(key()) is None
    cache.put(key(), b"\x01\x02" * 100)
    assert cache.get(key()) == b"\x01\x02" * 100
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.bytes) == (1, 1, 1, 200)
    assert stats.hit_rate == 0.5


@pytest.mark.parametrize("changed", [
    key(text="vijfenveertig euro twintig"),
    key(engine="espeak-ng|en|rate=default|1.51"),
    key(engine="espeak-ng|nl|rate=default|1.52"),            # a new engine version renders differently
    key(rate=16000),
    key(fmt="ulaw"),
    key(level=-18.0),
])
def test_any_change_to_what_is_heard_is_a_miss(tmp_path: Path, changed: RenderKey) -> None:
    cache = RenderCache(tmp_path)
    cache.put(key(), b"\x00\x00")
    assert cache.get(changed) is None


def test_entries_survive_a_new_cache_object(tmp_path: Path) -> None:
    RenderCache(tmp_path).put(key(), b"\x05\x00")
    assert RenderCache(tmp_path).get(key()) == b"\x05\x00"


def test_the_key_does_not_put_the_text_in_a_file_name(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    cache.put(key("Meneer Jansen, 45 euro"), b"\x00\x00")
    names = [p.name for p in tmp_path.rglob("*")]
    assert not any("Jansen" in name for name in names)


def entry_path(directory: Path, k: RenderKey) -> Path:
    return directory / k.digest()[:2] / f"{k.digest()}.audio"


def age(directory: Path, k: RenderKey, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(entry_path(directory, k), (then, then))


def test_least_recently_used_entries_go_first_beyond_the_size_limit(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, max_bytes=3000)
    for i in range(3):
        cache.put(key(f"prompt {i}"), bytes(1000))
        age(tmp_path, key(f"prompt {i}"), 100 - i)            # prompt 0 oldest, prompt 2 newest
    assert cache.get(key("prompt 0")) is not None             # ...but prompt 0 was just used
    cache.put(key("prompt 3"), bytes(1000))                   # 4000 > 3000: down to 90%, 2700
    assert cache.stats().bytes <= 2700
    assert cache.get(key("prompt 1")) is None                 # the least recently used went first
    assert cache.get(key("prompt 2")) is None
    assert cache.get(key("prompt 0")) is not None and cache.get(key("prompt 3")) is not None
    assert cache.evictions == 2


def test_writes_below_the_limit_do_not_evict(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, max_bytes=10_000)
    for i in range(9):
        cache.put(key(f"prompt {i}"), bytes(1000))
    assert cache.evictions == 0 and cache.stats().entries == 9


def test_prune_removes_renders_unused_for_the_maximum_age(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path, max_age_s=3600)
    cache.put(key("old debtor"), b"\x00\x00")
    cache.put(key("fresh debtor"), b"\x00\x00")
    age(tmp_path, key("old debtor"), 7200)
    assert cache.prune() == 1
    assert cache.get(key("old debtor")) is None
    assert cache.get(key("fresh debtor")) is not None


def test_concurrent_writers_of_one_key_leave_one_whole_file(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path)
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    threads = [threading.Thread(target=cache.put, args=(key(), p)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get(key()) in payloads
    assert [p.name for p in tmp_path.rglob(".tmp-*")] == []
    assert cache.stats().entries == 1


def test_an_unusable_cache_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TTSError, match="cannot create the TTS cache directory"):
        RenderCache(blocker / "cache")


def test_only_our_user_can_list_or_read_the_rendered_prompts(tmp_path: Path) -> None:
    """Rendered prompts say a debtor's name and amount: the cache keeps them from other local users."""
    old = os.umask(0o022)                      # a usual umask: directories would be world-listable
    try:
        cache = RenderCache(tmp_path / "tts")
        cache.put(key(), b"\x00\x01" * 80)
    finally:
        os.umask(old)
    stored = next(p for p in (tmp_path / "tts").rglob("*") if p.is_file())
    for path in (tmp_path / "tts", stored.parent):
        assert path.stat().st_mode & 0o777 == 0o700, path
    assert stored.stat().st_mode & 0o777 == 0o600
