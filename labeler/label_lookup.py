"""Find one model's label for a command (badge, card, recommend), or say why there is none.

One catalog query (`Catalog.latest_label`), never every label loaded and filtered: a
catalog of 10,000 models answers `labeler badge` as fast as one of ten.
"""

from __future__ import annotations

from labels.catalog import Catalog
from labels.errors import LabelerError
from labels.latest_label import LatestLabel


class NoLabelError(LabelerError):
    """The catalog holds no label for the model (on the hardware asked for)."""


def find_label(catalog: Catalog, model_id: str, hardware: str | None = None) -> LatestLabel:
    """The model's newest label (the first by task, then hardware, when it has several)."""
    label = catalog.latest_label(model_id, hardware)
    if label is None:
        where = f" on {hardware}" if hardware else ""
        raise NoLabelError(
            f"no label for {model_id!r}{where} in {catalog.path} (scan and grade it first)"
        )
    return label
