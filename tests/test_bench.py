"""`make bench` cannot break silently: every row runs on a tiny size (a slice of MNIST, one run per side, the MLP
epoch without its minimum of steps, `make -n smoke`: tests/test_dvc_ux.py runs a smoke), each row written as it
finishes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import ROOT, run
from tools.bench import ROWS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.environ.get("AE_DATA_MIRROR"),
                                 reason="AE_DATA_MIRROR is not set: the benchmark reads MNIST (.ci/run sets it)")]


def test_every_bench_row_runs_on_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = run(["python", "-m", "tools.bench", "--tiny", "--device", "cpu", "--out", str(out)], ROOT)
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == list(ROWS), result.stdout
    for r in rows:
        assert r["ours_s"] > 0 and r["detail"], r
