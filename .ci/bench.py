"""`make bench`: how long the book takes to build and check, on this machine.

Runs in its own build folder (``_build/bench``), so the main build is left
alone. Prints a table of medians over ``--runs`` repetitions:

* cold ``make html``: environment installed, execution cache empty;
* no-change rebuild;
* one chapter's prose edited (no code cell changed: nothing re-executes);
* one ``regbook`` module edited (only the pages that import it re-execute), and
  one module inside the ``regbook.experiments`` subpackage;
* the cost of 5 seeds trained together relative to 1 seed (the experiment
  harness, one torch thread as in a build kernel, median of 5 in one process);
* ``make test`` (one run: lint, pytest, strict build from the cache, doctest, site tests);
  ``--skip-test`` (``make bench SKIP_TEST=1``) leaves it out.

Edits are undone afterwards, whatever happens.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = "_build/bench"
PROSE = ROOT / "book" / "penalties.md"
MODULE = ROOT / "regbook" / "early_stopping.py"
SUBMODULE = ROOT / "regbook" / "experiments" / "dropout.py"

# A representative experiment: 300 digits, a 64-128-128-10 MLP with BatchNorm and
# dropout, mini-batches of 32, Adam, 10 epochs, trained for 1 seed and for 5 seeds.
SEED_COST = """
import statistics, time, torch
torch.set_num_threads(1)
from regbook.experiments import harness as H
def run(seeds):
    streams = [H.seed_streams(s) for s in seeds]
    tr, va, _ = H.digit_splits(300, 100, seeds)
    net = H.build_mlp(64, [128, 128], 10, streams=streams, norm="batch", dropout=0.1)
    t0 = time.perf_counter()
    H.fit(net, tr, streams=streams, num_classes=10, epochs=10, batch_size=32, val=va)
    return time.perf_counter() - t0
run([0]); run([0, 1, 2, 3, 4])
one = statistics.median(run([0]) for _ in range(5))
five = statistics.median(run([0, 1, 2, 3, 4]) for _ in range(5))
print(f"{one:.3f} {five:.3f}")
"""


def make(target: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(["make", target, f"BUILDDIR={BUILD}"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"make {target} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return seconds, out.stdout + out.stderr


def executed(log: str) -> list[str]:
    return sorted({Path(m).stem for m in re.findall(r"(\S+\.md): Executing notebook", log)})


def edited(path: Path, runs: int) -> tuple[list[float], list[str]]:
    original = path.read_text()
    times, pages = [], []
    try:
        for i in range(runs):
            path.write_text(original + f"\n<!-- bench edit {i} -->\n" if path.suffix == ".md"
                            else original + f"\n# bench edit {i}\n")
            seconds, log = make("html")
            times.append(seconds)
            pages = executed(log)
    finally:
        path.write_text(original)
    make("html")  # back to the unedited state (not timed)
    return times, pages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-test", action="store_true", help="leave out the `make test` row (about 15 minutes)")
    args = ap.parse_args()
    runs = args.runs
    print("| step | median (s) | runs | note |\n|---|---|---|---|", flush=True)

    def row(name: str, times: list[float], note: str = "") -> None:
        print(f"| {name} | {statistics.median(times):.1f} | {len(times)} | {note} |", flush=True)

    cold = []
    for _ in range(runs):
        shutil.rmtree(ROOT / BUILD, ignore_errors=True)
        seconds, log = make("html")
        cold.append(seconds)
    row("cold `make html` (cache empty)", cold, f"{len(executed(log))} pages executed")
    row("no-change rebuild", [make("html")[0] for _ in range(runs)])
    t, pages = edited(PROSE, runs)
    row(f"edit prose of {PROSE.name}", t, f"re-executed: {', '.join(pages) or 'none'}")
    t, pages = edited(MODULE, runs)
    row(f"edit regbook/{MODULE.name}", t, f"re-executed: {', '.join(pages) or 'none'}")
    if SUBMODULE.is_file():
        t, pages = edited(SUBMODULE, runs)
        row(f"edit regbook/experiments/{SUBMODULE.name}", t, f"re-executed: {', '.join(pages) or 'none'}")
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", SEED_COST], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    one, five = float(out[0]), float(out[1])
    print(f"| 5 seeds together / 1 seed | {five / one:.2f}x | 5 | {one:.2f} s vs {five:.2f} s (budget <= 2x) |",
          flush=True)
    if not args.skip_test:
        row("`make test` (cache warm)", [make("test")[0]], "one run")


if __name__ == "__main__":
    main()
