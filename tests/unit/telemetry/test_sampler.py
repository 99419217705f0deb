"""The telemetry sidecar's rows: a histogram's +Inf bucket survives the JSON round trip."""

from __future__ import annotations

import math

from tokenbench.telemetry.sampler import Row, iter_rows


def test_histogram_buckets_round_trip_with_their_inf_bound() -> None:
    buckets = {"ttft_histogram": [(0.1, 2.0), (0.5, 5.0), (math.inf, 6.0)]}
    row = Row("prometheus", 5, {"ttft_histogram_count": 6.0}, buckets, mark="end")
    line = row.to_json()
    assert b'["+Inf",6.0]' in line  # as Prometheus writes it: JSON has no infinity
    assert list(iter_rows(line + b"\n")) == [row]
