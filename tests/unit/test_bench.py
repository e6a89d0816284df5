"""bench's own logic: reading wrk's summary and refusing bad options (no load is generated)."""

from __future__ import annotations

import pytest

from bench import wrk
from bench.__main__ import (
    GROWTH_READS,
    GROWTH_SIZES,
    _check_walk,
    _growth_order,
    _growth_uncached_seconds,
    _median,
    _paired_cost,
    _parse_args,
)
from stack.config import StackError

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8080/hot
  1 threads and 32 connections
  Latency Distribution
     50%    2.50ms
     75%    3.10ms
     90%    4.00ms
     99%    1.20s
  9000 requests in 5.00s, 1.2MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   1800.50
"""


def test_wrk_summary_is_read_with_units_and_errors() -> None:
    result = wrk.parse(WRK_OUTPUT)
    assert result.requests_per_second == 1800.5
    assert result.p50_ms == 2.5
    assert result.p99_ms == 1200.0
    assert result.requests == 9000
    assert result.errors == 7
    assert not result.ok


def test_an_unreadable_summary_is_an_error() -> None:
    with pytest.raises(ValueError, match="could not read"):
        wrk.parse("wrk: connection refused")


@pytest.mark.parametrize(
    "argv",
    [
        ["--paths", "cached,nope"],
        ["--rounds", "0"],
        ["--links", "5000"],  # not above the growth table's first size
        ["--worker-threads", "0"],
        ["--threads", "5", "--growth-connections", "4"],
    ],
)
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_links_zero_skips_the_growth_table() -> None:
    assert _parse_args(["--links", "0"]).links == 0
    assert _parse_args([]).links == 2_000_000


def test_an_uncached_walk_that_ran_out_of_codes_is_refused() -> None:
    walk = ("3000", "1", "0")  # 3,000 codes: a 3,001st request repeated a cached one
    within = wrk.Result(3000.0, 1.0, 2.0, requests=3000, errors=0)
    assert _check_walk(within, walk) is within
    with pytest.raises(StackError, match="3,001 requests over 3000 codes"):
        _check_walk(wrk.Result(3001.0, 1.0, 2.0, requests=3001, errors=0), walk)


def test_the_growth_tables_uncached_load_fits_the_small_tables_codes() -> None:
    # 10,000 links over 3 rounds: about 3,333 codes a round, under a second at 6,000 codes/s
    assert _growth_uncached_seconds(_parse_args([])) == 1
    assert _growth_uncached_seconds(_parse_args(["--rounds", "1", "--duration", "1"])) == 1


def test_growth_rounds_run_each_size_first_by_turns() -> None:
    for read_index in range(len(GROWTH_READS)):
        firsts = [_growth_order(round_number, read_index)[0] for round_number in range(4)]
        assert firsts.count("small") == firsts.count("app") == 2
        assert firsts[0] != firsts[1]
    for round_number in range(3):  # consecutive reads of a round swap too
        assert _growth_order(round_number, 0) == _growth_order(round_number, 1)[::-1]
        assert set(_growth_order(round_number, 0)) == set(GROWTH_SIZES)


def test_each_figure_is_the_median_of_its_rounds_on_its_own() -> None:
    rounds = [
        wrk.Result(2600.0, 3.0, 10.0, requests=13000, errors=0, app_cpu_us=470.0),
        wrk.Result(2700.0, 2.5, 406.6, requests=13500, errors=0, app_cpu_us=500.0),  # a stall
        wrk.Result(2900.0, 2.9, 7.1, requests=14500, errors=0, app_cpu_us=430.0),
    ]
    median = _median(rounds)
    assert median.requests_per_second == 2700.0
    assert median.p99_ms == 10.0  # not the 406.6 ms of the round of median req/s
    assert (median.p50_ms, median.app_cpu_us) == (2.9, 470.0)
    assert median.ok
    failed = wrk.Result(1.0, 1.0, 1.0, requests=5, errors=2, error_detail="timeout 2")
    assert not _median([*rounds, failed]).ok


def test_the_growth_cost_is_the_median_of_each_rounds_own_ratio() -> None:
    def rounds(*rates: float) -> list[wrk.Result]:
        return [wrk.Result(rate, 1.0, 2.0, requests=100, errors=0) for rate in rates]

    # The machine ran slower in round 2 for both sizes alike, and one round of the large size
    # met a stall: two of three rounds say 1.25, while the ratio of the medians (800 / 480)
    # would read 1.67.
    small = rounds(1000.0, 600.0, 800.0)
    large = rounds(800.0, 480.0, 400.0)
    assert _paired_cost(small, large) == pytest.approx(1.25)
    assert _paired_cost(rounds(1000.0, 1000.0, 1000.0), rounds(500.0, 400.0, 1000.0)) == 2.0
