"""Calling windows: local time, DST, holidays, legal envelopes, and their config errors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign import parse_campaign
from dialer.core.errors import ConfigError
from dialer.windows import CallingWindows, Jurisdiction

AMS = "Europe/Amsterdam"
NY = "America/New_York"


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, tz: str = AMS) -> float:
    return dt.datetime(y, m, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> float:
    return dt.datetime(y, m, d, h, mi, tzinfo=dt.UTC).timestamp()


def week(**days: list[tuple[str, str]]) -> tuple[tuple[tuple[dt.time, dt.time], ...], ...]:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return tuple(
        tuple((dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in days.get(n, []))
        for n in names
    )


WORKWEEK = week(**{d: [("09:00", "17:30")] for d in ("mon", "tue", "wed", "thu", "fri")},
                sat=[("10:00", "14:00")])
NL = CallingWindows(weekly=WORKWEEK)


def windows(text: str) -> CallingWindows:
    return parse_campaign("name: t\n" + text, "c.yaml").windows


# -- DST --------------------------------------------------------------------------------

def test_spring_forward_weekend_next_open_is_monday_nine_local_summer_time() -> None:
    # Sat 28 March 2026 after the Saturday window; Sunday 29th is both closed and the DST day.
    assert NL.next_open(at(2026, 3, 28, 15)) == utc(2026, 3, 30, 7)   # 09:00 CEST
    assert NL.next_open(at(2026, 3, 27, 18)) == utc(2026, 3, 28, 9)   # Sat 10:00 CET


def test_fall_back_weekend_next_open_is_monday_nine_local_winter_time() -> None:
    assert NL.next_open(at(2026, 10, 24, 15)) == utc(2026, 10, 26, 8)  # 09:00 CET
    assert not NL.is_open(utc(2026, 10, 26, 7, 30))                    # 08:30 local
    assert NL.is_open(utc(2026, 10, 26, 8, 0))


def test_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    cw = CallingWindows(weekly=week(sun=[("02:30", "04:00")]), jurisdiction=Jurisdiction.NONE,
                        holidays_off=False)
    day_before = at(2026, 3, 28, 12)
    assert cw.next_open(day_before) == utc(2026, 3, 29, 1)          # 03:00 CEST, not a day later
    assert cw.current_window_end(utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 29, 2)  # 04:00 CEST
    assert not cw.is_open(utc(2026, 3, 29, 0, 59))
    assert cw.next_open(utc(2026, 3, 29, 2)) == utc(2026, 4, 5, 0, 30)  # next Sunday, 02:30 CEST


def test_window_in_the_repeated_hour_starts_at_its_first_occurrence() -> None:
    cw = CallingWindows(weekly=week(sun=[("02:30", "03:30")]), jurisdiction=Jurisdiction.NONE,
                        holidays_off=False)
    assert cw.next_open(utc(2026, 10, 24, 12)) == utc(2026, 10, 25, 0, 30)   # first 02:30 (CEST)
    assert cw.current_window_end(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 2, 30)  # 03:30 CET
    assert cw.is_open(utc(2026, 10, 25, 1, 45))                              # second 02:45 (CET)


def test_new_york_debtor_is_called_in_new_york_hours_also_across_us_dst() -> None:
    cw = CallingWindows(weekly=week(**{d: [("09:00", "17:00")] for d in ("mon", "fri")}),
                        jurisdiction=Jurisdiction.US, holidays_off=False)
    monday_1330_utc = utc(2026, 1, 5, 13, 30)        # 08:30 in New York, 14:30 in Amsterdam
    assert not cw.is_open(monday_1330_utc, NY)
    assert cw.is_open(monday_1330_utc, AMS)
    assert cw.next_open(monday_1330_utc, NY) == utc(2026, 1, 5, 14)       # 09:00 EST
    # US clocks go forward on Sunday 8 March 2026: Monday 09:00 EDT is 13:00 UTC.
    assert cw.next_open(at(2026, 3, 6, 18, tz=NY), NY) == utc(2026, 3, 9, 13)


# -- closed days ------------------------------------------------------------------------

def test_koningsdag_and_sunday_are_skipped() -> None:
    # Sat 25 April 2026 after closing: Sunday closed, Monday 27 April is King's Day.
    assert NL.next_open(at(2026, 4, 25, 14)) == at(2026, 4, 28, 9)


def test_christmas_and_an_extra_closed_date_are_skipped() -> None:
    cw = CallingWindows(weekly=WORKWEEK, extra_closed_dates=frozenset({dt.date(2026, 12, 24)}))
    # Thu 24 closed by the campaign, Fri 25 and Sat 26 Christmas, Sun 27 Sunday.
    assert cw.next_open(at(2026, 12, 23, 18)) == at(2026, 12, 28, 9)
    assert NL.next_open(at(2026, 12, 23, 18)) == at(2026, 12, 24, 9)


def test_liberation_day_is_closed_in_nl_every_year() -> None:
    assert not NL.is_open(at(2026, 5, 5, 10))        # a Tuesday, not a lustrum year
    assert NL.next_open(at(2026, 5, 5, 10)) == at(2026, 5, 6, 9)


def test_us_federal_holidays_are_optional() -> None:
    mlk_day = at(2026, 1, 19, 10, tz=NY)
    days = week(mon=[("09:00", "17:00")])
    closed = CallingWindows(weekly=days, jurisdiction=Jurisdiction.US, holidays_off=True)
    open_ = CallingWindows(weekly=days, jurisdiction=Jurisdiction.US, holidays_off=False)
    assert not closed.is_open(mlk_day, NY)
    assert open_.is_open(mlk_day, NY)


def test_nl_envelope_is_enforced_even_on_a_hand_built_object() -> None:
    cw = CallingWindows(weekly=week(mon=[("06:00", "22:00")], sun=[("10:00", "12:00")]),
                        holidays_off=False)
    assert not cw.is_open(at(2026, 1, 5, 6, 30))
    assert cw.next_open(at(2026, 1, 5, 6, 30)) == at(2026, 1, 5, 7)
    assert cw.current_window_end(at(2026, 1, 5, 12)) == at(2026, 1, 5, 20)
    assert not cw.is_open(at(2026, 1, 11, 11))       # Sunday
    assert not cw.is_open(at(2026, 4, 27, 10))       # King's Day (a Monday): NL holidays stay closed


def test_window_end_is_exclusive_and_current_window_end() -> None:
    cw = CallingWindows(weekly=week(mon=[("09:00", "12:00"), ("13:00", "17:30")]))
    assert cw.next_open(at(2026, 1, 5, 9)) == at(2026, 1, 5, 9)
    assert cw.current_window_end(at(2026, 1, 5, 10)) == at(2026, 1, 5, 12)
    assert cw.current_window_end(at(2026, 1, 5, 12, 30)) is None
    assert cw.next_open(at(2026, 1, 5, 12)) == at(2026, 1, 5, 13)


def test_touching_windows_across_midnight_form_one_window() -> None:
    cw = windows("jurisdiction: none\ncalling_hours:\n  holidays: false\n"
                 "  weekly: {mon: [\"22:00-24:00\"], tue: [\"00:00-02:00\"]}\n")
    assert cw.current_window_end(at(2026, 1, 5, 23)) == at(2026, 1, 6, 2)


def test_no_window_within_horizon_gives_none() -> None:
    cw = windows("calling_hours:\n  weekly: {}\n")
    assert cw.next_open(at(2026, 1, 5, 10)) is None


def test_debtor_without_timezone_uses_the_campaign_zone() -> None:
    cw = windows("jurisdiction: US\ncalling_hours:\n  timezone: America/New_York\n"
                 "  weekly: {mon: [\"09:00-17:00\"]}\n")
    assert cw.next_open(utc(2026, 1, 5, 12), None) == utc(2026, 1, 5, 14)


# -- configuration errors ----------------------------------------------------------------

def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_campaign("name: t\n" + text, "c.yaml")
    return info.value


def test_nl_window_until_21_is_refused_with_the_limit_and_line() -> None:
    err = refused("calling_hours:\n  weekly:\n    mon: [\"09:00-21:00\"]\n")
    assert "calling_hours.weekly.mon[0]" in str(err)
    assert "ends after 20:00" in str(err) and "NL collection rules" in str(err)
    assert err.where == "c.yaml, line 4"


def test_nl_window_before_seven_is_refused() -> None:
    err = refused("calling_hours:\n  weekly:\n    tue: [\"09:00-10:00\", \"06:30-08:00\"]\n")
    assert 'calling_hours.weekly.tue[1]: "06:30-08:00" starts before 07:00' in str(err)


def test_sunday_is_refused_under_nl() -> None:
    err = refused("calling_hours:\n  weekly:\n    mon: [\"09:00-17:00\"]\n    sun: [\"10:00-12:00\"]\n")
    assert str(err).startswith("c.yaml, line 5: calling_hours.weekly.sun:")
    assert "forbid calls on Sundays" in str(err)


def test_sunday_and_late_evening_are_fine_without_a_jurisdiction() -> None:
    cw = windows("jurisdiction: none\ncalling_hours:\n  weekly: {sun: [\"10:00-22:00\"]}\n")
    assert cw.is_open(at(2026, 1, 11, 21))


def test_nl_holidays_off_cannot_be_disabled() -> None:
    err = refused("calling_hours:\n  holidays: false\n")
    assert "calling_hours.holidays" in str(err) and "public holidays" in str(err)
    assert err.where == "c.yaml, line 3"


def test_window_ending_before_it_starts_is_refused() -> None:
    err = refused("calling_hours:\n  weekly:\n    mon: [\"17:00-09:00\"]\n")
    assert "calling_hours.weekly.mon[0]" in str(err) and "ends before it starts" in str(err)


def test_overlapping_windows_are_refused() -> None:
    err = refused("calling_hours:\n  weekly:\n    wed: [\"09:00-12:00\", \"11:00-14:00\"]\n")
    assert "calling_hours.weekly.wed[1]" in str(err) and "overlaps" in str(err)


@pytest.mark.parametrize("bad", ['"9-17"', '"09:00 to 17:00"', '"09:75-17:00"', "[\"09:00\"]", "42"])
def test_bad_window_text_is_refused_with_the_format(bad: str) -> None:
    err = refused(f"calling_hours:\n  weekly:\n    mon: [{bad}]\n")
    assert "calling_hours.weekly.mon[0]" in str(err)
    assert '"09:00-17:30"' in str(err)


def test_unquoted_time_in_a_list_gets_a_quoting_hint() -> None:
    err = refused("calling_hours:\n  weekly:\n    mon: [[\"09:00\", 17:30]]\n")
    assert '"17:30"' in str(err) and "quoted" in str(err)


def test_two_item_list_window_is_accepted() -> None:
    cw = windows("calling_hours:\n  weekly:\n    mon: [[\"08:00\", \"12:00\"]]\n")
    assert cw.is_open(at(2026, 1, 5, 8)) and not cw.is_open(at(2026, 1, 6, 8))


def test_unknown_timezone_and_day_are_refused() -> None:
    err = refused("calling_hours:\n  timezone: Europe/Amsterdamm\n")
    assert "calling_hours.timezone" in str(err) and err.where == "c.yaml, line 3"
    err = refused("calling_hours:\n  weekly:\n    monday: [\"09:00-12:00\"]\n")
    assert "calling_hours.weekly.monday: unknown key" in str(err) and "mon, " in str(err)


@pytest.mark.parametrize(("when", "because", "by_law", "opens"), [
    (at(2026, 12, 6, 12), "Sunday; NL rules", True, at(2026, 12, 7, 9)),
    (at(2026, 12, 25, 12), "public holiday; NL rules", True, at(2026, 12, 28, 9)),   # Christmas, a Friday
    (at(2026, 12, 7, 18), "outside calling hours (Monday)", False, at(2026, 12, 8, 9)),
    (at(2026, 12, 7, 10), None, False, at(2026, 12, 7, 10)),
])
def test_the_window_state_says_why_it_is_closed_and_whether_the_law_closes_it(
        when: float, because: str | None, by_law: bool, opens: float) -> None:
    state = NL.state(when)
    assert (state.open, state.closed_because, state.closed_by_law, state.opens_at) == (
        because is None, because, by_law, opens)


def test_hours_beyond_the_envelope_are_closed_by_the_law_not_the_campaign() -> None:
    late = CallingWindows(weekly=week(mon=[("09:00", "22:00")]))     # built by hand: the file would refuse it
    state = late.state(at(2026, 12, 7, 21))
    assert (state.closed_because, state.closed_by_law) == ("outside NL rules' hours", True)
    assert state.opens_at == at(2026, 12, 14, 9)
