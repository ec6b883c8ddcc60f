"""The receipt rules (docs/domain.md §1 step 2): of an agency's receipts, which one stands.

In: one agency's rows of ``receipts.csv`` as :func:`ictaudit.intake.cycle.read_receipts` gives them
(``received_on`` a date or None, ``received_at`` an aware timestamp or None, ``line``), the identity
of each row's file (the sha256 of its bytes; the name when it cannot be hashed), the deadline and
the cycle's clock. Out: a :class:`ReceiptDecision` saying which receipt stands, whether it is on
time, and every other receipt with why it is not used. Pure: nothing is read here.

The rules, in this order:

1. **When.** A receipt written by ``ictaudit receive`` has ``received_at``, the moment the mail
   reached the DIC: its day is taken on the cycle's clock (``timezone``, Asia/Ho_Chi_Minh by
   default), so 06:30 +07:00 on the day after the deadline is late although it is still the deadline
   day in UTC. A receipt typed by hand has only ``received_on``, a day: it counts as received at
   the end of that day (write a ``received_at`` to place it earlier). Receipts are ordered by that
   moment, then by their line in the register.
2. **The same bytes twice count once**, at their first arrival; a later arrival of the same file is
   a duplicate.
3. **On time** means received on or before the deadline day. Of several distinct files received on
   time, **the last received stands** and the earlier ones are superseded; a file received after the
   deadline **never replaces** an on-time one (it is listed, not used).
4. With no file on time, the agency is late; its last file is the one read (its numbers are shown).

A receipt whose date cannot be read at all makes the agency invalid (intake says so, I16): which
form is on time, and which one stands, cannot be judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

from ictaudit.common.dates import zone
from ictaudit.common.numfmt import fmt_date


@dataclass(frozen=True)
class Arrival:
    """One dated receipt: its register row, its day and moment on the cycle's clock, its file's identity."""

    row: dict
    day: date
    moment: datetime  # on the cycle's clock; the end of ``day`` for a receipt without a time
    timed: bool  # True when the register gives the time (``received_at``)
    identity: str

    @property
    def file(self) -> str:
        return self.row["file"]

    @property
    def line(self) -> int:
        line = self.row.get("line")
        return 0 if _missing(line) else int(line)

    def received(self) -> str:
        """When it was received, as the messages say it: ``03/11/2018`` or ``03/11/2018 lúc 06:30``."""
        return fmt_date(self.day) + (f" lúc {self.moment:%H:%M}" if self.timed else "")


@dataclass(frozen=True)
class ReceiptDecision:
    """What an agency's receipts come to.

    ``standing`` is the receipt whose file is read (None without receipts, or with an undated one);
    ``on_time`` whether it was received by the deadline. ``superseded``, ``late_unused`` and
    ``duplicates`` hold (receipt, the receipt it yields to) pairs; ``undated`` the rows without a
    date; ``untimed`` the rows whose ``received_at`` is not a timestamp (their ``received_on`` is used).
    """

    standing: Arrival | None = None
    on_time: bool = False
    superseded: tuple[tuple[Arrival, Arrival], ...] = ()
    late_unused: tuple[tuple[Arrival, Arrival], ...] = ()
    duplicates: tuple[tuple[Arrival, Arrival], ...] = ()
    undated: tuple[dict, ...] = ()
    untimed: tuple[dict, ...] = ()

    @property
    def not_used(self) -> list[tuple[str, Arrival, Arrival]]:
        """Every receipt that is not read, with why (``superseded``, ``late_unused``, ``duplicate``), by line."""
        out = [("superseded", a, b) for a, b in self.superseded]
        out += [("late_unused", a, b) for a, b in self.late_unused]
        out += [("duplicate", a, b) for a, b in self.duplicates]
        return sorted(out, key=lambda item: item[1].line)


def decide_receipts(
    rows: Sequence[dict], identity_of: Callable[[str], str], deadline: date, timezone: str
) -> ReceiptDecision:
    """Apply the receipt rules to one agency's register rows (see the module's docstring).

    ``identity_of(file)`` names what a file holds (its sha256): two rows whose files have the same
    identity are the same submission.
    """
    if not rows:
        return ReceiptDecision()
    tz = zone(timezone)
    if len(rows) == 1:  # nearly every agency: nothing to order or to compare
        row = rows[0]
        untimed = (row,) if _given(row.get("received_at_text")) and _missing(row.get("received_at")) else ()
        if _missing(row.get("received_at")) and _missing(row.get("received_on")):
            return ReceiptDecision(undated=(row,), untimed=untimed)
        arrival = _arrival(row, str, tz)
        return ReceiptDecision(arrival, arrival.day <= deadline, untimed=untimed)
    untimed = tuple(r for r in rows if _given(r.get("received_at_text")) and _missing(r.get("received_at")))
    undated = tuple(r for r in rows if _missing(r.get("received_at")) and _missing(r.get("received_on")))
    if undated:
        return ReceiptDecision(undated=undated, untimed=untimed)
    arrivals = sorted((_arrival(r, identity_of, tz) for r in rows), key=lambda a: (a.moment, a.line))
    first_of: dict[str, Arrival] = {}
    distinct: list[Arrival] = []
    duplicates = []
    for a in arrivals:
        if a.identity in first_of:
            duplicates.append((a, first_of[a.identity]))
        else:
            first_of[a.identity] = a
            distinct.append(a)
    on_time = [a for a in distinct if a.day <= deadline]
    late = [a for a in distinct if a.day > deadline]
    if on_time:
        standing = on_time[-1]
        superseded = tuple((a, standing) for a in on_time[:-1])
        late_unused = tuple((a, standing) for a in late)
    else:
        standing = late[-1]
        superseded = tuple((a, standing) for a in late[:-1])
        late_unused = ()
    return ReceiptDecision(standing, bool(on_time), superseded, late_unused, tuple(duplicates), (), untimed)


def _arrival(row: dict, identity_of: Callable[[str], str], tz: ZoneInfo) -> Arrival:
    stamp = row.get("received_at")
    if not _missing(stamp):
        moment = stamp.astimezone(tz)
        return Arrival(row, moment.date(), moment, True, identity_of(row["file"]))
    day = row["received_on"]
    return Arrival(row, day, datetime.combine(day, time.max, tzinfo=tz), False, identity_of(row["file"]))


def _missing(value) -> bool:
    """None, NaN or NaT: what an empty cell of the register is once read (cheap: 10,000 agencies call it)."""
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def _given(text) -> bool:
    return isinstance(text, str) and bool(text.strip())
