"""The whole GPU suite in one command: environment, GPU tests, measurement, tactics, meters.

A GPU machine is at hand only now and then, for about 30 minutes, so everything that needs
one runs from this single command and lands in one folder (`--out`), with the command, the
exit status, the time and the log of every step, and the versions that matter:

    python benchmarks/gpu_suite.py --out build/bench/gpu-suite          # < 20 min on an H100
    python benchmarks/gpu_suite.py --quick --out build/bench/gpu-suite  # about 5 min
    python benchmarks/gpu_suite.py --dry-run --out build/bench/gpu-dry  # CPU, tiny, seconds

Steps (each a script under `benchmarks/` with `--device cuda`, on config-built models: the
88 MB MiniLM does not travel to the GPU machine, and energy does not depend on trained
weight values; the quality of tactics on random weights means little, as the results say):

- `env`: GPU, driver, power limit, torch, CUDA, the packages in use (`env.json`);
- `gpu-tests`: `pytest -m gpu` (the tests that need a real GPU);
- `measurement`: window CV, the energy counter against integrated power, fp16 against fp32;
- `nvml-vs-zeus`: our `nvml` meter against Zeus's `ZeusMonitor` on the same windows;
- `tactics`: every tactic that applies on CUDA, paired with the baseline;
- `stability` and `energy-score`: run when their scripts exist in this checkout.

A step that fails is recorded with its exit status and the suite goes on; a step that would
start after the time budget (`--budget-s`) is recorded as skipped. The dry run runs every
step in this process on the CPU with tiny models and windows, so a test can check the whole
suite under a patched NVML.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import io
import json
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

DEFAULT_OUT = Path("build/bench/gpu-suite")
PACKAGES = (
    "torch",
    "transformers",
    "huggingface-hub",
    "nvidia-ml-py",
    "duckdb",
    "torchao",
    "zeus",
    "onnxruntime",
    "apscheduler",
)


@dataclass(frozen=True)
class Step:
    """One script of the suite and its arguments in each mode (None: not run in that mode)."""

    name: str
    script: str  # path under the repo root; "pytest" runs the test suite
    full: list[str] | None
    quick: list[str] | None
    dry: list[str] | None
    timeout_s: int = 600


@dataclass
class StepResult:
    name: str
    command: list[str]
    status: str  # "ok" | "failed" | "skipped"
    returncode: int | None = None
    seconds: float = 0.0
    log: str | None = None
    result_file: str | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def suite_steps(device: str) -> list[Step]:
    """The suite, in the order it runs. Output paths are filled in per run (`{out}`)."""
    return [
        Step(
            "gpu-tests",
            "pytest",
            ["-m", "gpu", "-q", "-p", "no:cacheprovider"],
            ["-m", "gpu", "-q", "-p", "no:cacheprovider"],
            # dry run: collect the GPU tests' file, not the suite (seconds of imports)
            ["-m", "gpu", "-q", "-p", "no:cacheprovider", "--collect-only", "tests/test_gpu.py"],
            timeout_s=300,
        ),
        Step(
            "measurement",
            "benchmarks/gpu_measurement.py",
            ["--device", device, "--no-minilm", "--windows", "6", "--window-s", "5"]
            + ["--out", "{out}"],
            ["--device", device, "--no-minilm", "--windows", "3", "--window-s", "2"]
            + ["--out", "{out}"],
            ["--device", "cpu", "--no-minilm", "--windows", "1", "--window-s", "0.05"]
            + ["--warmup-s", "0", "--idle-s", "0", "--out", "{out}"],
        ),
        Step(
            "nvml-vs-zeus",
            "benchmarks/nvml_vs_zeus.py",
            ["--device", device, "--windows", "10", "--window-s", "5", "--out", "{out}"],
            ["--device", device, "--windows", "5", "--window-s", "3", "--out", "{out}"],
            ["--device", "cpu", "--tiny", "--windows", "2", "--window-s", "0.05", "--out", "{out}"],
            timeout_s=300,
        ),
        Step(
            "tactics",
            "benchmarks/tactics.py",
            ["--device", device, "--models", "tiny", "--windows", "3", "--window-s", "2"]
            + ["--out", "{out}"],
            ["--device", device, "--models", "tiny", "--windows", "2", "--window-s", "1"]
            + ["--tactic", "fp16", "--tactic", "bf16", "--tactic", "compile", "--out", "{out}"],
            # dry run: v1's gates, so no BERT-base or ViT-base reference runs on the CPU
            ["--device", "cpu", "--models", "tiny", "--windows", "1", "--window-s", "0.02"]
            + ["--warmup-s", "0", "--tactic", "dynamic-int8", "--scheme", "v1", "--out", "{out}"],
        ),
        Step(
            "stability",
            "benchmarks/stability.py",
            ["--device", device, "--out", "{out}"],
            ["--device", device, "--repeats", "3", "--out", "{out}"],
            None,  # fresh processes for minutes: not a dry-run step
        ),
        Step(
            "energy-score",
            "benchmarks/energy_score.py",
            ["--device", device, "--out", "{out}"],
            ["--device", device, "--queries", "200", "--out", "{out}"],
            None,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument("--device", default="cuda", help="the GPU to measure (cuda or cuda:N)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter windows, fewer steps")
    mode.add_argument(
        "--dry-run", action="store_true", help="CPU, tiny models, in this process: checks wiring"
    )
    parser.add_argument(
        "--budget-s", type=float, default=19 * 60, help="start no step after this many seconds"
    )
    parser.add_argument("--only", action="append", help="run only these steps (repeatable)")
    args = parser.parse_args(argv)

    mode_name = "dry-run" if args.dry_run else "quick" if args.quick else "full"
    if not args.dry_run and not cuda_available():
        print(f"error: --device {args.device}: torch sees no CUDA device", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    manifest: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/gpu_suite.py", *(argv or sys.argv[1:])]),
        "mode": mode_name,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": "cpu" if args.dry_run else args.device,
        "environment": write_environment(args.out / "env.json", args.device, args.dry_run),
        "note": (
            "config-built models with random weights: energy and latency are meaningful, "
            "the quality of tactics is not"
        ),
        "steps": [],
    }
    print_environment(manifest["environment"])
    for step in suite_steps(args.device):
        if args.only and step.name not in args.only:
            continue
        result = run_step(step, mode_name, args.out, started, args.budget_s)
        manifest["steps"].append(asdict(result))
        print(f"[{result.status:>7}] {step.name} ({result.seconds:.0f} s)" + _why(result))
        write_manifest(args.out / "suite.json", manifest, started)
    write_manifest(args.out / "suite.json", manifest, started)
    print(f"wrote {args.out}/ in {time.perf_counter() - started:.0f} s")
    return 1 if any(s["status"] == "failed" for s in manifest["steps"]) else 0


def run_step(step: Step, mode: str, out: Path, started: float, budget_s: float) -> StepResult:
    """Run one step (a subprocess, or in this process for the dry run); never raises."""
    args = {"full": step.full, "quick": step.quick, "dry-run": step.dry}[mode]
    result_file = out / f"{step.name}.json"
    log = out / f"{step.name}.log"
    if args is None:
        return StepResult(step.name, [], "skipped", reason=f"not part of the {mode} suite")
    args = [str(result_file) if a == "{out}" else a for a in args]
    command = _command(step.script, args)
    if step.script != "pytest" and not (ROOT / step.script).is_file():
        return StepResult(step.name, command, "skipped", reason=f"{step.script} is not here")
    if time.perf_counter() - started > budget_s:
        return StepResult(step.name, command, "skipped", reason="time budget spent")
    t0 = time.perf_counter()
    if mode == "dry-run" and step.script != "pytest":
        returncode = _run_in_process(ROOT / step.script, args, log)
    else:
        returncode = _run_subprocess(command, log, step.timeout_s)
    seconds = time.perf_counter() - t0
    return StepResult(
        step.name,
        command,
        "ok" if returncode == 0 else "failed",
        returncode,
        seconds,
        log.name,
        result_file.name if result_file.is_file() else None,
        None if returncode == 0 else f"exit status {returncode}; see {log.name}",
    )


def _command(script: str, args: list[str]) -> list[str]:
    if script == "pytest":
        return [sys.executable, "-m", "pytest", *args]
    return [sys.executable, script, *args]


def _run_subprocess(command: list[str], log: Path, timeout_s: int) -> int:
    with log.open("w", encoding="utf-8") as sink:
        try:
            return subprocess.run(
                command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout_s
            ).returncode
        except subprocess.TimeoutExpired:
            sink.write(f"\ntimed out after {timeout_s} s\n")
            return 124


def _run_in_process(script: Path, args: list[str], log: Path) -> int:
    """Import `script` and call its `main(args)`, its output going to `log`."""
    name = f"gpu_suite_{script.stem}"
    spec = importlib.util.spec_from_file_location(name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            spec.loader.exec_module(module)
            returncode = int(module.main(args) or 0)
    except SystemExit as exc:
        returncode = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # a broken step is a failed step, not a broken suite
        buffer.write(f"{type(exc).__name__}: {exc}\n")
        returncode = 1
    log.write_text(buffer.getvalue(), encoding="utf-8")
    return returncode


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def write_environment(path: Path, device: str, dry_run: bool) -> dict[str, Any]:
    """GPU, driver, torch, CUDA and package versions, as far as this machine can tell."""
    import torch

    from scanner.hardware import detect_hardware

    environment: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "packages": {name: _version(name) for name in PACKAGES},
    }
    if torch.cuda.is_available():
        environment["cuda_device_name"] = torch.cuda.get_device_name(0)
    try:
        environment["hardware"] = asdict(detect_hardware("cpu" if dry_run else device))
    except Exception as exc:
        environment["hardware_error"] = f"{type(exc).__name__}: {exc}"
    environment["nvidia_smi"] = _nvidia_smi()
    path.write_text(json.dumps(environment, indent=2, default=str) + "\n", encoding="utf-8")
    return environment


def _nvidia_smi() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    query = "name,driver_version,power.limit,memory.total,clocks.max.sm,temperature.gpu"
    try:
        done = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nvidia-smi failed: {exc}"
    return done.stdout.strip() or done.stderr.strip()


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def print_environment(environment: dict[str, Any]) -> None:
    hardware = environment.get("hardware") or {}
    print(f"python {environment['python']}, torch {environment['torch']}, ", end="")
    print(f"CUDA {environment['torch_cuda']} (available: {environment['cuda_available']})")
    if hardware:
        print(
            f"hardware: {hardware.get('profile')} {hardware.get('gpu_name') or ''} "
            f"driver {hardware.get('gpu_driver') or '-'}"
        )
    missing = [name for name, version in environment["packages"].items() if version is None]
    if missing:
        print(f"not installed: {', '.join(missing)}")


def write_manifest(path: Path, manifest: dict[str, Any], started: float) -> None:
    manifest["total_s"] = time.perf_counter() - started
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")


def _why(result: StepResult) -> str:
    return f": {result.reason}" if result.reason else ""


if __name__ == "__main__":
    sys.exit(main())
