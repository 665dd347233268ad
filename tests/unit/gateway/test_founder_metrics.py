"""The Founder View's pure parts: country folding, cohort shaping, the gateway's latency quantiles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from seqpulse.gateway import founder_metrics as fm
from seqpulse.gateway.api_stats import BOUNDS_MS, ApiStats, quantile, status_class
from seqpulse.gateway.founder_metrics import CountryCount, cohort_matrix, fold_countries


def test_countries_under_five_users_are_folded_into_other_and_unknown_is_kept_apart() -> None:
    rows = [("FR", 12), ("DE", 5), ("SE", 4), ("NO", 1), (None, 3), ("US", 30)]
    assert fold_countries(rows) == [
        CountryCount("US", 30),
        CountryCount("FR", 12),
        CountryCount("DE", 5),
        CountryCount("other", 5),
        CountryCount("unknown", 3),
    ]


def test_no_country_below_the_threshold_is_named() -> None:
    folded = fold_countries([("IS", 1), ("LU", 2)])
    assert [c.country for c in folded] == ["other"]


def test_cohorts_have_one_column_per_elapsed_week_and_shares_of_their_size() -> None:
    w1, w2 = date(2026, 11, 2), date(2026, 11, 9)
    rows = [(w1, -1, 4), (w1, 0, 4), (w1, 1, 2), (w1, 2, 1), (w2, -1, 2), (w2, 0, 2)]
    cohorts = cohort_matrix(rows, as_of=date(2026, 11, 17))
    assert [(c.week, c.users, c.retention) for c in cohorts] == [
        (w1, 4, [1.0, 0.5, 0.25]),
        (w2, 2, [1.0, 0.0]),
    ]


def test_latency_quantiles_interpolate_inside_the_histogram_bucket() -> None:
    buckets = [0] * (len(BOUNDS_MS) + 1)
    buckets[BOUNDS_MS.index(10)] = 50  # 50 requests in (5, 10] ms
    buckets[BOUNDS_MS.index(100)] = 50  # 50 in (50, 100] ms
    assert quantile(buckets, 0.5) == 10.0
    assert quantile(buckets, 0.95) == 95.0
    assert quantile([0] * len(buckets), 0.5) is None


def test_requests_are_counted_per_minute_route_and_status_class() -> None:
    stats = ApiStats()
    at = datetime(2026, 11, 22, 10, 0, 59, tzinfo=UTC)
    stats.record("GET /projects", 200, 0.004, now=at)
    stats.record("GET /projects", 204, 0.030, now=at)
    stats.record("GET /projects", 404, 0.001, now=at)
    stats.record("POST /events", 503, 0.2, now=at)
    cells = stats.take()
    minute = at.replace(second=0)
    ok = cells[(minute, "GET /projects", "2xx")]
    assert ok.requests == 2 and round(ok.latency_sum_ms) == 34
    assert cells[(minute, "GET /projects", "4xx")].requests == 1
    assert (minute, "POST /events", "5xx") in cells
    assert stats.take() == {}
    assert [status_class(s) for s in (101, 200, 302, 404, 503)] == ["2xx", "2xx", "3xx", "4xx", "5xx"]


def test_rolling_counts_sum_each_windows_changes_up_to_each_day() -> None:
    d = date(2026, 3, 1)
    at = lambda n: d + timedelta(days=n)  # noqa: E731
    # Window 7: +1 on day 0, another +1 on day 2, -1 on day 7 (the first user's window ended), -1 on 9.
    changes = [(7, at(7), -1), (7, at(0), 1), (7, at(2), 1), (7, at(9), -1), (30, at(1), 1)]
    counts = fm.rolling_counts(changes, [at(-1), at(0), at(3), at(7), at(8), at(12)])
    assert counts[7] == {at(-1): 0, at(0): 1, at(3): 2, at(7): 1, at(8): 1, at(12): 0}
    assert counts[30][at(0)] == 0 and counts[30][at(12)] == 1


def test_churn_comes_from_the_users_of_either_period() -> None:
    # 10 active before, 8 now, 13 in either: 5 of the previous ones left, 3 are new or back.
    assert fm.churn(previous=10, current=8, either=13) == fm.ChurnCounts(10, 8, 5, 3)


def test_users_seen_in_no_country_are_the_active_ones_not_seen_anywhere() -> None:
    rows = [("FR", 6), ("*", 9), ("DE", 4)]
    assert fm.located(rows, active=12) == [("FR", 6), ("DE", 4), (None, 3)]
    assert fm.located([("SE", 5), ("*", 5)], active=5) == [("SE", 5)]
