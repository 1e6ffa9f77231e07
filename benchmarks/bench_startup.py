"""Start-up: the whole process of a small solve and of ``--help``, against what any such program pays.

One run, the commands taken in turn (A, B, C, ... then again, so that a drift of the machine's speed
touches each alike), a warm-up round first, then ``--repeat`` rounds; each command's best and median
wall time of the whole process (start, imports, work, exit):

- ``linearnet solve examples/houses.csv --target price`` (200 rows: almost all of it is start-up),
- ``linearnet --help``,
- ``python -c "import numpy, pyarrow"``: the floor of the imports a solve needs,
- ``python -c "import numpy, pyarrow, ..., scipy.linalg, scipy.special"``: that floor with the rest of
  what the solve imports (the triangular solves, the t and F tails), which bounds it,
- ``python -c pass``: the interpreter alone,
- R's ``summary(lm(price ~ ., read.csv("examples/houses.csv")))`` when ``Rscript`` is on PATH,
- with ``--baseline SRC`` (another checkout's ``src``, e.g. the code before a change), its solve and help
  too, in the same rounds.

linearnet's bytecode is compiled first, as an install has it. The ratios are within the run. Idle, then
again beside one competing busy process. Then the import-time profile of the solve (``python -X
importtime``, the least of three runs for each module), which is steadier than wall time on a shared
machine: what each package costs, cumulative, at the top level.

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --baseline ../other-checkout/src --repeat 11
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_robust import busy, machine

ROOT = Path(__file__).resolve().parent.parent
HOUSES = "examples/houses.csv"
TARGET_SOLVE = 0.35  # seconds, whole process
FLOOR_WITH_SCIPY = "import numpy, pyarrow, pyarrow.csv, pyarrow.compute, scipy.linalg, scipy.special"
R_CODE = f'summary(lm(price ~ ., read.csv("{HOUSES}")))'


def commands(baseline: str | None) -> dict[str, tuple[list[str], dict[str, str]]]:
    """name -> (argv, environment) of each command timed."""
    py = sys.executable
    path = [str(ROOT / "src"), os.environ.get("PYTHONPATH")]
    ours = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    found = {
        "solve": ([py, "-m", "linearnet", "solve", HOUSES, "--target", "price"], ours),
        "help": ([py, "-m", "linearnet", "--help"], ours),
        "numpy+pyarrow": ([py, "-c", "import numpy, pyarrow"], ours),
        "+scipy.linalg": ([py, "-c", FLOOR_WITH_SCIPY], ours),
        "python": ([py, "-c", "pass"], ours),
    }
    if shutil.which("Rscript"):
        found["R lm"] = (["Rscript", "-e", R_CODE], ours)
    if baseline:
        theirs = {**os.environ, "PYTHONPATH": str(Path(baseline).resolve())}
        found["solve (baseline)"] = (found["solve"][0], theirs)
        found["help (baseline)"] = (found["help"][0], theirs)
    return found


def wall(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return took


def rounds(found: dict, repeat: int) -> dict[str, list[float]]:
    """Each command once per round, the order turned by one each round; the first round not counted."""
    names = list(found)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeat + 1):
        turn = names[r % len(names) :] + names[: r % len(names)]
        for name in turn:
            took = wall(*found[name])
            if r:
                times[name].append(took)
    return times


def report(times: dict[str, list[float]], label: str) -> None:
    print(f"\n{label} ({len(next(iter(times.values())))} rounds)")
    print(f"{'command':<20} {'best s':>8} {'median s':>9}")
    for name, t in times.items():
        print(f"{name:<20} {min(t):8.3f} {statistics.median(t):9.3f}")
    best = {name: min(t) for name, t in times.items()}
    med = {name: statistics.median(t) for name, t in times.items()}

    def ratio(a: str, b: str, what: str) -> None:
        if a in best and b in best:
            print(f"  {what:<46} {best[a] / best[b]:6.2f}x best, {med[a] / med[b]:6.2f}x median")

    ratio("solve", "numpy+pyarrow", "solve / import numpy, pyarrow")
    ratio("solve", "+scipy.linalg", "solve / the same with scipy.linalg, .special")
    ratio("solve", "R lm", "solve / R's lm on the same file")
    ratio("solve", "solve (baseline)", "solve / the baseline's solve")
    ratio("help", "help (baseline)", "help / the baseline's help")
    ratio("help", "python", "help / python -c pass")
    verdict = "met" if best["solve"] <= TARGET_SOLVE else "missed"
    print(f"  small solve {best['solve']:.3f} s best: the aim of <= {TARGET_SOLVE} s {verdict}")


def import_profile(runs: int = 3) -> None:
    """The solve's ``-X importtime``, the least of ``runs`` for each module: the self times summed by
    package (they add up to the whole), then the cumulative times of the imports made at the top level."""
    argv = [sys.executable, "-X", "importtime", "-m", "linearnet", "solve", HOUSES, "--target", "price"]
    env = commands(None)["solve"][1]
    own: dict[str, int] = {}
    cumulative: dict[str, int] = {}
    for _ in range(runs):
        done = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            first, total, name = line.split("|")
            module = name.strip()
            own[module] = min(own.get(module, 1 << 62), int(first.split(":")[1]))
            if name.startswith(" ") and not name.startswith("  "):  # imported at the top level
                cumulative[module] = min(cumulative.get(module, 1 << 62), int(total))
    by_package: dict[str, int] = {}
    for module, us in own.items():
        by_package[module.split(".")[0]] = by_package.get(module.split(".")[0], 0) + us
    total = sum(by_package.values())
    print(f"\nimport-time profile of the solve (least of {runs} runs): {total / 1e3:.0f} ms in all")
    print("  by package (self times):")
    for package, us in sorted(by_package.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {package:<22} {us / 1e3:7.1f} ms")
    print("  top-level imports (cumulative, what each brought in):")
    for module, us in sorted(cumulative.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {module:<22} {us / 1e3:7.1f} ms")
    loaded = sorted({m.split(".")[0] for m in own if "." in m or own[m] >= 1000})  # a failed look costs ~20 us
    heavy = [p for p in loaded if p in {"pandas", "torch", "numba", "formulaic", "matplotlib", "sklearn"}]
    stats = [m for m in own if m.startswith("scipy.stats")][:1]
    print(f"  loaded and not needed: {', '.join(heavy + stats) or 'none'}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="rounds counted (default 7)")
    ap.add_argument("--baseline", metavar="SRC", help="another checkout's src to time beside this one")
    ap.add_argument("--no-busy", action="store_true", help="skip the round beside a busy process")
    args = ap.parse_args(argv)
    print(machine())
    print(f"# {os.getloadavg()[0]:.2f} load average at the start; python {sys.version.split()[0]}")
    found = commands(args.baseline)
    for src in filter(None, [ROOT / "src", args.baseline]):  # the bytecode an install has
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, stdout=subprocess.DEVNULL)
    report(rounds(found, args.repeat), "idle")
    if not args.no_busy:
        with busy(True):
            report(rounds(found, args.repeat), "beside one busy process")
    import_profile()


if __name__ == "__main__":
    main()
