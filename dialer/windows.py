"""When a debtor may be called: weekly calling windows inside a legal envelope.

Windows are written in the debtor's *local* wall-clock time, because the law
(and the debtor) thinks in local time: "no calls after 20:00" means 20:00 where
the phone rings, whatever the dialer's clock says. All answers are instants
(epoch seconds, UTC) so the scheduler never has to reason about time zones.

Two layers keep calls legal. Configuration outside a jurisdiction's envelope is
refused when the campaign is read (:func:`read_calling_hours`), and
:class:`CallingWindows` clips to the envelope again at run time, so a
hand-built or stale object can never open a window the law forbids.

Daylight-saving changes are handled per local day: a boundary in a skipped hour
(spring forward) moves to the moment the clock jumps; a boundary in a repeated
hour (fall back) takes its first occurrence. Neither crashes nor skips the day.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from dialer.core.errors import ConfigError, InputError
from dialer.core.yamlconf import Section

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = dt.time.max  # written "24:00": the window runs to the next local midnight

Window = tuple[dt.time, dt.time]
Weekly = tuple[tuple[Window, ...], ...]  # index 0 = Monday, as date.weekday()


class Jurisdiction(StrEnum):
    NL = "NL"
    US = "US"
    NONE = "none"


@dataclass(frozen=True)
class Envelope:
    """The outer limits a jurisdiction puts on any calling window."""

    earliest: dt.time | None          # no call starts before this local time
    latest: dt.time | None            # no call after this local time
    closed_weekdays: frozenset[int]   # date.weekday() numbers
    holidays_mandatory: bool          # public holidays must be off
    holiday_country: str | None       # the calendar behind ``holidays: true``
    rule: str                         # who says so, for error messages


ENVELOPES: dict[Jurisdiction, Envelope] = {
    Jurisdiction.NL: Envelope(
        earliest=dt.time(7, 0),
        latest=dt.time(20, 0),
        closed_weekdays=frozenset({6}),
        holidays_mandatory=True,
        holiday_country="NL",
        rule="NL collection rules (Besluit kwaliteit incassodienstverlening art. 4.2)",
    ),
    Jurisdiction.US: Envelope(
        earliest=dt.time(8, 0),
        latest=dt.time(21, 0),
        closed_weekdays=frozenset(),
        holidays_mandatory=False,
        holiday_country="US",
        rule="US collection rules (Regulation F, 12 CFR 1006.6(b)(1))",
    ),
    Jurisdiction.NONE: Envelope(
        earliest=None,
        latest=None,
        closed_weekdays=frozenset(),
        holidays_mandatory=False,
        holiday_country=None,
        rule="no jurisdiction",
    ),
}

# The library lists Liberation Day only every fifth year; the Algemene
# termijnenwet (art. 3), which NL rules lean on for "days equal to public
# holidays", names 5 May every year. Erring towards not calling is the safe side.
_EXTRA_HOLIDAYS: dict[str, tuple[tuple[int, int], ...]] = {"NL": ((5, 5),)}


@functools.lru_cache(maxsize=256)
def holiday_dates(country: str, year: int) -> frozenset[dt.date]:
    """Public holidays of one country and year; cached because every day checked asks."""
    found = set(holidays.country_holidays(country, years=year))
    found.update(dt.date(year, m, d) for m, d in _EXTRA_HOLIDAYS.get(country, ()))
    return frozenset(found)


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone; an unknown name is the debtor data's fault, never silently guessed."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {name!r}; use an IANA name like Europe/Amsterdam") from None


def is_valid_timezone(name: str) -> bool:
    try:
        zone(name)
    except InputError:
        return False
    return True


def local_instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> float:
    """The instant a local wall-clock time happens on ``day``.

    A skipped time (spring forward) maps to the moment the clock jumps, the first
    instant whose local time is not earlier; a repeated time takes its first
    occurrence. ``END_OF_DAY`` means the next local midnight.
    """
    if at == END_OF_DAY:
        return local_instant(day + dt.timedelta(days=1), dt.time(0, 0), tz)
    wall = dt.datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).timestamp()
    if dt.datetime.fromtimestamp(first, tz).replace(tzinfo=None) == wall:
        return first
    # In a gap: fold=1 reads the wall time with the later offset (an instant before
    # the jump), fold=0 with the earlier one (after it). Bisect for the jump.
    lo = wall.replace(tzinfo=tz, fold=1).timestamp()
    hi = first
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if dt.datetime.fromtimestamp(mid, tz).replace(tzinfo=None) < wall:
            lo = mid
        else:
            hi = mid
    return float(hi)


@dataclass(frozen=True)
class CallingWindows:
    """Weekly opening hours in the debtor's local time, minus closed days."""

    weekly: Weekly
    holidays_off: bool = True
    extra_closed_dates: frozenset[dt.date] = frozenset()
    default_timezone: str = "Europe/Amsterdam"
    jurisdiction: Jurisdiction = Jurisdiction.NL
    holiday_country: str | None = field(default=None)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly needs one tuple of windows per weekday, Monday first")
        if self.holiday_country is None:
            object.__setattr__(self, "holiday_country", self.envelope.holiday_country)

    @property
    def envelope(self) -> Envelope:
        return ENVELOPES[self.jurisdiction]

    def windows_on(self, weekday: str) -> tuple[Window, ...]:
        return self.weekly[WEEKDAYS.index(weekday)]

    # -- per local day -------------------------------------------------------------
    def is_closed_day(self, day: dt.date) -> bool:
        """Closed all day: envelope weekday, public holiday, or a date the campaign closed."""
        env = self.envelope
        if day in self.extra_closed_dates or day.weekday() in env.closed_weekdays:
            return True
        country = self.holiday_country
        if country and (self.holidays_off or env.holidays_mandatory):
            return day in holiday_dates(country, day.year)
        return False

    def day_intervals(self, day: dt.date, tz: ZoneInfo) -> tuple[tuple[float, float], ...]:
        """Open instants of one local day, clipped to the envelope, sorted and merged.

        Cached: every claim and every finished call asks about the same few days.
        """
        return _day_intervals(self, day, tz)

    def _compute_day_intervals(self, day: dt.date, tz: ZoneInfo) -> list[tuple[float, float]]:
        if self.is_closed_day(day):
            return []
        env = self.envelope
        spans: list[tuple[float, float]] = []
        for start, end in self.weekly[day.weekday()]:
            if env.earliest is not None:
                start = max(start, env.earliest)
            if env.latest is not None:
                end = min(end, env.latest)
            if end <= start:
                continue
            a, b = local_instant(day, start, tz), local_instant(day, end, tz)
            if b > a:
                spans.append((a, b))
        return _merge(spans)

    # -- queries -------------------------------------------------------------------
    def _zone(self, tz: str | None) -> ZoneInfo:
        return zone(tz or self.default_timezone)

    def _open_span(self, at: float, zi: ZoneInfo) -> tuple[float, float] | None:
        day = dt.datetime.fromtimestamp(at, zi).date()
        for offset in (-1, 0, 1):  # a DST jump near midnight can nudge an edge across
            for a, b in self.day_intervals(day + dt.timedelta(days=offset), zi):
                if a <= at < b:
                    return a, b
        return None

    def is_open(self, at: float, tz: str | None = None) -> bool:
        return self._open_span(at, self._zone(tz)) is not None

    def next_open(self, at: float, tz: str | None = None, horizon_days: int = 400) -> float | None:
        """Earliest instant >= ``at`` inside a window; None when nothing opens within the horizon."""
        zi = self._zone(tz)
        day = dt.datetime.fromtimestamp(at, zi).date()
        for offset in range(-1, horizon_days + 1):
            for a, b in self.day_intervals(day + dt.timedelta(days=offset), zi):
                if b > at:
                    return max(a, at)
        return None

    def current_window_end(self, at: float, tz: str | None = None) -> float | None:
        """When the window containing ``at`` closes (following windows that touch it,
        e.g. 22:00-24:00 then 00:00-02:00); None when ``at`` is outside every window."""
        zi = self._zone(tz)
        span = self._open_span(at, zi)
        if span is None:
            return None
        end = span[1]
        for _ in range(400):
            nxt = self._open_span(end, zi)
            if nxt is None or nxt[1] <= end:
                break
            end = nxt[1]
        return end

    def state(self, at: float, tz: str | None = None) -> WindowState:
        """Whether the window is open at ``at`` and, when closed, why and until when: an operator
        who sees "0 due now" must be able to tell the law from a stalled dialer."""
        zi = self._zone(tz)
        if self._open_span(at, zi) is not None:
            return WindowState(True, at, None, False)
        day = dt.datetime.fromtimestamp(at, zi).date()
        env, name = self.envelope, _DAY_NAMES[day.weekday()]
        rules = f"{self.jurisdiction.value} rules"
        if day in self.extra_closed_dates:
            reason, by_law = "a closed date of this campaign", False
        elif day.weekday() in env.closed_weekdays:
            reason, by_law = f"{name}; {rules}", True
        elif self.is_closed_day(day):
            by_law = env.holidays_mandatory
            reason = f"public holiday; {rules}" if by_law else "public holiday"
        else:
            # The envelope only ever narrows the campaign's own hours: the law closes the window
            # exactly when the same hours without it would be open.
            by_law = replace(self, jurisdiction=Jurisdiction.NONE).is_open(at, tz)
            reason = f"outside {rules}' hours" if by_law else (
                f"outside calling hours ({name})" if self.weekly[day.weekday()]
                else f"no calling hours on {name}")
        return WindowState(False, self.next_open(at, tz), reason, by_law)


@dataclass(frozen=True)
class WindowState:
    """The calling window at one instant, as ``campaign status`` reports it."""

    open: bool
    opens_at: float | None        # ``at`` itself when open; None when nothing opens within the horizon
    closed_because: str | None    # e.g. "Sunday; NL rules"
    closed_by_law: bool           # the jurisdiction's envelope, not the campaign's hours, closes it



@functools.lru_cache(maxsize=4096)
def _day_intervals(windows: CallingWindows, day: dt.date, tz: ZoneInfo) -> tuple[tuple[float, float], ...]:
    return tuple(windows._compute_day_intervals(day, tz))

def _merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


# -- reading from a campaign file ---------------------------------------------------

DEFAULT_WEEKLY: dict[str, list[str]] = {
    "mon": ["09:00-17:30"],
    "tue": ["09:00-17:30"],
    "wed": ["09:00-17:30"],
    "thu": ["09:00-17:30"],
    "fri": ["09:00-17:30"],
    "sat": ["10:00-14:00"],
    "sun": [],
}
DEFAULT_TIMEZONE = "Europe/Amsterdam"

_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_WINDOW_HINT = 'write it as "09:00-17:30" or ["09:00", "17:30"]'


def _fmt(t: dt.time) -> str:
    return "24:00" if t == END_OF_DAY else t.strftime("%H:%M")


def _parse_time(text: Any, label: str, fail: Any) -> dt.time:
    if isinstance(text, int) and not isinstance(text, bool):
        # YAML 1.1 reads an unquoted 17:30 as the base-60 number 1050.
        raise fail(f"{_fmt_minutes(text)} must be quoted (\"{_fmt_minutes(text)}\"): "
                   f"YAML reads it as the number {text}")
    if not isinstance(text, str):
        raise fail(f"{label} {text!r} is not a time; {_WINDOW_HINT}")
    match = _TIME_RE.match(text)
    if not match:
        raise fail(f"{label} {text!r} is not a time like 09:00; {_WINDOW_HINT}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return END_OF_DAY
    if hour > 23 or minute > 59:
        raise fail(f"{label} {text!r} is not a time of day (00:00 to 24:00); {_WINDOW_HINT}")
    return dt.time(hour, minute)


def _fmt_minutes(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def parse_window(value: Any, fail: Any) -> Window:
    """One window from "09:00-17:30" or ["09:00", "17:30"]; ``fail(msg)`` builds the error."""
    if isinstance(value, str):
        parts = value.split("-")
        if len(parts) != 2:
            raise fail(f"{value!r} is not a window; {_WINDOW_HINT}")
        text = value.strip()
    elif isinstance(value, list) and len(value) == 2:
        parts = value
        text = "-".join(str(p) for p in value)
    else:
        raise fail(f"{value!r} is not a window; {_WINDOW_HINT}")
    start = _parse_time(parts[0], "start", fail)
    end = _parse_time(parts[1], "end", fail)
    if start == END_OF_DAY:
        raise fail(f'"{text}" starts at 24:00; a window must start before midnight')
    if end <= start:
        raise fail(f'"{text}" ends before it starts; a window lies within one day '
                   f'(use two windows, e.g. on two days, to span midnight)')
    return start, end


def check_envelope(window: Window, jurisdiction: Jurisdiction, fail: Any) -> None:
    """Refuse a window the jurisdiction's hours forbid, naming the limit."""
    env = ENVELOPES[jurisdiction]
    text = f"{_fmt(window[0])}-{_fmt(window[1])}"
    if env.earliest is not None and window[0] < env.earliest:
        raise fail(f'"{text}" starts before {_fmt(env.earliest)}, the earliest {env.rule} allow')
    if env.latest is not None and window[1] > env.latest:
        raise fail(f'"{text}" ends after {_fmt(env.latest)}, the latest {env.rule} allow')


def read_calling_hours(section: Section, jurisdiction: Jurisdiction,
                       holiday_country: str | None) -> CallingWindows:
    """Build :class:`CallingWindows` from ``calling_hours``; every refusal names the key and line.

    ``holiday_country`` is the calendar for ``holidays: true`` when the jurisdiction
    has none of its own (``none``): the campaign's number region.
    """
    env = ENVELOPES[jurisdiction]
    tz_name = section.string("timezone", DEFAULT_TIMEZONE)
    if not is_valid_timezone(tz_name):
        raise section.error("timezone", f"{tz_name!r} is not a known IANA time zone "
                                        f"(e.g. Europe/Amsterdam, America/New_York)")

    holidays_given = section.has("holidays")
    holidays_off = section.boolean("holidays", True)
    if env.holidays_mandatory and not holidays_off:
        raise section.error("holidays", f"{env.rule} forbid calls on public holidays; "
                                        f"remove this key or set it to true")
    country = env.holiday_country or holiday_country
    if holidays_off and country not in holidays.list_supported_countries():
        if holidays_given:
            raise section.error("holidays", f"no public-holiday calendar is known for {country!r}; "
                                            f"set it to false and list the days in extra_closed_dates")
        holidays_off = False

    extra = section.items("extra_closed_dates", section.as_date, [])
    weekly = _read_weekly(section, jurisdiction)
    section.finish(("timezone", "weekly", "holidays", "extra_closed_dates"))
    return CallingWindows(
        weekly=weekly,
        holidays_off=holidays_off,
        extra_closed_dates=frozenset(extra),
        default_timezone=tz_name,
        jurisdiction=jurisdiction,
        holiday_country=country,
    )


def _read_weekly(parent: Section, jurisdiction: Jurisdiction) -> Weekly:
    env = ENVELOPES[jurisdiction]
    given = parent.has("weekly")
    sec = parent.section("weekly")
    days: list[tuple[Window, ...]] = []
    for index, name in enumerate(WEEKDAYS):
        raw = sec.raw(name, []) if given else DEFAULT_WEEKLY[name]
        if raw is None:
            raw = []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise sec.error(name, f"must be a list of windows like [\"09:00-17:30\"], not {raw!r}")
        if raw and index in env.closed_weekdays:
            raise sec.error(name, f"{env.rule} forbid calls on {_DAY_NAMES[index]}s")
        windows = _read_day(sec, name, raw, jurisdiction)
        days.append(tuple(windows))
    sec.finish(WEEKDAYS)
    return tuple(days)


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _read_day(sec: Section, name: str, raw: Sequence[Any], jurisdiction: Jurisdiction) -> list[Window]:
    windows: list[Window] = []
    for i, item in enumerate(raw):
        def fail(message: str, i: int = i) -> ConfigError:
            return ConfigError(f"{sec.key_path(name)}[{i}]: {message}", where=sec.where(name))

        window = parse_window(item, fail)
        check_envelope(window, jurisdiction, fail)
        for other in windows:
            if window[0] < other[1] and other[0] < window[1]:
                raise fail(f'"{_fmt(window[0])}-{_fmt(window[1])}" overlaps '
                           f'"{_fmt(other[0])}-{_fmt(other[1])}"; merge them into one window')
        windows.append(window)
    return sorted(windows)
