#!/usr/bin/python3
"""noop_shards - no-op shards per second: embedded cluster vs. spawning directly

Measures, side by side in one run and on the same machine:
  tessera:  `tessera run --shards N -- true` on the embedded local cluster
            (in-process coordinator and agents, CURVE, LMDB, one slot per CPU)
  direct:   `seq N | xargs -P $(nproc) -n1 true` (the same N no-op processes,
            as parallel as the machine allows, with no cluster at all)
and prints both rates and their ratio. Also times `--shards 1` (the fixed
cost of starting the embedded cluster) so the marginal per-shard cost shows.

Runs in a throwaway HOME under /dev/shm with an empty workspace, after one
warm-up run (keys and caches are made on first use). Each measurement is the
median of --repeat runs, alternating tessera and direct.

    bench/noop_shards.py --tessera build/cli/tessera [--shards 200] [--repeat 3]
`cmake --build BUILD --target bench` runs it with the built binary.        """

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(argv, **kwargs):
    started = time.perf_counter()
    result = subprocess.run(argv, stdin=kwargs.pop("stdin", subprocess.DEVNULL),
                            capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"noop_shards: {' '.join(argv)} exited {result.returncode}\n"
                 f"{result.stdout}{result.stderr}")
    return elapsed


def tessera_run(tessera, shards, root, env, tag):
    out = os.path.join(root, f"{tag}.json")
    elapsed = timed([tessera, "run", "--shards", str(shards), "--json", out, "--", "true"],
                    cwd=os.path.join(root, "ws"), env=env)
    with open(out, encoding="utf-8") as stream:
        summary = json.load(stream)
    if summary.get("status") != "passed" or summary.get("shards") != shards:
        sys.exit(f"noop_shards: run did not pass {shards} shards: {summary}")
    return elapsed


def direct_run(shards, jobs):
    feed = "".join(f"{i}\n" for i in range(shards))
    started = time.perf_counter()
    result = subprocess.run(["xargs", "-P", str(jobs), "-n1", "true"], input=feed, text=True,
                            capture_output=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"noop_shards: xargs exited {result.returncode}: {result.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tessera", default=os.environ.get("TESSERA_BIN"),
                        help="path of the built tessera binary")
    parser.add_argument("--shards", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    if not args.tessera or not os.access(args.tessera, os.X_OK):
        parser.error("--tessera PATH (or TESSERA_BIN) must name the built tessera binary")
    tessera = os.path.abspath(args.tessera)
    jobs = os.cpu_count() or 1

    root = tempfile.mkdtemp(prefix="tsr-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    os.makedirs(os.path.join(root, "home"))
    os.makedirs(os.path.join(root, "ws"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.pop("XDG_CACHE_HOME", None)
    env["HOME"] = os.path.join(root, "home")
    try:
        tessera_run(tessera, args.shards, root, env, "warmup")
        startup, cluster, direct = [], [], []
        for index in range(args.repeat):
            startup.append(tessera_run(tessera, 1, root, env, f"one-{index}"))
            cluster.append(tessera_run(tessera, args.shards, root, env, f"many-{index}"))
            direct.append(direct_run(args.shards, jobs))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    n = args.shards
    t_one, t_cluster, t_direct = (statistics.median(x) for x in (startup, cluster, direct))
    rate_cluster, rate_direct = n / t_cluster, n / t_direct
    marginal = (n - 1) / (t_cluster - t_one) if t_cluster > t_one else float("inf")
    numbers = {
        "machine": {"cpus": jobs, "cpu": cpu_model(), "kernel": platform.release(),
                    "loadavg_1m": os.getloadavg()[0]},
        "shards": n,
        "repeat": args.repeat,
        "tessera_s": t_cluster,
        "tessera_one_shard_s": t_one,
        "direct_s": t_direct,
        "tessera_shards_per_s": rate_cluster,
        "tessera_marginal_shards_per_s": marginal,
        "direct_per_s": rate_direct,
        "ratio_direct_over_tessera": rate_direct / rate_cluster,
    }
    print(f"machine: {jobs} CPUs, {numbers['machine']['cpu']}, Linux {platform.release()}, "
          f"load average {os.getloadavg()[0]:.2f} (other work skews both sides)")
    print(f"no-op shards: N={n}, median of {args.repeat}, after one warm-up")
    print(f"  tessera run --shards {n} -- true      {t_cluster:7.3f} s  {rate_cluster:8.1f} shards/s")
    print(f"  tessera run --shards 1 -- true        {t_one:7.3f} s  (cluster start + one shard)")
    print(f"  marginal (N-1 shards after the first)            {marginal:8.1f} shards/s")
    print(f"  seq {n} | xargs -P {jobs} -n1 true     {t_direct:7.3f} s  {rate_direct:8.1f} processes/s")
    print(f"ratio direct/tessera: {rate_direct / rate_cluster:.1f}x "
          f"(tessera runs no-op shards at {100 * rate_cluster / rate_direct:.1f}% of the direct rate)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(numbers, stream, indent=2)
            stream.write("\n")


if __name__ == "__main__":
    main()
