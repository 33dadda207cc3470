#!/usr/bin/python3
"""suite_makespan - makespan / lower bound of a generated pytest suite: Tessera vs count split

Generates a pytest suite of --tests tests (default 2,000) whose durations are
known: each test sleeps a log-normal time (seed fixed, scaled so the whole
suite is --work seconds of sleeping), the tests in --files files. Then, side by
side in one run on the same machine:
  tessera:  `tessera run --no-cache --json F -- /usr/bin/python3 -m pytest -p
            no:cacheprovider` on the embedded local cluster, twice in one fresh
            cache (HOME and XDG_CACHE_HOME under /dev/shm): the first run learns
            the per-test timings, the second is planned from them and reported
            (the first is printed too)
  count:    the split jest (`--shard i/S`) and nextest (`--partition count:i/S`)
            do: the collected test ids cut into S = slots contiguous chunks of
            equal count, run as S parallel `pytest` processes directly (no
            cluster); makespan = wall time of the slowest (= of all of them)
For each it prints makespan / lower bound, lower bound = max(total work / slots,
longest test), slots = len(os.sched_getaffinity(0)). Tessera's makespan is
given twice: wall time measured outside the CLI (start-up, listing and exit
included), and the run's own "wall_s" from --json. Target: Tessera <= 1.10
(printed, never fails the build). Each test also pays pytest's own per-test
cost (~1 ms here), which the lower bound does not count, on every side alike:
the default --work (96 s, 48 ms a test on average) keeps it a few per cent; a
second ratio ("w/ cost") divides by the bound plus that cost, measured as one
serial bare pytest over a twin suite that does not sleep.

    bench/suite_makespan.py --tessera build-rel/cli/tessera [--tests 2000] [--work 96]
`cmake --build BUILD --target bench` runs it with the built binary.        """

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time

PYTHON = "/usr/bin/python3"
TARGET = 1.10


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def make_suite(ws, tests, files, work, seed, sigma, sleeps=True):
    """Write the suite; return [(node_id, seconds)] in collection order.
    `sleeps` False: the same files and tests, each sleeping 0 s (the twin
    suite that measures pytest's own cost)."""
    rng = random.Random(seed)
    raw = [rng.lognormvariate(0.0, sigma) for _ in range(tests)]
    scale = work / sum(raw)
    durations = [round(d * scale, 6) for d in raw]
    # files of uneven size too: cut points drawn at random, sorted
    cuts = sorted(rng.sample(range(1, tests), files - 1))
    bounds = list(zip([0] + cuts, cuts + [tests]))
    suite = []
    tdir = os.path.join(ws, "tests")
    os.makedirs(tdir)
    for fno, (lo, hi) in enumerate(bounds):
        name = f"tests/test_m{fno:03d}.py"
        lines = ["import time\n"]
        for i in range(lo, hi):
            seconds = durations[i] if sleeps else 0.0
            lines.append(f"\n\ndef test_t{i:04d}():\n    time.sleep({seconds!r})\n")
            suite.append((f"{name}::test_t{i:04d}", durations[i]))
        with open(os.path.join(ws, name), "w", encoding="utf-8") as stream:
            stream.writelines(lines)
    with open(os.path.join(ws, "pytest.ini"), "w", encoding="utf-8") as stream:
        stream.write("[pytest]\n")
    return suite


def tessera_run(tessera, ws, env, out, expect, no_cache=True):
    # Tessera has no per-test result cache yet, so --no-cache only forces the
    # listing (collection) step to run again. The second run of an unchanged
    # suite reuses its listing, as a CI re-run would. When result caching lands,
    # the second run must keep results from being replayed.
    argv = [tessera, "run", "-C", ws] + (["--no-cache"] if no_cache else []) + [
        "--json", out, "--", PYTHON, "-m", "pytest", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"suite_makespan: tessera exited {result.returncode}\n"
                 f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    with open(out, encoding="utf-8") as stream:
        summary = json.load(stream)
    passed = summary.get("tests", {}).get("passed")
    if summary.get("status") != "passed" or passed != expect:
        sys.exit(f"suite_makespan: tessera run did not pass {expect} tests: "
                 f"status={summary.get('status')} tests={summary.get('tests')}")
    return elapsed, float(summary["wall_s"]), summary.get("shards")


def count_split_run(ws, suite, slots, root, env):
    ids = [node for node, _ in suite]
    per = -(-len(ids) // slots)
    chunks = [ids[i:i + per] for i in range(0, len(ids), per)]
    procs = []
    started = time.perf_counter()
    for index, chunk in enumerate(chunks):
        argfile = os.path.join(root, f"chunk{index}.txt")
        with open(argfile, "w", encoding="utf-8") as stream:
            stream.write("\n".join(chunk) + "\n")
        # ids passed as args (chunkN.txt keeps a copy for inspection)
        log = open(os.path.join(root, f"chunk{index}.log"), "w", encoding="utf-8")
        procs.append((subprocess.Popen([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                        *chunk], cwd=ws, stdout=log, stderr=subprocess.STDOUT,
                                       env=env), log, len(chunk)))
    ends = [None] * len(procs)
    while None in ends:  # each chunk's own end, not the order they are waited for
        for index, (proc, log, _) in enumerate(procs):
            if ends[index] is None and proc.poll() is not None:
                ends[index] = time.perf_counter() - started
                log.close()
                if proc.returncode != 0:
                    sys.exit(f"suite_makespan: count-split pytest exited {proc.returncode}, "
                             f"see {log.name}")
        time.sleep(0.01)
    return max(ends), ends, [n for _, _, n in procs]


def pytest_cost_run(root, args, env):
    """Wall time of one serial bare `pytest` over the twin suite (same files
    and tests, no sleeps): pytest's own cost for the whole suite, start-up
    and collection included."""
    ws = os.path.join(root, "twin")
    os.makedirs(ws)
    make_suite(ws, args.tests, args.files, args.work, args.seed, args.sigma, sleeps=False)
    started = time.perf_counter()
    result = subprocess.run([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ws,
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"suite_makespan: the twin suite's pytest exited {result.returncode}\n"
                 f"{result.stdout[-3000:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tessera", default=os.environ.get("TESSERA_BIN"))
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--files", type=int, default=150)
    parser.add_argument("--work", type=float, default=96.0,
                        help="total sleep seconds (default 96: 48 ms a test on average)")
    parser.add_argument("--sigma", type=float, default=1.2, help="log-normal shape")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    if not args.tessera or not os.access(args.tessera, os.X_OK):
        parser.error("--tessera PATH (or TESSERA_BIN) must name the built tessera binary")
    tessera = os.path.abspath(args.tessera)
    slots = len(os.sched_getaffinity(0))

    root = tempfile.mkdtemp(prefix="tsr-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    ws = os.path.join(root, "ws")
    for sub in ("home", "cache", "ws"):
        os.makedirs(os.path.join(root, sub))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env["HOME"] = os.path.join(root, "home")
    env["XDG_CACHE_HOME"] = os.path.join(root, "cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        suite = make_suite(ws, args.tests, args.files, args.work, args.seed, args.sigma)
        total = sum(d for _, d in suite)
        longest = max(d for _, d in suite)
        bound = max(total / slots, longest)
        first = tessera_run(tessera, ws, env, os.path.join(root, "first.json"), len(suite))
        second = tessera_run(tessera, ws, env, os.path.join(root, "second.json"), len(suite),
                             no_cache=False)
        count_wall, count_ends, count_sizes = count_split_run(ws, suite, slots, root, env)
        pytest_cost = pytest_cost_run(root, args, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    # The bound plus pytest's own cost of the suite, perfectly shared out
    cost_bound = max((total + pytest_cost) / slots, longest)
    numbers = {
        "machine": {"cpus": slots, "cpu": cpu_model(), "kernel": platform.release(),
                    "loadavg_1m": os.getloadavg()[0]},
        "tests": len(suite), "files": args.files, "seed": args.seed, "sigma": args.sigma,
        "total_work_s": total, "longest_s": longest, "slots": slots, "lower_bound_s": bound,
        "pytest_cost_s": pytest_cost, "bound_with_pytest_cost_s": cost_bound,
        "tessera_first": {"wall_s": first[0], "run_wall_s": first[1], "shards": first[2],
                          "ratio": first[0] / bound, "run_ratio": first[1] / bound},
        "tessera": {"wall_s": second[0], "run_wall_s": second[1], "shards": second[2],
                    "ratio": second[0] / bound, "run_ratio": second[1] / bound},
        "count_split": {"wall_s": count_wall, "chunk_end_s": count_ends,
                        "chunk_tests": count_sizes, "ratio": count_wall / bound},
    }
    print(f"machine: {slots} slots, {numbers['machine']['cpu']}, Linux {platform.release()}, "
          f"load average {os.getloadavg()[0]:.2f} (other work skews both sides)")
    print(f"suite: {len(suite)} tests in {args.files} files, log-normal sleeps (sigma {args.sigma}, "
          f"seed {args.seed}), total work {total:.2f} s, longest {longest:.3f} s")
    print(f"lower bound = max({total:.2f}/{slots}, {longest:.3f}) = {bound:.3f} s")
    print(f"pytest's own cost of the suite (serial, no sleeps) {pytest_cost:.2f} s: "
          f"bound with it = max(({total:.2f} + {pytest_cost:.2f})/{slots}, {longest:.3f}) "
          f"= {cost_bound:.3f} s (column 'w/ cost')")
    print(f"  {'side':44s} {'wall':>8s} {'ratio':>6s} {'w/ cost':>7s}")
    for label, (wall, run_wall, shards) in (("tessera, 1st run (no history)", first),
                                            ("tessera, 2nd run (measured timings)", second)):
        print(f"  {label + f', {shards} shards':44s} {wall:7.3f}s {wall / bound:6.3f} "
              f"{wall / cost_bound:7.3f}")
        print(f"  {'  same, run wall_s from --json':44s} {run_wall:7.3f}s {run_wall / bound:6.3f} "
              f"{run_wall / cost_bound:7.3f}")
    print(f"  {f'count split, {slots} chunks of {count_sizes[0]} (jest/nextest)':44s} "
          f"{count_wall:7.3f}s {count_wall / bound:6.3f} {count_wall / cost_bound:7.3f}"
          f"   chunk ends " + ", ".join(f"{e:.2f}s" for e in count_ends))
    ratio = second[0] / bound
    print(f"target tessera (2nd run) <= {TARGET:.2f}: {ratio:.3f} (run wall_s {second[1] / bound:.3f}) "
          f"-> {'met' if ratio <= TARGET else ('met on run wall_s' if second[1] / bound <= TARGET else 'NOT met')}")
    print(f"count split / tessera: {count_wall / second[0]:.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(numbers, stream, indent=2)
            stream.write("\n")


if __name__ == "__main__":
    main()
