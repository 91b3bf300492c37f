"""Which module's mutants cost what: a seeded sample of each, run as mutmut's fork server runs
them (a forked child of a process that collected the test selection once).

Needs `mutants/` from an earlier `make mutants` (its mutated code and `mutmut-stats.json`, which
names the tests that cover each function). Prints, per module, the mean and the slowest wall
time of a sampled mutant's test run and the module's estimate (mean x its mutants); with
`--show`, each sampled mutant. A full run's own figures (`per_module.test_s` in
build/bench/mutants.json) are the measure; this finds the slow ones in a minute or two.

    python benchmarks/mutant_sample.py [--per-module 8] [--seed 0] [--module labels/snapshots.py]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mutants import MUTANT_PATTERNS, mutant_results  # noqa: E402


def sampled(per_module: int, seed: int, only: list[str]) -> dict[str, tuple[int, list[str]]]:
    """{module: (its mutants in scope, `per_module` of them chosen with `seed`)}."""
    by_module: dict[str, list[str]] = {}
    for name, (source, _) in sorted(mutant_results(MUTANT_PATTERNS).items()):
        if not only or source in only:
            by_module.setdefault(source, []).append(name)
    rng = random.Random(seed)
    return {
        source: (len(names), rng.sample(names, min(per_module, len(names))))
        for source, names in sorted(by_module.items())
    }


def run_child(name: str, tests: list[str], pytest_args: list[str]) -> float:
    """Wall seconds of one mutant's test run in a forked child, as mutmut runs it."""
    import pytest

    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.environ["MUTANT_UNDER_TEST"] = name
        args = ["--rootdir=.", "--tb=native", "-x", "-q", "-p", "no:randomly", *tests]
        os._exit(int(pytest.main(args + pytest_args)) % 256)
    os.waitpid(pid, 0)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-module", type=int, default=8, help="mutants sampled per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--module", action="append", default=[], help="only this source file")
    parser.add_argument("--show", action="store_true", help="print each sampled mutant")
    args = parser.parse_args()
    if not (ROOT / "mutants" / "mutmut-stats.json").is_file():
        print("error: no mutants/mutmut-stats.json: run `make mutants` first", file=sys.stderr)
        return 2
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    pytest_args = config["mutmut"]["pytest_add_cli_args"]
    selection = config["mutmut"]["pytest_add_cli_args_test_selection"]
    os.chdir(ROOT / "mutants")
    sys.path.insert(0, os.getcwd())
    stats = json.loads(Path("mutmut-stats.json").read_text(encoding="utf-8"))
    covering = stats["tests_by_mangled_function_name"]
    samples = sampled(args.per_module, args.seed, args.module)

    import pytest

    os.environ["MUTANT_UNDER_TEST"] = "fail"  # what mutmut's fork server warms up under
    quiet = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    pytest.main(["--rootdir=.", "--tb=native", "--collect-only", "-qqq", *selection, *pytest_args])
    os.dup2(quiet, 1)
    total_s = 0.0
    for source, (count, names) in samples.items():
        times = []
        for name in names:
            function = name.rsplit("__mutmut_", 1)[0]
            # the child's tests/conftest.py orders them cheapest first, as in mutmut's run
            # (tests/mutant_order.py, from mutants/mutmut-test-seconds.json)
            tests = sorted(covering.get(function, []))
            if tests:
                times.append(run_child(name, tests, pytest_args))
                if args.show:
                    print(f"   {times[-1]:7.2f} s  {name} ({len(tests)} tests)", flush=True)
        mean_s = sum(times) / len(times) if times else 0.0
        total_s += mean_s * count
        print(
            f"{source:32s} {count:5d} mutants  mean {mean_s:6.3f} s  "
            f"slowest {max(times, default=0.0):6.2f} s  estimate {mean_s * count:7.1f} s",
            flush=True,
        )
    print(f"estimate: {total_s:.0f} s of test runs, {total_s / 2:.0f} s wall at 2 workers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
