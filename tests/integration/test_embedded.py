"""test_embedded - `tessera run` with no coordinator: the embedded local cluster

Each test runs the real `tessera` binary in an empty temp HOME with
XDG_CACHE_HOME unset and an empty workspace as its cwd: nothing is set up
beforehand (no keys, no daemons).                                          """

import os
import re

from harness import shard_index, source_dir


def cache_dir(cluster):
    return os.path.join(cluster.home, ".cache", "tessera")


def test_embedded_true_exits_0(cluster):
    result, summary = cluster.run("--", "true", json_path=cluster.path("out.json"), client=False)
    assert summary["status"] == "passed", summary
    assert summary["shards"] == 1 and len(summary["results"]) == 1, summary
    assert os.path.isdir(cache_dir(cluster)), "no cache under $HOME/.cache/tessera"
    print(f"embedded `run -- true`: {result.elapsed_s:.2f}s")


def test_embedded_false_exits_1(cluster):
    _, summary = cluster.run("--", "false", json_path=cluster.path("out.json"), client=False,
                             expect_exit=1)
    assert summary["status"] == "failed", summary
    assert [r["outcome"] for r in summary["results"]] == ["failed"], summary
    assert summary["tests"]["failed"] == 1, summary["tests"]


def test_embedded_runs_four_shards(cluster):
    script = "echo shard=$TSR_SHARD_INDEX count=$TSR_SHARD_COUNT; exit 0"
    result, summary = cluster.run("--shards", "4", "--", "sh", "-c", script,
                                  json_path=cluster.path("out.json"), client=False)
    assert summary["status"] == "passed", summary
    assert summary["shards"] == 4, summary
    ids = [r["id"] for r in summary["results"]]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    assert sorted(shard_index(i) for i in ids) == [0, 1, 2, 3], ids
    assert all(r["outcome"] == "passed" for r in summary["results"]), summary["results"]
    assert summary["tests"] == {"total": 4, "passed": 4, "failed": 0, "skipped": 0, "flaky": 0}, \
        summary["tests"]
    printed = sorted(re.findall(r"shard=(\d) count=4", result.stdout))
    assert printed == ["0", "1", "2", "3"], f"shard output tails not printed:\n{result.stdout}"


def test_embedded_second_run_uploads_nothing(cluster):
    with open(os.path.join(cluster.workspace, "input.txt"), "w", encoding="utf-8") as stream:
        stream.write("x" * 50000)
    _, first = cluster.run("--", "test", "-s", "input.txt", json_path=cluster.path("first.json"),
                           client=False)
    assert first["uploaded_bytes"] >= 50000, first
    _, second = cluster.run("--", "test", "-s", "input.txt",
                            json_path=cluster.path("second.json"), client=False)
    assert second["uploaded_bytes"] == 0, second


NEEDS_SPEC = """project: itest-needs
jobs:
  second:
    needs: [first]
    command: [sh, -c, "test -e {root}/first-done"]
  first:
    command: [sh, -c, "sleep 0.5; touch {root}/first-done"]
  after-failure:
    needs: [broken]
    command: [sh, -c, "touch {root}/must-not-run"]
  broken:
    command: "false"
"""


def test_needs_runs_jobs_in_order_and_skips_after_failure(cluster):
    with open(os.path.join(cluster.workspace, "tessera.yml"), "w", encoding="utf-8") as stream:
        stream.write(NEEDS_SPEC.format(root=cluster.root))
    _, summary = cluster.run(json_path=cluster.path("out.json"), client=False, expect_exit=1)
    outcomes = {r["id"]: r["outcome"] for r in summary["results"]}
    assert outcomes.get("first") == "passed", outcomes
    assert outcomes.get("second") == "passed", f"`second` ran before `first` ended: {outcomes}"
    assert outcomes.get("broken") == "failed", outcomes
    assert outcomes.get("after-failure") in (None, "skipped", "cancelled"), outcomes
    assert not os.path.exists(os.path.join(cluster.root, "must-not-run")), \
        "a job ran although the job it needs failed"


def test_examples_demo_runs(cluster):
    demo = os.path.join(source_dir(), "examples", "demo")
    result, summary = cluster.run("-C", demo, json_path=cluster.path("out.json"), client=False)
    assert summary["status"] == "passed", summary
    ids = sorted(r["id"] for r in summary["results"])
    assert ids == ["build", "test/0", "test/1", "test/2", "test/3"], ids
    printed = sorted(re.findall(r"test shard (\d) of 4 on CPU (\S+)", result.stdout))
    assert [index for index, _ in printed] == ["0", "1", "2", "3"], \
        f"demo shard output not printed:\n{result.stdout}"
    for index, cpus in printed:  # each slot is one hardware thread
        assert re.fullmatch(r"\d+", cpus), f"shard {index} was allowed CPUs {cpus}, want one"
