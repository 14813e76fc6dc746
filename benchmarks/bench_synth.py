"""How long the synthetic generator takes: the default data set and 1,000,000 completes.

A benchmark that prints figures, not a test. Run from the repository root:

    PYTHONPATH=. python benchmarks/bench_synth.py [--n 1000000] [--repeat 1]

The generator must stay vectorised: 1,000,000 completes (about 2.17 million rows with the
screen-outs) should take well under a minute on a laptop-class machine.
"""

from __future__ import annotations

import argparse
import time

from calaim import synth


def bench(n: int, repeat: int = 1) -> list[float]:
    times = []
    for _ in range(repeat):
        synth._CACHE.clear()
        start = time.perf_counter()
        df = synth.generate(n=n)
        times.append(time.perf_counter() - start)
    print(
        f"n = {n:>9,} completes -> {len(df):>9,} rows x {df.shape[1]} columns: "
        + ", ".join(f"{t:.1f} s" for t in times)
    )
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="completes for the large run (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    bench(synth.DEFAULT_N, args.repeat)
    t = bench(args.n, args.repeat)
    budget = 60.0
    print(f"large run: {min(t):.1f} s ({'within' if min(t) < budget else 'OVER'} the {budget:.0f} s budget)")


if __name__ == "__main__":
    main()
