"""The Founder View's pure shaping: folding small countries, the cohort matrix, ratios. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

# Fewer users than this in a country and it is folded into "other": a count of 1-4 can point at a person.
MIN_COUNTRY_USERS = 5
OTHER = "other"
UNKNOWN = "unknown"
# The scope of users seen in any country, beside one per country (`c:*` in active_user_changes).
ANY_COUNTRY = "*"


def rolling_counts(
    changes: Iterable[tuple[int, date, int]], days: Sequence[date]
) -> dict[int, dict[date, int]]:
    """Active users per window on each of `days`, from the (window, day, delta) rows of a difference
    array: the count on day d is the sum of the window's deltas up to d."""
    per_window: dict[int, list[tuple[date, int]]] = {}
    for win, day, delta in changes:
        per_window.setdefault(win, []).append((day, delta))
    wanted = sorted(days)
    counts: dict[int, dict[date, int]] = {}
    for win, deltas in per_window.items():
        deltas.sort()
        running = i = 0
        counts[win] = {}
        for day in wanted:
            while i < len(deltas) and deltas[i][0] <= day:
                running += deltas[i][1]
                i += 1
            counts[win][day] = running
    return counts


@dataclass(frozen=True, slots=True)
class ChurnCounts:
    previous_active: int
    current_active: int
    churned: int
    new_or_returning: int


def churn(previous: int, current: int, either: int) -> ChurnCounts:
    """From the users active in the previous period, in this one, and in either (the window of both):
    those of the previous period missing from this one, and those of this one missing from the previous."""
    return ChurnCounts(previous, current, either - current, either - previous)


def located(rows: Iterable[tuple[str, int]], active: int) -> list[tuple[str | None, int]]:
    """Per-country users plus the users seen in no country (None): the active users minus those seen
    in any country (`ANY_COUNTRY`). A user seen in two countries counts in both."""
    counted: list[tuple[str | None, int]] = []
    anywhere = 0
    for country, users in rows:
        if country == ANY_COUNTRY:
            anywhere = users
        else:
            counted.append((country, users))
    if active > anywhere:
        counted.append((None, active - anywhere))
    return counted


@dataclass(frozen=True, slots=True)
class CountryCount:
    country: str
    users: int


def fold_countries(
    rows: Iterable[tuple[str | None, int]], minimum: int = MIN_COUNTRY_USERS
) -> list[CountryCount]:
    """Countries ranked by users; those under `minimum` (and unknown ones) are summed into "other"/"unknown".

    "other" itself is shown only if it reaches `minimum` or folds at least two countries, so it cannot
    single out one small country either.
    """
    kept: list[CountryCount] = []
    other = folded = unknown = 0
    for country, users in rows:
        if country is None:
            unknown += users
        elif users >= minimum:
            kept.append(CountryCount(country, users))
        else:
            other += users
            folded += 1
    kept.sort(key=lambda c: (-c.users, c.country))
    if other:
        kept.append(CountryCount(OTHER, other))
    if unknown:
        kept.append(CountryCount(UNKNOWN, unknown))
    return kept


@dataclass(frozen=True, slots=True)
class Cohort:
    week: date
    users: int
    # retention[k] = share of the cohort active k weeks after sign-up (k = 0 is the sign-up week).
    retention: list[float]


def cohort_matrix(rows: Iterable[tuple[date, int, int]], as_of: date) -> list[Cohort]:
    """(week, offset, users) rows, offset -1 carrying the cohort size, into cohorts with retention shares.

    A cohort has as many columns as whole weeks have elapsed since its week began, so a young cohort is
    not shown as churned in weeks that have not happened yet.
    """
    sizes: dict[date, int] = {}
    active: dict[date, dict[int, int]] = {}
    for week, offset, users in rows:
        if offset < 0:
            sizes[week] = users
        else:
            active.setdefault(week, {})[offset] = users
    cohorts = []
    for week in sorted(sizes):
        size = sizes[week]
        weeks = (as_of - week).days // 7 + 1
        counts = active.get(week, {})
        cohorts.append(Cohort(week, size, [counts.get(k, 0) / size for k in range(weeks)]))
    return cohorts


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
