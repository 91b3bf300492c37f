"""What a GPU does to a scan when it runs out of memory: one failed model, the scan goes on.

There is no GPU here, so the model's forward pass raises the error CUDA raises
(`torch.cuda.OutOfMemoryError`) for one of two models in a real in-process scan.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from labels import Catalog
from scanner.discovery.local import discover_local_models
from scanner.scan import ScanOptions, scan
from scanner.tasks.text_classification import TextClassification
from tests.tiny_models import TINY_BERT, build_tiny_model, copy_model


def test_out_of_memory_is_a_failed_run_and_the_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = build_tiny_model(TINY_BERT, tmp_path / "bert")
    models = tmp_path / "models"
    copy_model(tiny, models / "org" / "fits")
    copy_model(tiny, models / "org" / "too-big")
    real_run = TextClassification.run

    def run(self, model, batch):  # noqa: ANN001, ANN202
        if "too-big" in str(getattr(model, "name_or_path", "")):
            raise torch.cuda.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.11 GiB total)"
            )
        return real_run(self, model, batch)

    monkeypatch.setattr(TextClassification, "run", run)
    catalog = Catalog(tmp_path / "catalog.duckdb")
    options = ScanOptions(
        tactics=["baseline"],
        executor="inprocess",
        protocol={"windows": 1, "window_s": 0.01, "warmup_s": 0.0, "idle_s": 0.0},
    )
    summary = scan(discover_local_models(models), catalog, options)

    assert (summary.benchmarked, summary.failed) == (1, 1)
    assert summary.failures == [("org/too-big", "out of memory")]
    rows = catalog.query("SELECT model_id, status, reason FROM runs ORDER BY model_id").rows
    assert rows == [("org/fits", "ok", None), ("org/too-big", "failed", "out of memory")]
