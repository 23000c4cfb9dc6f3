"""Cron slots in a zone: the DST policy in Berlin, New York and a midnight-transition zone (Santiago, Havana).

An injected clock only: no test here sleeps or starts a kernel.
"""

from __future__ import annotations

import datetime as dt

import pytest
from croniter import croniter

from workbench.errors import ConfigError
from workbench.schedule.cron import FOLD_FIRST, FOLD_SECOND, GAP, Schedule, slot_value, transition, zone_of
from workbench.schedule.slots import due, in_range

U = dt.UTC


def utc(*a):
    return dt.datetime(*a, tzinfo=U)


def day_fires(expr, zone, day):
    return in_range(Schedule(expr, zone), day, day)


@pytest.mark.parametrize("zone, day, wall, expect_utc", [
    ("Europe/Berlin", dt.date(2026, 3, 29), "30 2 * * *", utc(2026, 3, 29, 1, 0)),      # 02:30 missing → 03:00 CEST
    ("America/New_York", dt.date(2026, 3, 8), "30 2 * * *", utc(2026, 3, 8, 7, 0)),     # 02:30 missing → 03:00 EDT
    ("America/Santiago", dt.date(2026, 9, 6), "0 0 * * *", utc(2026, 9, 6, 4, 0)),      # midnight missing → 01:00
    ("America/Havana", dt.date(2026, 3, 8), "30 0 * * *", utc(2026, 3, 8, 5, 0)),       # 00:30 missing → 01:00 CDT
])
def test_a_nonexistent_local_time_fires_once_at_the_first_valid_instant_after_it(zone, day, wall, expect_utc):
    fires = day_fires(wall, zone, day)
    assert [f.instant for f in fires] == [expect_utc]
    assert fires[0].kind == GAP
    assert transition(day, zone_of(zone)) is not None


@pytest.mark.parametrize("zone, day, expr, expect_utc", [
    ("Europe/Berlin", dt.date(2026, 10, 25), "30 2 * * *", utc(2026, 10, 25, 0, 30)),     # first 02:30 (CEST)
    ("America/New_York", dt.date(2026, 11, 1), "30 1 * * *", utc(2026, 11, 1, 5, 30)),   # first 01:30 (EDT)
    ("America/Santiago", dt.date(2026, 4, 4), "30 23 * * *", utc(2026, 4, 5, 2, 30)),    # 23:30 twice (midnight change)
    ("America/Havana", dt.date(2026, 11, 1), "30 0 * * *", utc(2026, 11, 1, 4, 30)),      # 00:30 twice (CDT first)
])
def test_a_repeated_local_time_fires_once_for_a_daily_schedule(zone, day, expr, expect_utc):
    fires = day_fires(expr, zone, day)
    assert [f.instant for f in fires] == [expect_utc]
    assert fires[0].kind == FOLD_FIRST


@pytest.mark.parametrize("zone, day, raw_expected, ours_expected", [
    # 01:30 happens twice in both zones: first in summer time, an hour later in winter time
    ("America/New_York", dt.date(2026, 11, 1), [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 30)],
     [utc(2026, 11, 1, 5, 30)]),
    ("Europe/London", dt.date(2026, 10, 25), [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)],
     [utc(2026, 10, 25, 0, 30)]),
])
def test_raw_croniter_fires_twice_on_the_fall_back_day_and_we_do_not(zone, day, raw_expected, ours_expected):
    """The anchor's bug, shown: croniter (7.0.0 here) fires a daily ``30 1 * * *`` at both
    01:30s of the fall-back day; our schedule fires once, at the first."""
    tz = zone_of(zone)
    start = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(12), tz)
    it = croniter("30 1 * * *", start)
    raw = [it.get_next(dt.datetime) for _ in range(4)]
    raw_that_day = [t.astimezone(U) for t in raw if t.astimezone(tz).date() == day]
    assert raw_that_day == raw_expected  # twice: the same wall time, two real instants an hour apart
    assert [t.astimezone(tz).strftime("%H:%M") for t in raw_that_day] == ["01:30", "01:30"]
    ours = Schedule("30 1 * * *", zone).instants(start.astimezone(U), start.astimezone(U) + dt.timedelta(days=3))
    assert [t for t in ours if t.astimezone(tz).date() == day] == ours_expected
    assert len(ours) == 3  # one a day: the fall-back day and the two after it


@pytest.mark.parametrize("zone, start, end, step", [
    ("Europe/Berlin", utc(2026, 10, 24, 22), utc(2026, 10, 25, 3), 15),
    ("America/New_York", utc(2026, 11, 1, 3), utc(2026, 11, 1, 8), 15),
    ("Europe/Berlin", utc(2026, 3, 28, 23), utc(2026, 3, 29, 3), 15),
    ("America/Santiago", utc(2026, 9, 6, 1), utc(2026, 9, 6, 6), 15),
    ("America/Havana", utc(2026, 11, 1, 2), utc(2026, 11, 1, 7), 15),
])
def test_sub_hourly_schedules_fire_once_per_real_instant(zone, start, end, step):
    got = Schedule(f"*/{step} * * * *", zone).instants(start, end)
    assert got == sorted(set(got))
    expected = []
    t = start + dt.timedelta(minutes=step)
    while t <= end:
        expected.append(t)
        t += dt.timedelta(minutes=step)
    # every real quarter hour fires exactly once (in a gap, the missing ones collapse into its end,
    # which is itself a quarter hour in these zones)
    assert got == expected


def test_kinds_on_a_fall_back_night_for_an_every_hour_schedule():
    fires = Schedule("30 * * * *", "Europe/Berlin").fires(utc(2026, 10, 24, 23), utc(2026, 10, 25, 2))
    assert [(f.instant.hour, f.instant.minute, f.kind) for f in fires] == [
        (23, 30, "normal"), (0, 30, FOLD_FIRST), (1, 30, FOLD_SECOND)]


def test_slot_value_is_the_local_date_or_datetime_shifted_by_the_offset():
    inst = utc(2026, 11, 5, 5, 30)
    assert slot_value(inst, zone_of("Europe/Berlin"), -86400, "date") == dt.date(2026, 11, 4)
    assert slot_value(inst, zone_of("Europe/Berlin"), 0, "datetime") == dt.datetime(2026, 11, 5, 6, 30)
    assert slot_value(utc(2026, 11, 5, 23, 30), zone_of("Europe/Berlin"), 0, "date") == dt.date(2026, 11, 6)


def test_bad_cron_and_unknown_zone_are_config_errors():
    with pytest.raises(ConfigError, match="five-field"):
        Schedule("61 6 * * *")
    with pytest.raises(ConfigError, match="IANA"):
        Schedule("0 6 * * *", "Mars/Olympus")


def test_never_firing_schedule_has_no_next():
    assert Schedule("0 0 30 2 *").next_after(utc(2026, 1, 1)) is None


S = Schedule("30 6 * * *", "Europe/Berlin")  # 05:30Z in winter


def test_catchup_none_latest_all_after_downtime():
    now = utc(2026, 11, 10, 5, 30, 30)  # on time for the 10th; the 6th..9th were missed
    last = utc(2026, 11, 5, 5, 30)
    assert due(S, now, last, "none", 5) == [utc(2026, 11, 10, 5, 30)]
    assert due(S, now, last, "latest", 5) == [utc(2026, 11, 10, 5, 30)]
    assert due(S, now, last, "all", 2) == [utc(2026, 11, 8, 5, 30), utc(2026, 11, 9, 5, 30), utc(2026, 11, 10, 5, 30)]
    later = utc(2026, 11, 10, 9)  # nothing on time: only the missed ones
    assert due(S, later, last, "none", 5) == []
    assert due(S, later, last, "latest", 5) == [utc(2026, 11, 10, 5, 30)]
    assert due(S, later, last, "all", 10) == [utc(2026, 11, d, 5, 30) for d in range(6, 11)]


def test_a_forward_jump_follows_the_policy_and_a_backward_jump_reruns_nothing():
    last = utc(2026, 11, 5, 5, 30)
    jumped = utc(2026, 11, 8, 12)  # the clock jumped three days forward
    assert due(S, jumped, last, "latest", 5) == [utc(2026, 11, 8, 5, 30)]
    assert due(S, jumped, last, "all", 5) == [utc(2026, 11, d, 5, 30) for d in (6, 7, 8)]
    back = utc(2026, 11, 3, 5, 30, 10)  # went back behind slots already claimed
    for policy in ("none", "latest", "all"):
        assert due(S, back, last, policy, 5) == []


def test_a_report_never_scheduled_starts_with_what_is_on_time():
    assert due(S, utc(2026, 11, 10, 5, 31), None, "all", 5) == [utc(2026, 11, 10, 5, 30)]
    assert due(S, utc(2026, 11, 10, 9), None, "all", 5) == []


def test_backfill_range_is_local_days_inclusive():
    fires = in_range(S, dt.date(2026, 10, 24), dt.date(2026, 10, 26))
    assert [f.instant for f in fires] == [utc(2026, 10, 24, 4, 30), utc(2026, 10, 25, 5, 30), utc(2026, 10, 26, 5, 30)]
