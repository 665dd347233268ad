"""UTC days: which daily partition an event lands in, which partitions to make ahead and which to drop."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

# The service's notion of now; tests pass another to move "today".
Clock = Callable[[], datetime]
PREFIX = "product_events_p"
_NAME = re.compile(rf"^{PREFIX}(\d{{8}})$")


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_day(moment: datetime) -> date:
    """The UTC day of an aware time: 00:30 at +02:00 on the 2nd is the 1st."""
    if moment.tzinfo is UTC:  # events' times are (ProductEvent makes them so): no conversion
        return moment.date()
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(UTC).date()


def partition_name(day: date) -> str:
    """`product_events_pYYYYMMDD`, as the migration's product_events_create_partition() names it."""
    return f"{PREFIX}{day:%Y%m%d}"


def partition_day(name: str) -> date | None:
    """The day of a daily partition's name; None for any other table."""
    match = _NAME.match(name)
    if match is None:
        return None
    digits = match.group(1)
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def retention_cutoff(today: date, retention_days: int) -> date:
    """The first day kept: events, partitions and activity of earlier days are dropped."""
    return today - timedelta(days=retention_days)


def days_ahead(today: date, ahead_days: int) -> list[date]:
    """Today and the `ahead_days` days after it: the partitions that must exist before events arrive."""
    return [today + timedelta(days=n) for n in range(ahead_days + 1)]
