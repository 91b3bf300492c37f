"""The scan's options checked before any model is touched, each failure one sentence.

`labeler scan` and `labeler schedule` share these checks, and a scan that would fail on
its third model for a typo in a tactic's name should fail before the first download. Every
failure is a `ScanOptionError` (a `LabelerError`: one `error:` line, exit 2). torch is
imported only to check a CUDA device, and the labelled-data reader only when a file is
given.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from labels.batching import parse_batch_sizes
from labels.errors import LabelerError
from labels.scheme import load_scheme
from scanner.device import Device, DeviceError, DeviceKind
from scanner.executors.registry import executor_names
from scanner.protocols import UnknownProtocol, protocol_named
from scanner.tactics.registry import tactic_names
from scanner.tasks.registry import task_names


class ScanOptionError(LabelerError):
    """A scan option that cannot work: unknown name, missing dependency, wrong device."""


def check_scan_options(
    scheme: str,
    tasks: Sequence[str] | None,
    executor: str,
    tactics: Sequence[str] | None,
    device: str,
) -> None:
    """The options `scan` and `schedule` share: scheme, tasks, executor, device, tactics."""
    loaded = load_scheme(scheme)
    # Every tag with an adapter, built-in or plugin: the registry is the one list of tasks.
    known_tasks = sorted(task_names())
    unknown_tasks = [t for t in tasks or [] if t not in known_tasks]
    if unknown_tasks:
        raise ScanOptionError(
            f"unknown task {unknown_tasks[0]!r} (known: {', '.join(known_tasks)})"
        )
    if executor not in executor_names():
        raise ScanOptionError(
            f"unknown executor {executor!r} (known: {', '.join(executor_names())})"
        )
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise ScanOptionError("the ray executor needs Ray: pip install '.[ray]'")
    check_device(device)
    check_tactics(tactics)
    if not loaded.paired_reference:  # v1: stored reference energies for a few profiles only
        from scanner.hardware import detect_hardware

        profile = detect_hardware(device).profile
        if not loaded.has_references_for(profile):
            raise ScanOptionError(
                f"scheme {loaded.version} has no reference energy for hardware {profile}: "
                "use a scheme with reference models (--scheme v2)"
            )


def check_device(device: str) -> None:
    """cpu, cuda or cuda:N, and a CUDA device only where torch sees one."""
    try:
        kind = Device.parse(device).kind
    except DeviceError:
        kind = None
    if kind not in (DeviceKind.CPU, DeviceKind.CUDA):  # no energy meter reads an MPS device
        raise ScanOptionError(f"unknown device {device!r} (cpu, cuda or cuda:N)")
    if kind is DeviceKind.CUDA:
        import torch  # only to check a CUDA device: other commands start without torch

        if not torch.cuda.is_available():
            raise ScanOptionError(f"--device {device}: torch sees no CUDA device on this machine")


def check_tactics(tactics: Sequence[str] | None) -> None:
    """Every named tactic is registered (built-in or plugin)."""
    if not tactics:
        return
    known = tactic_names()
    unknown = [t for t in tactics if t not in known]
    if unknown:
        raise ScanOptionError(f"unknown tactic {unknown[0]!r} (known: {', '.join(sorted(known))})")


def check_protocol(protocol_name: str, tactics: Sequence[str] | None) -> None:
    """A known protocol; one that measures the baseline alone (energy-score) takes no tactics."""
    try:
        measuring = protocol_named(protocol_name)
    except UnknownProtocol as exc:
        raise ScanOptionError(str(exc)) from None
    if tactics and not measuring.measures_variants:
        raise ScanOptionError(
            f"--protocol {protocol_name} measures the baseline alone: drop --tactic"
        )


def batch_sizes_option(text: str | None, protocol_name: str) -> list[int]:
    """`--batch-sizes` parsed ("1,8,32"); a sweep goes with the scheme protocol only."""
    if text is None:
        return []
    if not protocol_named(protocol_name).sweeps_batch_sizes:
        raise ScanOptionError(
            f"--batch-sizes goes with the scheme protocol ({protocol_name} is batch 1)"
        )
    try:
        return parse_batch_sizes(text)
    except ValueError as exc:
        raise ScanOptionError(f"--batch-sizes: {exc}") from None


def eval_data_path(path: Path | None) -> str | None:
    """The labelled file read once now, so a bad one fails before any model is benchmarked;
    the benchmark's children get its full path."""
    if path is None:
        return None
    from scanner.tasks.eval_data import EvalDataError, read_eval_data  # torch, as above

    try:
        read_eval_data(path)
    except EvalDataError as exc:
        raise ScanOptionError(str(exc)) from None
    return str(path.resolve())
