"""Which slots are due: catch-up after downtime or a clock jump, and backfill ranges.

A slot is *on time* when its instant is at most :data:`ON_TIME` seconds in the past:
it runs under every policy. Older slots that nobody claimed are *missed*; the report's
``catchup`` decides: ``none`` runs none of them, ``latest`` only the newest, ``all``
the newest ``max_catchup`` of them, oldest first. Missed slots are looked for after the
report's latest claimed slot only (and at most :data:`LOOKBACK` back), so a backward
clock jump, whose "now" lies before slots already claimed, re-runs nothing; a report
never scheduled before starts with what is on time now.
"""

from __future__ import annotations

import datetime as dt

from .cron import Fire, Schedule, _day_start

ON_TIME = 120.0                     # seconds a slot may be late and still count as on time
LOOKBACK = dt.timedelta(days=40)    # how far back missed slots are looked for


def due(schedule: Schedule, now: dt.datetime, last_claimed: dt.datetime | None, catchup: str,
        max_catchup: int, on_time: float = ON_TIME) -> list[dt.datetime]:
    """The slots to claim at ``now`` (UTC instants, oldest first) under the catch-up policy."""
    now = now.astimezone(dt.UTC)
    horizon = last_claimed if last_claimed is not None else now - dt.timedelta(seconds=on_time)
    horizon = max(horizon, now - LOOKBACK)
    if horizon >= now:  # the clock went back behind what already ran: nothing new is due
        return []
    slots = schedule.instants(horizon, now)
    on = [s for s in slots if (now - s).total_seconds() <= on_time]
    late = [s for s in slots if (now - s).total_seconds() > on_time]
    if catchup == "none":
        picked = []
    elif catchup == "latest":
        picked = late[-1:] if not on else []
    else:
        picked = late[-max_catchup:]
    return picked + on


def in_range(schedule: Schedule, first: dt.date, last: dt.date) -> list[Fire]:
    """The slots the schedule fires on the local days ``first`` .. ``last`` (inclusive)."""
    if last < first:
        return []
    start = _day_start(first, schedule.zone) - dt.timedelta(microseconds=1)
    end = _day_start(last + dt.timedelta(days=1), schedule.zone) - dt.timedelta(microseconds=1)
    return schedule.fires(start, end)
