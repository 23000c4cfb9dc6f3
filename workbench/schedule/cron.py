"""Cron + IANA zone → slot instants, with one stated DST policy (docs/schedule.md).

A cron expression names *wall-clock* times in the report's zone. croniter walks them
on naive local times (Vixie semantics: day-of-month and day-of-week are a union), and
this module turns each into real instants:

* a local time that exists once is that instant;
* a local time that does not exist (the spring-forward gap) fires **once, at the first
  valid instant after it** (the transition itself: Berlin's 02:30 on the last Sunday
  of March fires at 03:00 CEST = 01:00 UTC); several nonexistent times of one gap
  (``*/15``) collapse into that one instant, which a time just after the gap may share;
* a local time that happens twice (fall back) fires **once, at its first occurrence**,
  unless the hour field is ``*`` (hourly and sub-hourly schedules), which fire at both
  occurrences: once per real instant, so an hourly job runs every real hour.

Slots are UTC instants, sorted and distinct: the run log knows a slot by its UTC
instant only (``(report, slot)``), so editing a schedule never re-runs a slot.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Iterator

from croniter import CroniterBadDateError, croniter

from ..errors import ConfigError

UTC = dt.UTC
NORMAL, GAP, FOLD_FIRST, FOLD_SECOND = "normal", "gap", "fold-first", "fold-second"


@dataclass(frozen=True, order=True)
class Fire:
    """One slot: its UTC instant, and the wall-clock time the cron named (and how it mapped)."""

    instant: dt.datetime  # aware, UTC
    wall: dt.datetime     # naive local time the cron expression matched
    kind: str = NORMAL    # NORMAL, GAP (shifted to the end of the gap), FOLD_FIRST, FOLD_SECOND

    def local(self, zone: dt.tzinfo) -> dt.datetime:
        return self.instant.astimezone(zone)


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC") from None


def _utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("an instant needs a time zone")
    return t.astimezone(UTC)


def _first_valid_after(wall: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The first instant whose local time is at or after ``wall`` (a nonexistent local time)."""
    lo = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)   # the offset after the gap: lands before it
    hi = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)   # the offset before: lands after it
    if lo > hi:
        lo, hi = hi, lo
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp()) + 1
    while lo_s < hi_s:  # first second whose wall time is >= wall
        mid = (lo_s + hi_s) // 2
        if dt.datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi_s = mid
        else:
            lo_s = mid + 1
    return dt.datetime.fromtimestamp(lo_s, UTC)


class Schedule:
    """A cron expression in a zone; see the module doc for the DST policy."""

    def __init__(self, expr: str, zone: str = "UTC"):
        fields = expr.split()
        if len(fields) != 5 or not croniter.is_valid(expr):
            raise ConfigError(f"{expr!r} is not a five-field cron expression; write MINUTE HOUR DAY MONTH WEEKDAY, "
                              "e.g. '30 6 * * *'")
        self.expr = " ".join(fields)
        self.zone_name = zone
        self.zone = zone_of(zone)
        self.every_hour = fields[1] == "*"  # fires at both occurrences of a repeated hour

    def __repr__(self) -> str:
        return f"Schedule({self.expr!r}, {self.zone_name!r})"

    def _map(self, wall: dt.datetime) -> list[Fire]:
        zone = self.zone
        a = wall.replace(tzinfo=zone, fold=0)
        b = wall.replace(tzinfo=zone, fold=1)
        ua, ub = a.astimezone(UTC), b.astimezone(UTC)

        def exists(u: dt.datetime) -> bool:
            return u.astimezone(zone).replace(tzinfo=None) == wall

        if ua == ub:
            return [Fire(ua, wall)]
        if exists(ua) and exists(ub):  # a repeated local time
            first, second = sorted((ua, ub))
            out = [Fire(first, wall, FOLD_FIRST)]
            if self.every_hour:
                out.append(Fire(second, wall, FOLD_SECOND))
            return out
        return [Fire(_first_valid_after(wall, zone), wall, GAP)]

    def fires(self, start: dt.datetime, end: dt.datetime) -> list[Fire]:
        """The slots with ``start < instant <= end`` (aware datetimes), oldest first, one per instant."""
        start, end = _utc(start), _utc(end)
        if end <= start:
            return []
        # walk wall-clock times from a day before (a gap or fold can move a time by hours)
        wall = start.astimezone(self.zone).replace(tzinfo=None) - dt.timedelta(days=1)
        stop = end.astimezone(self.zone).replace(tzinfo=None) + dt.timedelta(days=1)
        it = croniter(self.expr, wall, day_or=True)
        seen: dict[dt.datetime, Fire] = {}
        while True:
            try:
                w = it.get_next(dt.datetime)
            except CroniterBadDateError:  # never fires again (e.g. 30 February)
                break
            if w > stop:
                break
            for f in self._map(w):
                if start < f.instant <= end and f.instant not in seen:
                    seen[f.instant] = f
        return [seen[k] for k in sorted(seen)]

    def instants(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        return [f.instant for f in self.fires(start, end)]

    def next_after(self, t: dt.datetime, horizon_days: int = 366 * 8) -> Fire | None:
        """The first slot strictly after ``t`` (None if the expression never fires, e.g. 30 February)."""
        t = _utc(t)
        span = dt.timedelta(days=2)
        while span <= dt.timedelta(days=horizon_days):
            found = self.fires(t, t + span)
            if found:
                return found[0]
            span *= 4
        return None

    def last_at_or_before(self, t: dt.datetime, horizon_days: int = 366 * 8) -> Fire | None:
        """The latest slot at or before ``t``."""
        t = _utc(t)
        span = dt.timedelta(days=2)
        while span <= dt.timedelta(days=horizon_days):
            found = self.fires(t - span, t)
            if found:
                return found[-1]
            span *= 4
        return None

    def iter_after(self, t: dt.datetime) -> Iterator[Fire]:
        """Slots after ``t``, forever (a day's window at a time)."""
        t = _utc(t)
        while True:
            nxt = self.next_after(t)
            if nxt is None:
                return
            chunk = self.fires(t, max(nxt.instant, t + dt.timedelta(days=1)))
            yield from chunk
            t = chunk[-1].instant


def _day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The first instant (UTC) of local ``day`` (its midnight may be repeated or not exist)."""
    wall = dt.datetime.combine(day, dt.time())
    u = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if u.astimezone(zone).replace(tzinfo=None) == wall:
        return u
    return _first_valid_after(wall, zone)


def transition(day: dt.date, zone: dt.tzinfo) -> tuple[dt.timedelta, dt.timedelta] | None:
    """``(offset before, offset after)`` if the UTC offset changes during local ``day``, else None.

    A change at local midnight (America/Santiago, America/Havana) belongs to the day whose
    first hour it moves.
    """
    start = _day_start(day, zone)
    end = _day_start(day + dt.timedelta(days=1), zone)
    before = (start - dt.timedelta(seconds=1)).astimezone(zone).utcoffset()
    after = (end - dt.timedelta(seconds=1)).astimezone(zone).utcoffset()
    return (before, after) if before != after else None


def slot_value(instant: dt.datetime, zone: dt.tzinfo, offset_seconds: float, kind: str) -> dt.date | dt.datetime:
    """What ``slot_parameter`` receives: the slot's local date (``date``) or local datetime
    (``datetime``, naive wall time), after adding ``slot_offset`` on the wall clock."""
    local = instant.astimezone(zone).replace(tzinfo=None) + dt.timedelta(seconds=offset_seconds)
    return local.date() if kind == "date" else local
