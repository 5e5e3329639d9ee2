"""The report stage as DVC runs it, on the reproduced digits project: all of its outputs or none."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import BIN, run


def test_a_report_that_fails_half_way_leaves_none_of_its_outputs(reproduced: Path) -> None:
    """The report draws each dataset's figures before it reads the loss curves: a corrupt curve used to leave
    those figures behind."""
    curve = next((reproduced / "data/records/curves/digits").rglob("tiny-b.csv"))
    curve.chmod(0o644)
    curve.write_text("epoch,train_loss\n1,oops\n")
    for output in ("metrics/figures", "metrics/plots"):
        shutil.rmtree(reproduced / output)
    (reproduced / "metrics/report.md").unlink()
    result = run([str(BIN / "python"), "-m", "stages.report"], reproduced, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [(
        f"error: {curve.relative_to(reproduced)}: not valid loss-curve CSV (expected the columns epoch,train_loss,"
        "val_loss in every row)")]
    assert not (reproduced / "metrics/figures").exists() and not (reproduced / "metrics/plots").exists()
    assert not (reproduced / "metrics/report.md").exists() and not list(reproduced.glob(".metrics.report-*"))
