"""test_steal - work stealing on a real coordinator and two real agents

A generated pytest suite where one file holds most of the time (40 tests of
0.25 s in tests/test_heavy.py, 200 fast tests in 20 other files) runs cold
(no timing history) as `--shards 2` across agent-a (CPU 0) and agent-b
(CPU 1), one slot each. The planner keeps a file in one shard, so without
stealing the heavy file runs on one agent only while the other idles. With
stealing, the idle agent takes the not-started tail of the heavy shard: the
coordinator logs a split, the heavy file's tests run on both agents, every
id is reported exactly once and the outcomes equal a serial run. No timing
assertions.                                                                """

import os
import re

from test_cluster import agent_name_of, two_agents
from test_frameworks import OUTCOME_PLUGIN, PYTHON, results_by_id, run_serial

HEAVY = '''import time

import pytest


@pytest.mark.parametrize("n", range(40))
def test_slow(n):
    time.sleep(0.25)
    if n == 21:
        pytest.skip("skipped on purpose")
    assert n != 13, "fails on purpose"
'''

FAST = '''import pytest


@pytest.mark.parametrize("n", range(10))
def test_fast(n):
    assert (FILE, n) != (7, 3), "fails on purpose"
'''


def write_suite(root):
    tests = os.path.join(root, "tests")
    os.makedirs(tests)
    with open(os.path.join(tests, "test_heavy.py"), "w", encoding="utf-8") as stream:
        stream.write(HEAVY)
    for index in range(20):
        with open(os.path.join(tests, f"test_fast_{index:02d}.py"), "w",
                  encoding="utf-8") as stream:
            stream.write(FAST.replace("FILE", str(index)))
    return root


def serial_outcomes(cluster, workspace):
    """{node id: outcome} of plain pytest on the suite."""
    plugin_dir = cluster.path("plugin")
    os.makedirs(plugin_dir, exist_ok=True)
    with open(os.path.join(plugin_dir, "tsr_it_outcomes.py"), "w", encoding="utf-8") as stream:
        stream.write(OUTCOME_PLUGIN)
    outcomes_path = cluster.path("serial-outcomes.json")
    env = dict(cluster.env, PYTHONPATH=plugin_dir, TSR_IT_OUTCOMES=outcomes_path)
    result = run_serial([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                         "tsr_it_outcomes", "-q"], workspace, env)
    assert result.returncode == 1, f"serial pytest: exit {result.returncode}\n" \
        f"{result.stdout}{result.stderr}"
    import json
    with open(outcomes_path, encoding="utf-8") as stream:
        return json.load(stream)


def test_idle_agent_steals_the_tail_of_the_heavy_shard(cluster):
    serial = serial_outcomes(cluster, write_suite(cluster.path("serial-ws")))
    assert len(serial) == 240, f"serial pytest found {len(serial)} tests"
    two_agents(cluster)
    workspace = write_suite(cluster.path("ws"))
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--", PYTHON, "-m", "pytest",
                             json_path=json_path, expect_exit=1, timeout_s=150)
    # Every id exactly once, with the serial outcome
    results = results_by_id(summary)
    got = {test_id: result["outcome"] for test_id, result in results.items()}
    assert sorted(got) == sorted(serial), (
        f"ids differ\n  only serial: {sorted(set(serial) - set(got))}"
        f"\n  only tessera: {sorted(set(got) - set(serial))}")
    differing = {i: (serial[i], got[i]) for i in serial if serial[i] != got[i]}
    assert not differing, f"outcomes differ (serial, tessera): {differing}"
    for result in summary["results"]:
        assert result["attempts"] == 1, f"ran more than once: {result}"
    # The coordinator split a running shard
    log = cluster.coordinator.log_text()
    splits = re.findall(r"split: (\d+) tests of shard \S+ moved", log)
    assert splits, "no split in the coordinator log"
    # ... and the heavy file ran on both agents
    listing = cluster.agents()
    heavy_agents = {agent_name_of(cluster, result["agent"], listing)
                    for result in summary["results"]
                    if result["id"].startswith("tests/test_heavy.py::")}
    assert heavy_agents == {"agent-a", "agent-b"}, (
        f"the heavy file ran on {heavy_agents}; splits: {splits}")
    assert summary["shards"] >= 3, f"shards={summary['shards']} after {len(splits)} splits"
