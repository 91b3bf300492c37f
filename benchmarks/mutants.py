"""Mutation testing of the modules a label rests on: do the tests notice when the code changes?

`make mutants` runs this. It asks mutmut (configured in pyproject.toml, `[tool.mutmut]`) to
mutate the functions below one small change at a time (`>=` to `>`, `median` to nothing, a
constant plus one, ...) and run the tests that cover each; a mutant the tests still pass on
"survived". The result goes to build/bench/mutants.json: killed, survived, timeout, and
each survivor with file:line, the mutation, and why it is harmless where it is
(`benchmarks/mutants_equivalent.json`, explained in docs/mutants.md). A survivor with no
such explanation is a missing test.

Not in CI: a full run takes tens of minutes on 2 cores. Usage:
    python benchmarks/mutants.py                  # every module below
    python benchmarks/mutants.py "scanner.harness.*"   # some of them (mutmut name globs)
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "bench" / "mutants.json"
EXPLANATIONS = Path(__file__).resolve().parent / "mutants_equivalent.json"

# scanner/benchmark.py: the quality gate's verdict and the bookkeeping of each variant's run
# (its windows, size, failure reason, record); the rest of it loads and measures a model,
# which the end-to-end benchmark tests cover.
BENCHMARK_FUNCTIONS = (
    "x_judge_quality",
    "xǁQualityVerdictǁ*",
    "x__window_record",
    "x__window_records",
    "x__paired_window_records",
    "x__variant_size_mb",
    "x__state_dict_mb",
    "x__tensor_bytes",
    "x__record_factory",
    "x__failure",
    "x__reason",
)

# What a label rests on (docs/mutants.md says why each is here). Whole modules, except
# tasks/base.py, where only the safety checks (what may be loaded, and how) are in scope: the
# rest of it builds inputs, which the quality and benchmark tests cover end to end; and
# benchmark.py (above).
SITE_ESCAPING_FUNCTIONS = (
    "environment.x_script_json",
    "environment.x_environment",
    "provenance.x_group_rows",
    "provenance.x__flat",
    "provenance.x__items",
)
MUTANT_PATTERNS = (
    "labels.scheme.*",
    "labeler.grading.*",
    "labeler.recommend.*",
    "labeler.card.*",
    "scanner.harness.*",
    "scanner.schedule.*",
    "scanner.tasks.base.x_read_config__mutmut_*",
    "scanner.tasks.base.x_check_loadable__mutmut_*",
    "scanner.tasks.base.x_load_pretrained__mutmut_*",
    "labels.eei.*",
    "labels.stopping.*",
    "labels.snapshots.*",
    "labeler.alternatives.*",
    "labeler.costs.*",
    *(f"scanner.benchmark.{name}__mutmut_*" for name in BENCHMARK_FUNCTIONS),
    # the page's escaping outside a template, not the site's layout and charts
    *(f"labeler.site.{name}__mutmut_*" for name in SITE_ESCAPING_FUNCTIONS),
)

# A mutant's line in mutmut's log (mutmut/workers/isolation.py, the fork server).
COMPLETED = re.compile(r"Completed (?P<name>\S+): exit=-?\d+ \((?P<seconds>[0-9.]+)s\)")

# mutmut's exit codes per mutant (mutmut/stats.py), folded into the figures we report.
STATUS_BY_EXIT_CODE = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no_tests",
    33: "no_tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "caught_by_type_check",
    -11: "segfault",
    -9: "segfault",
    None: "not_checked",
}


# what only a run measures, which --report-only keeps from the report it rewrites
RUN_FIGURES = (
    "wall_s",
    "cpu_s",
    "host_load_1m",
    "max_children",
    "mutants_per_s",
    "cpu_s_per_mutant",
)


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def run_mutmut(patterns: tuple[str, ...], max_children: int, keep: bool) -> tuple[float, float]:
    """`mutmut run` over `patterns` (fresh unless `keep`); returns its wall-clock seconds and
    the CPU seconds of mutmut and every process it started (a loaded host stretches the
    first, hardly the second)."""
    if not keep:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    command = [
        str(Path(sys.executable).parent / "mutmut"),
        "run",
        "--max-children",
        str(max_children),
        *patterns,
    ]
    print("$", " ".join(command), flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    completed = subprocess.run(command, cwd=ROOT, check=False)
    elapsed_s = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if completed.returncode != 0:
        raise SystemExit(f"error: mutmut run exited {completed.returncode}")
    return elapsed_s, cpu_s


def mutant_results(patterns: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """{mutant name: (source path, status)} for the mutants in scope, from mutmut's .meta."""
    results: dict[str, tuple[str, str]] = {}
    for meta_path in sorted((ROOT / "mutants").rglob("*.py.meta")):
        source = str(meta_path.relative_to(ROOT / "mutants")).removesuffix(".meta")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        for name, exit_code in meta["exit_code_by_key"].items():
            if matches(name, patterns):
                results[name] = (source, STATUS_BY_EXIT_CODE.get(exit_code, "suspicious"))
    return results


def mutant_seconds(results: dict[str, tuple[str, str]]) -> dict[str, float]:
    """{source path: wall seconds its mutants' test runs took in the workers}, for the mutants
    of `results` (`mutant_results`).

    mutmut's fork server records no duration per mutant in its .meta files, but its log
    (`log_to_file` in pyproject.toml) has a line per mutant: "Completed NAME: exit=1 (0.123s)".
    """
    log = ROOT / "mutants" / "mutmut-debug.log"
    sources = {name: source for name, (source, _) in results.items()}
    seconds: dict[str, float] = {}
    if not log.is_file():
        return seconds
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = COMPLETED.search(line)
        if match and match["name"] in sources:
            source = sources[match["name"]]
            seconds[source] = seconds.get(source, 0.0) + float(match["seconds"])
    return {source: round(total, 1) for source, total in seconds.items()}


def mutant_diff(name: str) -> str:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "mutmut"), "show", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout


def function_of(name: str) -> str:
    """`scanner.harness.xǁPairedMeasurementǁenergy_ratio__mutmut_3` -> `energy_ratio`."""
    generated = name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    return generated.split("ǁ")[-1].removeprefix("x_")


def locate(source: Path, function: str, removed: list[str]) -> int | None:
    """The line in `source` of the first removed line of the diff, inside `function`."""
    text = source.read_text(encoding="utf-8")
    lines = text.splitlines()
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
    ]
    wanted = [line.strip() for line in removed if line.strip()]
    for start, end in spans:
        for number in range(start, end + 1):
            if wanted and lines[number - 1].strip() == wanted[0]:
                return number
    return spans[0][0] if spans else None


def describe(name: str, source_path: str) -> dict[str, object]:
    diff = mutant_diff(name)
    body = [line for line in diff.splitlines()[1:] if not line.startswith(("---", "+++", "@@"))]
    removed = [line[1:] for line in body if line.startswith("-")]
    added = [line[1:] for line in body if line.startswith("+")]
    line = locate(ROOT / source_path, function_of(name), removed)
    return {
        "name": name,
        "where": f"{source_path}:{line}",
        "function": function_of(name),
        "mutation": " / ".join(
            part
            for part in (
                "- " + " ".join(x.strip() for x in removed) if removed else "",
                "+ " + " ".join(x.strip() for x in added) if added else "",
            )
            if part
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("patterns", nargs="*", help="mutmut mutant-name globs (default: all)")
    parser.add_argument("--max-children", type=int, default=2, help="parallel test workers")
    parser.add_argument(
        "--report-only", action="store_true", help="read the last run's results, run nothing"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep mutants/ and run only the mutants in scope not checked yet",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep mutants/ from the last run (its test stats and the other modules' results)",
    )
    args = parser.parse_args()
    patterns = tuple(args.patterns) or MUTANT_PATTERNS

    scope = patterns
    load_at_start = os.getloadavg()[0]
    if args.resume:
        results = mutant_results(patterns)
        left = [name for name, (_, status) in results.items() if status == "not_checked"]
        print(f"{len(left)} mutants in scope not checked yet")
        patterns = tuple(left)
    elapsed_s, cpu_s = (
        (None, None)
        if args.report_only or not patterns
        else run_mutmut(patterns, args.max_children, args.keep or args.resume)
    )
    patterns = scope
    results = mutant_results(patterns)
    ran = len(left) if args.resume else sum(1 for _, st in results.values() if st != "not_checked")
    if not results:
        raise SystemExit("error: no mutant results under mutants/: run without --report-only")
    counts = Counter(status for _, status in results.values())
    seconds = mutant_seconds(results)
    mutants_of = Counter(source for source, _ in results.values())
    explanations: dict[str, str] = json.loads(EXPLANATIONS.read_text(encoding="utf-8"))
    survivors = []
    for name, (source_path, status) in sorted(results.items()):
        if status in ("survived", "no_tests", "suspicious"):
            entry = describe(name, source_path)
            entry["status"] = status
            entry["why_harmless"] = explanations.get(name)
            survivors.append(entry)
    checked = sum(counts[s] for s in ("killed", "survived", "timeout", "no_tests", "suspicious"))
    killed = counts["killed"] + counts["timeout"]  # a timeout is a mutant the tests stopped
    report = {
        "command": "make mutants (python benchmarks/mutants.py)",
        "patterns": list(patterns),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",  # host_load_1m says how busy
        "wall_s": round(elapsed_s, 1) if elapsed_s is not None else None,
        # mutmut and all its workers, user + system: the figure a loaded host changes least
        "cpu_s": round(cpu_s, 1) if cpu_s is not None else None,
        "host_load_1m": [round(load_at_start, 2), round(os.getloadavg()[0], 2)],
        "max_children": args.max_children,
        # this run's mutants (those left, with --resume) per wall-clock and per CPU second
        "mutants_per_s": round(ran / elapsed_s, 3) if elapsed_s and ran else None,
        "cpu_s_per_mutant": round(cpu_s / ran, 2) if cpu_s and ran else None,
        # the mutants' test runs, summed over the workers (per module below); the rest of the
        # wall time is mutmut's fixed start: generating mutants, the stats and clean runs
        "mutant_test_s": round(sum(seconds.values()), 1),
        "killed": counts["killed"],
        "survived": counts["survived"],
        "timeout": counts["timeout"],
        "no_tests": counts["no_tests"],
        "suspicious": counts["suspicious"],
        "total": checked,
        "not_checked": counts["not_checked"],  # in scope, but the run stopped before them
        "killed_pct": round(100.0 * killed / checked, 1) if checked else 0.0,
        "per_module": {
            source: {
                **{
                    status: sum(1 for s, st in results.values() if s == source and st == status)
                    for status in ("killed", "survived", "timeout", "no_tests", "not_checked")
                },
                # what the module's mutants cost: their test runs' wall seconds in the workers
                "test_s": seconds.get(source, 0.0),
                "test_s_per_mutant": round(seconds.get(source, 0.0) / mutants_of[source], 3),
            }
            for source in sorted(mutants_of)
        },
        "survivors": survivors,
        "unexplained": [s["name"] for s in survivors if not s["why_harmless"]],
    }
    if elapsed_s is None and OUT.is_file():
        # a rewrite (new explanations, say) ran nothing: keep the figures of the run it reads
        last = json.loads(OUT.read_text(encoding="utf-8"))
        for key in RUN_FIGURES:
            report[key] = last.get(key)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"mutants: {report['killed']} killed, {report['survived']} survived, "
        f"{report['timeout']} timeout, {report['no_tests']} with no test "
        f"→ {report['killed_pct']} % killed (timeouts count as killed) in "
        f"{report['wall_s']} s → {OUT.relative_to(ROOT)}"
    )
    for survivor in survivors:
        mark = "  " if survivor["why_harmless"] else "!!"
        print(f"{mark} {survivor['where']}: {survivor['mutation']}")
    if report["unexplained"]:
        print(f"{len(report['unexplained'])} survivors have no explanation: add a test or one")


if __name__ == "__main__":
    main()
