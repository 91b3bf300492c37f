"""The one record of a model that was not measured: skipped before its benchmark, or failed
outside it (a timeout, a killed process, a Hub failure, a dead Ray task).

A scan and every executor build it here, so such rows carry the same fields wherever the
model stopped.
"""

from __future__ import annotations

import uuid

from labels.records import RunRecord
from labels.run_status import RunStatus
from labels.tactic_kinds import BASELINE
from labels.timestamps import utc_now
from scanner.harness import HARNESS_VERSION


def unmeasured_run(
    *,
    scan_id: str,
    model_id: str,
    revision: str,
    task: str,
    hardware_profile: str,
    hardware_fingerprint: str,
    device: str,
    scheme_version: str,
    status: RunStatus,
    reason: str,
    protocol: str = "scheme",
) -> RunRecord:
    """A baseline run with `status` and `reason` and no measurement."""
    now = utc_now()
    return RunRecord(
        run_id=str(uuid.uuid4()),
        scan_id=scan_id,
        model_id=model_id,
        revision=revision,
        task=task,
        hardware_profile=hardware_profile,
        hardware_fingerprint=hardware_fingerprint,
        variant=BASELINE,
        tactic=BASELINE,
        status=status,
        reason=reason,
        device=device,
        harness_version=HARNESS_VERSION,
        scheme_version=scheme_version,
        started_at=now,
        finished_at=now,
        protocol=protocol,
    )
