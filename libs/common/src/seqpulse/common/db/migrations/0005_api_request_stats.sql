-- The gateway's own measurements, kept for the Founder View (API errors and latency over 24 h).

-- writer: gateway. Requests per minute, route template and status class, with a latency histogram whose
-- bucket bounds are fixed in code (seqpulse.gateway.api_stats.BOUNDS_MS); every replica adds its counts.
CREATE TABLE api_request_minutes (
    minute          timestamptz NOT NULL,
    route           text NOT NULL,
    status_class    text NOT NULL CHECK (status_class IN ('2xx', '3xx', '4xx', '5xx')),
    requests        bigint NOT NULL,
    latency_sum_ms  double precision NOT NULL,
    buckets         bigint[] NOT NULL,
    PRIMARY KEY (minute, route, status_class)
);
