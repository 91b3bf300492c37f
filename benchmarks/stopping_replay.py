"""How often does sequential stopping grade differently from the full count of pairs?

Replays pair ratios recorded on this machine (the scheme v2 stability run: five fresh
processes per model, five model/reference pairs each) through the stopping rule of
labels/stopping.py. Each recorded pair is divided by its repeat's median, which leaves the
pair-to-pair noise of a real measurement; sequences of `--most` pairs are then drawn from
that noise (with replacement) around EEIs spread log-uniformly over classes A to F, and
for each sequence the grade at the pair where the rule stopped is compared with the grade
of all `--most` pairs (what the fixed protocol reports). It writes
build/bench/stopping.json: the disagreement rate overall and by distance to the nearest
class boundary, and the mean number of pairs taken.

    python benchmarks/stopping_replay.py [--sequences 20000] [--fewest 2] [--most 5]
        [--margin 1.2] [--recorded benchmarks/results/cpu-2vcpu-2026-11-23/stability.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labels.scheme import load_scheme  # noqa: E402
from labels.stopping import GRADE_MARGIN, grade_decided, pairs_taken  # noqa: E402

RECORDED = Path("benchmarks/results/cpu-2vcpu-2026-11-23/stability.json")


def relative_noise(recorded: Path) -> dict[str, list[float]]:
    """Per model: each recorded pair ratio over the median of its own repeat."""
    models = json.loads(recorded.read_text(encoding="utf-8"))["models"]
    noise: dict[str, list[float]] = {}
    for model_id, model in models.items():
        values = []
        for repeat in model["repeats"]:
            ratios = repeat["pair_ratios"]
            centre = statistics.median(ratios)
            values.extend(r / centre for r in ratios)
        noise[model_id] = values
    return noise


def boundary_distance(scheme, eei: float) -> float:
    """log2 distance from `eei` to the nearest class boundary (1.0 = a whole class away)."""
    bounds = [b for b in scheme.upper_eei.values() if math.isfinite(b)]
    return min(abs(math.log2(eei / b)) for b in bounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20000, help="sequences per noise model")
    parser.add_argument("--fewest", type=int, default=2, help="pairs always taken")
    parser.add_argument("--most", type=int, default=5, help="the full count of pairs")
    parser.add_argument("--margin", type=float, default=GRADE_MARGIN, help="range widening")
    parser.add_argument("--recorded", type=Path, default=RECORDED, help="stability.json")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, default=Path("build/bench/stopping.json"))
    args = parser.parse_args()

    scheme = load_scheme("v2")
    decided = functools.partial(grade_decided, scheme, margin=args.margin)
    rng = random.Random(args.seed)
    low, high = math.log2(0.03), math.log2(4.0)  # classes A (part) to E
    bands = {"<0.1": [0, 0], "0.1-0.25": [0, 0], "0.25-0.5": [0, 0], ">=0.5": [0, 0]}
    per_model = {}
    for model_id, noise in relative_noise(args.recorded).items():
        differ = taken_sum = 0
        for _ in range(args.sequences):
            eei = 2 ** rng.uniform(low, high)
            ratios = [eei * rng.choice(noise) for _ in range(args.most)]
            taken = pairs_taken(ratios, decided, args.fewest, args.most)
            early = scheme.grade_for_eei(statistics.median(ratios[:taken]))
            full = scheme.grade_for_eei(statistics.median(ratios))
            distance = boundary_distance(scheme, eei)
            band = (
                "<0.1"
                if distance < 0.1
                else "0.1-0.25"
                if distance < 0.25
                else "0.25-0.5"
                if distance < 0.5
                else ">=0.5"
            )
            bands[band][0] += 1
            bands[band][1] += early != full
            differ += early != full
            taken_sum += taken
        per_model[model_id] = {
            "noise_cv": statistics.stdev(noise) / statistics.mean(noise),
            "disagreement": differ / args.sequences,
            "mean_pairs": taken_sum / args.sequences,
        }
        print(
            f"{model_id}: pair noise CV {per_model[model_id]['noise_cv']:.3f}, grades differ "
            f"in {differ / args.sequences:.2%}, mean pairs {taken_sum / args.sequences:.2f}"
        )
    total = sum(n for n, _ in bands.values())
    result = {
        "rule": {"fewest": args.fewest, "most": args.most, "margin": args.margin},
        "sequences": total,
        "disagreement": sum(d for _, d in bands.values()) / total,
        "mean_pairs": statistics.mean(m["mean_pairs"] for m in per_model.values()),
        "by_boundary_distance_log2": {
            band: {"sequences": n, "disagreement": d / n if n else None}
            for band, (n, d) in bands.items()
        },
        "models": per_model,
        "recorded": str(args.recorded),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"overall: grades differ in {result['disagreement']:.2%} of {total} sequences, "
        f"mean pairs {result['mean_pairs']:.2f} of {args.most} -> {args.out}"
    )


if __name__ == "__main__":
    main()
