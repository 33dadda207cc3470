#!/usr/bin/python3
"""xdist_compare - a real Debian pytest suite: Tessera vs pytest-xdist vs serial pytest

The suite: the tests networkx ships in Debian's python3-networkx binary package
(networkx/**/tests, pure Python; numpy/scipy/... tests skip themselves when
those are absent). The script fetches it itself, offline afterwards:
    apt-get download python3-networkx      (into a temp dir under /dev/shm;
                                            only the package lists apt has)
    dpkg-deb -x python3-networkx_*.deb X    (nothing is installed)
and runs `python3 -m pytest` from X/usr/lib/python3/dist-packages, so the
extracted networkx is the one imported. (Debian's source packages are not used:
`apt-get source` needs deb-src entries, and the mirror here serves no source
tarballs.) --deb FILE uses an already downloaded .deb instead.
The whole suite takes minutes serially, so by default a subset of directories
is run (--paths); the same paths on every side.

Side by side in one run on the same machine:
  serial:         /usr/bin/python3 -m pytest -p no:cacheprovider PATHS
  xdist load:     ... -n N                 (pytest-xdist default --dist load)
  xdist loadfile: ... -n N --dist loadfile
  tessera:        tessera run --no-cache -- /usr/bin/python3 -m pytest -p
                  no:cacheprovider PATHS, embedded cluster, twice in one fresh
                  cache (HOME, XDG_CACHE_HOME under /dev/shm): 1st learns the
                  test timings, 2nd is planned from them
N = len(os.sched_getaffinity(0)). Prints wall times (measured outside each
command) and the ratios xdist/tessera and serial/side.

    bench/xdist_compare.py --tessera build-rel/cli/tessera [--paths networkx/classes ...]
"""

import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

PYTHON = "/usr/bin/python3"
DEFAULT_PATHS = ["networkx/classes", "networkx/generators", "networkx/utils"]


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(argv, cwd, env, what):
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"xdist_compare: {what} exited {result.returncode}\n"
                 f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    tail = [l for l in result.stdout.splitlines() if l.strip()][-1:] or [""]
    return elapsed, tail[0].strip("= ")


def fetch(root, deb):
    if not deb:
        subprocess.run(["apt-get", "download", "python3-networkx"], cwd=root, check=True,
                       capture_output=True)
        debs = glob.glob(os.path.join(root, "python3-networkx_*.deb"))
        if not debs:
            sys.exit("xdist_compare: apt-get download python3-networkx gave no .deb")
        deb = debs[0]
    tree = os.path.join(root, "pkg")
    subprocess.run(["dpkg-deb", "-x", deb, tree], check=True)
    return os.path.basename(deb), os.path.join(tree, "usr/lib/python3/dist-packages")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tessera", default=os.environ.get("TESSERA_BIN"))
    parser.add_argument("--deb", help="use this python3-networkx .deb, don't download")
    parser.add_argument("--paths", nargs="+", default=DEFAULT_PATHS)
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    if not args.tessera or not os.access(args.tessera, os.X_OK):
        parser.error("--tessera PATH (or TESSERA_BIN) must name the built tessera binary")
    tessera = os.path.abspath(args.tessera)
    deb = os.path.abspath(args.deb) if args.deb else None
    slots = len(os.sched_getaffinity(0))

    root = tempfile.mkdtemp(prefix="tsr-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    for sub in ("home", "cache"):
        os.makedirs(os.path.join(root, sub))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env["HOME"] = os.path.join(root, "home")
    env["XDG_CACHE_HOME"] = os.path.join(root, "cache")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    pytest = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider"]
    try:
        debname, ws = fetch(root, deb)
        sides = {}
        sides["serial"] = run(pytest + ["-q"] + args.paths, ws, env, "serial pytest")
        sides["xdist_load"] = run(pytest + ["-q", "-n", str(slots)] + args.paths, ws, env,
                                  "pytest -n")
        sides["xdist_loadfile"] = run(pytest + ["-q", "-n", str(slots), "--dist", "loadfile"]
                                      + args.paths, ws, env, "pytest -n --dist loadfile")
        summaries = []
        for tag in ("tessera_first", "tessera"):
            out = os.path.join(root, f"{tag}.json")
            elapsed, _ = run([tessera, "run", "-C", ws, "--no-cache", "--json", out, "--"]
                             + pytest + args.paths, ws, env, "tessera run")
            with open(out, encoding="utf-8") as stream:
                summary = json.load(stream)
            summaries.append(summary)
            sides[tag] = (elapsed, f"{summary.get('status')} {summary.get('tests')} "
                                   f"shards={summary.get('shards')} wall_s={summary.get('wall_s')}")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    t = sides["tessera"][0]
    numbers = {"machine": {"cpus": slots, "cpu": cpu_model(), "kernel": platform.release(),
                           "loadavg_1m": os.getloadavg()[0]},
               "package": debname, "paths": args.paths,
               "wall_s": {k: v[0] for k, v in sides.items()},
               "tessera_summary": {k: summaries[1].get(k) for k in ("status", "tests", "shards", "wall_s")},
               "ratio_xdist_load_over_tessera": sides["xdist_load"][0] / t,
               "ratio_xdist_loadfile_over_tessera": sides["xdist_loadfile"][0] / t}
    print(f"machine: {slots} slots, {numbers['machine']['cpu']}, Linux {platform.release()}, "
          f"load average {os.getloadavg()[0]:.2f} (other work skews all sides)")
    print(f"suite: {debname}, pytest {' '.join(args.paths)}")
    labels = {"serial": "pytest (serial)", "xdist_load": f"pytest -n {slots} (--dist load)",
              "xdist_loadfile": f"pytest -n {slots} --dist loadfile",
              "tessera_first": "tessera run, 1st (no history)",
              "tessera": "tessera run, 2nd (measured timings)"}
    for key, label in labels.items():
        wall, tail = sides[key]
        print(f"  {label:38s} {wall:7.2f}s  serial/this {sides['serial'][0] / wall:5.2f}x  [{tail}]")
    print(f"ratio xdist load / tessera:     {numbers['ratio_xdist_load_over_tessera']:.2f}")
    print(f"ratio xdist loadfile / tessera: {numbers['ratio_xdist_loadfile_over_tessera']:.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(numbers, stream, indent=2)
            stream.write("\n")


if __name__ == "__main__":
    main()
