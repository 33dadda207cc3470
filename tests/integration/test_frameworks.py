"""test_frameworks - issue 4 acceptance: test suites across two real agents

Each test copies one of the example suites (examples/pytest, examples/cargo,
examples/npm/node-test) into its temp root, runs it serially with the
framework itself for the reference (ids and outcomes), then runs it with
`tessera run` through a real coordinator and two real agents (agent-a on
CPU 0, agent-b on CPU 1) and compares: the same ids, the same outcomes,
every id exactly once. The misbehaving example tests (crash, hang, flaky)
are switched on through the agents' environment (TSR_EXAMPLE_*).          """

import collections
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from harness import source_dir
from test_cluster import agent_name_of, two_agents

PYTHON = "/usr/bin/python3"
SERIAL_TIMEOUT_S = 240

# A pytest plugin for the serial reference: node id -> outcome as pytest
# itself reports it (junit drops the file path and the xpass marker).
OUTCOME_PLUGIN = r'''
import json, os
_seen = {}
def _put(nodeid, outcome):
    if _seen.get(nodeid) in (None, "passed"):
        _seen[nodeid] = outcome
def pytest_collectreport(report):
    if report.outcome == "skipped":
        _put(report.nodeid, "skipped")
    elif report.outcome == "failed":
        _put(report.nodeid, "error")
def pytest_runtest_logreport(report):
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.skipped and xfail:
            _put(report.nodeid, "xfailed")
        elif report.passed and xfail:
            _put(report.nodeid, "xpassed")
        else:
            _put(report.nodeid, report.outcome)
    elif report.failed:
        _put(report.nodeid, "error")
    elif report.skipped:
        _put(report.nodeid, "skipped")
    elif report.when == "setup":
        _put(report.nodeid, "passed")
def pytest_sessionfinish(session):
    with open(os.environ["TSR_IT_OUTCOMES"], "w") as stream:
        json.dump(_seen, stream)
'''


def copy_example(cluster, relative, name):
    """examples/RELATIVE -> ROOT/NAME (without build output); returns the path."""
    destination = cluster.path(name)
    shutil.copytree(os.path.join(source_dir(), "examples", relative), destination,
                    ignore=shutil.ignore_patterns("target", "node_modules", "__pycache__",
                                                  ".pytest_cache"))
    return destination


def run_serial(argv, cwd, env):
    result = subprocess.run(argv, cwd=cwd, env=env, text=True, capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=SERIAL_TIMEOUT_S)
    return result


def pytest_serial(cluster, env_extra=None):
    """The serial reference for examples/pytest: {node id: outcome}."""
    workspace = copy_example(cluster, "pytest", "serial-pytest")
    plugin_dir = cluster.path("plugin")
    os.makedirs(plugin_dir, exist_ok=True)
    with open(os.path.join(plugin_dir, "tsr_it_outcomes.py"), "w", encoding="utf-8") as stream:
        stream.write(OUTCOME_PLUGIN)
    outcomes_path = cluster.path("serial-outcomes.json")
    env = dict(cluster.env, PYTHONPATH=plugin_dir, TSR_IT_OUTCOMES=outcomes_path,
               **(env_extra or {}))
    result = run_serial([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                         "tsr_it_outcomes", "-q"], workspace, env)
    assert result.returncode in (0, 1), f"serial pytest: exit {result.returncode}\n" \
        f"{result.stdout}{result.stderr}"
    with open(outcomes_path, encoding="utf-8") as stream:
        outcomes = json.load(stream)
    assert len(outcomes) > 20, f"serial pytest found only {outcomes}"
    return outcomes


def results_by_id(summary):
    """results[] -> {id: result}; every id exactly once."""
    ids = [result["id"] for result in summary["results"]]
    duplicated = sorted(i for i, n in collections.Counter(ids).items() if n > 1)
    assert not duplicated, f"reported more than once: {duplicated}"
    return {result["id"]: result for result in summary["results"]}


def outcome_counts(summary):
    return collections.Counter(result["outcome"] for result in summary["results"])


def agents_used(cluster, summary):
    listing = cluster.agents()
    return {agent_name_of(cluster, result["agent"], listing)
            for result in summary["results"] if result.get("agent")}


def with_agent_env(cluster, **variables):
    """Agents started after this inherit VARIABLES (so do CLI calls)."""
    cluster.env = dict(cluster.env, **variables)


def test_pytest_suite_matches_a_serial_run(cluster):
    serial = pytest_serial(cluster)
    two_agents(cluster)
    workspace = copy_example(cluster, "pytest", "pytest-ws")
    json_path = cluster.path("run.json")
    junit_path = cluster.path("run.xml")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--junit", junit_path, "--",
                             PYTHON, "-m", "pytest", json_path=json_path, expect_exit=1,
                             timeout_s=120)
    results = results_by_id(summary)
    got = {test_id: result["outcome"] for test_id, result in results.items()}
    assert sorted(got) == sorted(serial), (
        f"ids differ\n  only serial: {sorted(set(serial) - set(got))}"
        f"\n  only tessera: {sorted(set(got) - set(serial))}")
    differing = {i: (serial[i], got[i]) for i in serial if serial[i] != got[i]}
    assert not differing, f"outcomes differ (serial, tessera): {differing}"
    for result in summary["results"]:
        assert result["flaky"] is False, f"flaky without retries: {result}"
    assert summary["shards"] >= 2, f"--shards 2 gave shards={summary['shards']}"
    used = agents_used(cluster, summary)
    assert used == {"agent-a", "agent-b"}, f"2 shards ran on agents {used}"
    testcases = list(ET.parse(junit_path).getroot().iter("testcase"))
    assert len(testcases) == len(serial), (
        f"{len(testcases)} junit testcases for {len(serial)} tests")


def test_pytest_crash_hang_and_flaky_tests_are_reported_once(cluster):
    serial = pytest_serial(cluster)
    flaky_dir = cluster.path("flaky")
    os.makedirs(flaky_dir)
    with_agent_env(cluster, TSR_EXAMPLE_CRASH="1", TSR_EXAMPLE_HANG="1",
                   TSR_EXAMPLE_FLAKY_DIR=flaky_dir)
    two_agents(cluster)
    workspace = copy_example(cluster, "pytest", "pytest-ws")
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--retries", "1",
                             "--timeout", "5", "--", PYTHON, "-m", "pytest",
                             json_path=json_path, expect_exit=1, timeout_s=150)
    results = results_by_id(summary)
    assert sorted(results) == sorted(serial), (
        f"ids differ\n  only serial: {sorted(set(serial) - set(results))}"
        f"\n  only tessera: {sorted(set(results) - set(serial))}")
    special = {
        "tests/test_special.py::test_crash": "crashed",
        "tests/test_special.py::test_hang": "timed_out",
    }
    for test_id, outcome in special.items():
        assert results[test_id]["outcome"] == outcome, f"{test_id}: {results[test_id]}"
    flaky = results["tests/test_special.py::test_flaky"]
    assert flaky["outcome"] == "passed" and flaky["flaky"] is True and flaky["attempts"] == 2, (
        f"test_flaky: {flaky}")
    differing = {i: (serial[i], results[i]["outcome"]) for i in serial
                 if i not in special and i != flaky["id"] and serial[i] != results[i]["outcome"]}
    assert not differing, f"outcomes differ (serial, tessera): {differing}"
    others_flaky = [i for i, r in results.items() if r["flaky"] and i != flaky["id"]]
    assert not others_flaky, f"flaky besides test_flaky: {others_flaky}"


def cargo_env(cluster):
    """Environment for cargo under the test's HOME: the real rustup toolchains,
    a CARGO_HOME in the root (the example has no dependencies), offline."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("no cargo on PATH")
    real_home = os.path.expanduser("~")
    variables = {"CARGO_HOME": cluster.path("cargo-home"), "CARGO_NET_OFFLINE": "true"}
    rustup_home = os.environ.get("RUSTUP_HOME") or os.path.join(real_home, ".rustup")
    if os.path.isdir(rustup_home):
        variables["RUSTUP_HOME"] = rustup_home
    os.makedirs(variables["CARGO_HOME"], exist_ok=True)
    return variables


def parse_cargo_counts(text):
    """Outcome counts from `cargo test` output (stdout and stderr merged):
    each test of a test binary counts; a crate's doc-tests are one unit in
    Tessera (issue 4: "doc-tests as their own unit"), so they count once per
    crate that has any: failed if one failed, else passed if one passed,
    else skipped."""
    counts = collections.Counter()
    doc = None  # outcomes of the current Doc-tests section
    for line in text.splitlines() + ["Running (end)"]:
        line = line.strip()
        if line.startswith("Running") or line.startswith("Doc-tests"):
            if doc and sum(doc.values()) > 0:
                counts["failed" if doc["failed"] > 0 else
                       "passed" if doc["passed"] > 0 else "skipped"] += 1
            doc = collections.Counter() if line.startswith("Doc-tests") else None
            continue
        if not line.startswith("test result:"):
            continue
        for field in line.split(";"):
            words = field.replace("test result:", "").replace(".", " ").split()
            if len(words) >= 2 and words[-1] in ("passed", "failed", "ignored"):
                outcome = {"ignored": "skipped"}.get(words[-1], words[-1])
                if doc is not None:
                    doc[outcome] += int(words[-2])
                else:
                    counts[outcome] += int(words[-2])
    return counts


def test_cargo_workspace_matches_a_serial_run(cluster):
    variables = cargo_env(cluster)
    with_agent_env(cluster, **variables)
    serial_ws = copy_example(cluster, "cargo", "serial-cargo")
    env = dict(cluster.env, CARGO_TARGET_DIR=cluster.path("serial-target"))
    serial = subprocess.run(["cargo", "test", "--offline", "--no-fail-fast"], cwd=serial_ws,
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            timeout=SERIAL_TIMEOUT_S)
    counts = parse_cargo_counts(serial.stdout)
    assert serial.returncode == 101 and counts["failed"] > 0 and counts["passed"] > 0, (
        f"serial cargo test: exit {serial.returncode}, counts {counts}\n"
        f"{serial.stdout[-3000:]}")
    two_agents(cluster)
    workspace = copy_example(cluster, "cargo", "cargo-ws")
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--", "cargo", "test",
                             json_path=json_path, expect_exit=1, timeout_s=240)
    results_by_id(summary)
    got = outcome_counts(summary)
    want = {"passed": counts["passed"], "failed": counts["failed"],
            "skipped": counts["skipped"]}
    assert {k: got.get(k, 0) for k in want} == want and sum(got.values()) == sum(want.values()), (
        f"tessera outcomes {dict(got)}, serial cargo test {dict(counts)}\n"
        f"ids: {sorted(r['id'] + '=' + r['outcome'] for r in summary['results'])}")



def cargo_binary_ids(workspace, env):
    """Test executables' file names -> Tessera's binary ids (package/kind/target),
    from cargo's own JSON (`cargo metadata`, `cargo test --no-run`)."""
    metadata = subprocess.run(["cargo", "metadata", "--offline", "--no-deps",
                               "--format-version", "1"], cwd=workspace, env=env, text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, check=True,
                              timeout=SERIAL_TIMEOUT_S)
    names = {package["id"]: package["name"] for package in json.loads(metadata.stdout)["packages"]}
    build = subprocess.run(["cargo", "test", "--offline", "--no-run", "--message-format=json"],
                           cwd=workspace, env=env, text=True, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=SERIAL_TIMEOUT_S)
    assert build.returncode == 0, f"cargo test --no-run: exit {build.returncode}\n{build.stderr}"
    binaries = {}
    for line in build.stdout.splitlines():
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or not message["profile"]["test"]:
            continue
        target = message["target"]
        kind = next((k for k in target["kind"] if k in ("bin", "test", "bench", "example")),
                    "lib")
        binaries[os.path.basename(message["executable"])] = \
            f"{names[message['package_id']]}/{kind}/{target['name']}"
    return binaries


def cargo_serial(cluster, workspace):
    """The serial reference for examples/cargo, in Tessera's ids: a plain
    `cargo test --no-fail-fast` (text output, read here only), its binaries
    named through cargo's JSON; a crate's doc-tests are one unit
    (`package::doctests`: failed if one failed, else passed if one passed,
    else skipped). Returns {id: outcome}."""
    env = dict(cluster.env, CARGO_TARGET_DIR=cluster.path("serial-target"))
    binaries = cargo_binary_ids(workspace, env)
    serial = subprocess.run(["cargo", "test", "--offline", "--no-fail-fast"], cwd=workspace,
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            timeout=SERIAL_TIMEOUT_S)
    assert serial.returncode == 101, f"serial cargo test: exit {serial.returncode}\n" \
        f"{serial.stdout[-3000:]}"
    outcomes = {}
    doctests = {}  # package::doctests -> Counter of outcomes
    current = None
    for line in serial.stdout.splitlines():
        line = line.strip()
        running = re.match(r"Running .*\((.*)\)$", line)
        if running:
            current = binaries[os.path.basename(running.group(1))]
            continue
        if line.startswith("Doc-tests "):
            current = line.split()[1].replace("_", "-") + "::doctests"
            doctests[current] = collections.Counter()
            continue
        result = re.match(r"test (.+?) \.\.\. (ok|FAILED|ignored)\b", line)
        if not result or current is None:
            continue
        outcome = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}[result.group(2)]
        if current in doctests:
            doctests[current][outcome] += 1
        else:
            name = re.sub(r" - should panic.*$", "", result.group(1))
            outcomes[f"{current}::{name}"] = outcome
    for test_id, counts in doctests.items():
        if sum(counts.values()):
            outcomes[test_id] = ("failed" if counts["failed"] else
                                 "passed" if counts["passed"] else "skipped")
    return outcomes


def test_cargo_crash_hang_and_flaky_tests_are_reported_once(cluster):
    variables = cargo_env(cluster)
    with_agent_env(cluster, **variables)
    workspace = copy_example(cluster, "cargo", "cargo-ws")
    serial = cargo_serial(cluster, workspace)
    calc = "calc/lib/calc::tests::"
    assert {calc + "crash", calc + "hang", calc + "flaky"} <= set(serial), sorted(serial)
    flaky_dir = cluster.path("flaky")
    os.makedirs(flaky_dir)
    with_agent_env(cluster, TSR_EXAMPLE_CRASH="1", TSR_EXAMPLE_HANG="1",
                   TSR_EXAMPLE_FLAKY_DIR=flaky_dir)
    two_agents(cluster)
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--retries", "1",
                             "--timeout", "5", "--", "cargo", "test",
                             json_path=json_path, expect_exit=1, timeout_s=150)
    results = results_by_id(summary)
    assert sorted(results) == sorted(serial), (
        f"ids differ\n  only serial: {sorted(set(serial) - set(results))}"
        f"\n  only tessera: {sorted(set(results) - set(serial))}")
    special = {calc + "crash": ("crashed", "signal 6"), calc + "hang": ("timed_out", "timed out")}
    for test_id, (outcome, why) in special.items():
        result = results[test_id]
        assert result["outcome"] == outcome and result["attempts"] == 2 and \
            why in result["message"], f"{test_id}: {result}"
    flaky = results[calc + "flaky"]
    assert flaky["outcome"] == "passed" and flaky["flaky"] is True and flaky["attempts"] == 2, (
        f"flaky: {flaky}")
    differing = {i: (serial[i], results[i]["outcome"]) for i in serial
                 if i not in special and i != flaky["id"] and serial[i] != results[i]["outcome"]}
    assert not differing, f"outcomes differ (serial, tessera): {differing}"
    others_flaky = [i for i, r in results.items() if r["flaky"] and i != flaky["id"]]
    assert not others_flaky, f"flaky besides {flaky['id']}: {others_flaky}"
    assert agents_used(cluster, summary) == {"agent-a", "agent-b"}, "2 shards, 1 agent"


TIMEOUT_SPEC = """project: itest-timeout
jobs:
  unit:
    command: [/usr/bin/python3, -m, pytest, -p, "no:cacheprovider"]
    timeout: 3
    slow: 1
    shards: 1
"""

SLEEPERS = """import time
import pytest


@pytest.mark.parametrize("index", range(5))
def test_sleeps(index):
    time.sleep(1.1)
"""

HANGER = """import time


def test_hang():
    time.sleep(3600)
"""


def test_spec_timeout_is_per_test_and_slow_lists_tests(cluster):
    """tessera.yml's `timeout:` is the per-test hard limit of a test job (one
    shard of 5 x 1.1 s outlives it; only the hung test is killed) and its
    `slow:` lists the tests over it, on the embedded cluster."""
    workspace = cluster.path("timeout-ws")
    os.makedirs(os.path.join(workspace, "tests"))
    for name, text in (("tessera.yml", TIMEOUT_SPEC), ("tests/test_a_sleeps.py", SLEEPERS),
                       ("tests/test_b_hangs.py", HANGER)):
        with open(os.path.join(workspace, name), "w", encoding="utf-8") as stream:
            stream.write(text)
    result = cluster.cli("validate", os.path.join(workspace, "tessera.yml"), client=False)
    assert result.returncode == 0 and \
        "unit: pytest, 1 shard, timeout 3s per test, slow over 1s" in result.stdout, result.stdout
    result, summary = cluster.run("-C", workspace, json_path=cluster.path("run.json"),
                                  client=False, expect_exit=1, timeout_s=90)
    results = results_by_id(summary)
    hang = results["tests/test_b_hangs.py::test_hang"]
    assert hang["outcome"] == "timed_out" and "per-test limit" in hang["message"], hang
    sleepers = [r for i, r in results.items() if i.startswith("tests/test_a_sleeps.py::")]
    assert len(sleepers) == 5 and all(r["outcome"] == "passed" and r["attempts"] == 1
                                      for r in sleepers), sleepers
    assert summary["shards"] == 1, f"the shard was cut short: {summary['shards']} shards"
    slow = re.findall(r"SLOW (\S+) \(job unit, [^,]+, over 1s\)", result.stdout)
    assert set(slow) >= {r["id"] for r in sleepers}, f"slow listed: {slow}\n{result.stdout}"

def junit_counts(path):
    """node --test's junit: outcome counts of its testcases."""
    counts = collections.Counter()
    for testcase in ET.parse(path).getroot().iter("testcase"):
        tags = {child.tag for child in testcase}
        if "failure" in tags or "error" in tags:
            counts["failed"] += 1
        elif "skipped" in tags:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def test_node_test_suite_matches_a_serial_run(cluster):
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("no node/npm on PATH")
    serial_ws = copy_example(cluster, "npm/node-test", "serial-node")
    junit = cluster.path("serial-node.xml")
    serial = run_serial(["node", "--test", "--test-reporter=junit",
                         f"--test-reporter-destination={junit}"], serial_ws, cluster.env)
    assert serial.returncode == 1, f"serial node --test: exit {serial.returncode}\n" \
        f"{serial.stdout}{serial.stderr}"
    want = junit_counts(junit)
    assert want["passed"] > 0 and want["failed"] > 0, f"serial counts {want}"
    two_agents(cluster)
    workspace = copy_example(cluster, "npm/node-test", "node-ws")
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--", "npm", "test",
                             json_path=json_path, expect_exit=1, timeout_s=120)
    results_by_id(summary)
    got = outcome_counts(summary)
    assert {k: got.get(k, 0) for k in want} == dict(want) and \
        sum(got.values()) == sum(want.values()), (
            f"tessera outcomes {dict(got)}, serial node --test {dict(want)}\n"
            f"ids: {sorted(r['id'] + '=' + r['outcome'] for r in summary['results'])}")
    assert not any(r["id"].startswith("lib/notatest") for r in summary["results"]), \
        "lib/notatest.js ran"
