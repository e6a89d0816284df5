"""The multiprocess scrape (gunicorn workers sharing metrics files) with a worker's file caught
between its creation and its sizing: the other workers' metrics are still reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from app import metrics


def test_a_metrics_file_still_at_zero_bytes_does_not_fail_the_scrape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = MmapedDict(str(tmp_path / "counter_101.db"))  # a worker that has counted
    key = mmap_key("link_clicks_flushed_total", "link_clicks_flushed_total", [], [], "Clicks")
    written.write_value(key, 7.0, 0.0)
    written.close()
    (tmp_path / "counter_102.db").touch()  # a worker that has just created its file
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    payload, _ = metrics.render()

    assert "link_clicks_flushed_total 7.0" in payload.decode()
