"""``workbench schedule preview``: the next fire times, one a line, with the DST policy shown.

Each line: the slot's local time with its UTC offset, then its UTC instant; a day on
which the zone's offset changes is marked, and a slot moved by the policy says how
(a nonexistent time fired at the end of the gap, a repeated time fired once or twice).
"""

from __future__ import annotations

import datetime as dt

from ..config import Config
from .cron import FOLD_FIRST, FOLD_SECOND, GAP, transition
from .loop import check
from .slots import in_range


def _offset(td: dt.timedelta) -> str:
    minutes = int(td.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def lines(cfg: Config, name: str, start: dt.date | None, days: int, today: dt.date | None = None) -> list[str]:
    s = check(cfg, name)[name]
    zone = s.schedule.zone
    first = start or (today or dt.datetime.now(zone).date())
    last = first + dt.timedelta(days=days - 1)
    out = [f"{name}: {s.rc.schedule} in {s.rc.timezone} (nonexistent local times fire at the first valid instant "
           f"after them; repeated ones fire once{', at both occurrences for an every-hour schedule' if s.schedule.every_hour else ''})"]
    marked: set[dt.date] = set()
    for f in in_range(s.schedule, first, last):
        local = f.local(zone)
        note = ""
        day = local.date()
        tr = transition(day, zone)
        if tr and day not in marked:
            marked.add(day)
            note = f"  [DST: {_offset(tr[0])} → {_offset(tr[1])} this day]"
        if f.kind == GAP:
            note += f"  [{f.wall:%H:%M} does not exist: fired at the first valid instant after it]"
        elif f.kind == FOLD_FIRST:
            note += f"  [{f.wall:%H:%M} happens twice: " + ("first occurrence]" if s.schedule.every_hour
                                                              else "fires once, at the first]")
        elif f.kind == FOLD_SECOND:
            note += f"  [{f.wall:%H:%M} happens twice: second occurrence]"
        utc = f.instant.isoformat().replace("+00:00", "Z")
        out.append(f"{local:%Y-%m-%d %a %H:%M}{_offset(local.utcoffset())}  {utc}{note}")
    return out
