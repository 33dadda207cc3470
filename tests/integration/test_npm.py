"""test_npm - issue 4 acceptance for npm suites: jest, mocha, vitest and
node --test across two real agents, with crashing, hanging and flaky tests

Each test copies one of examples/npm/* into its temp root, runs it serially
with the runner itself for the reference (test ids and outcomes, read from
the runner's own reports), then runs it with `tessera run --retries 1
--timeout 5 -- npm test` through a real coordinator and two real agents
(agent-a on CPU 0, agent-b on CPU 1) with the misbehaving example tests
switched on through the agents' environment (TSR_EXAMPLE_CRASH=1,
TSR_EXAMPLE_HANG=1, TSR_EXAMPLE_FLAKY_DIR) and compares: the same ids, every
id exactly once, the same outcomes except crash -> crashed, hang ->
timed_out (the per-test limit), flaky -> passed with flaky=true after 2
attempts. node 20 loses the events of a test file whose process dies, so
there the crash is reported for its file (crash.test.mjs) instead of its
test.

node_modules: installed once per package-lock.json content (`npm ci
--prefer-offline`, from the npm cache when it can) into
BUILD/tests/tmp/npm-modules/<SHA-1 of the lock> - the cache the unit tests
use - and linked into each workspace: a symlink is uploaded as a symlink,
and agents on this machine follow it. Skipped without node/npm or when
npm cannot install.                                                      """

import collections
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from harness import binary, source_dir
from test_cluster import agent_name_of, two_agents

SERIAL_TIMEOUT_S = 120
INSTALL_TIMEOUT_S = 300
RUN_TIMEOUT_S = 150

# Reference reporters: the runner's own events, written as {id: outcome}
# (ids as Tessera makes them: FILE::title > path). mocha's and node's own
# JSON/JUnit reports drop the title path or the file.
MOCHA_REFERENCE = r'''
const fs = require('fs');
const path = require('path');
const Mocha = require(path.join(process.cwd(), 'node_modules', 'mocha'));
const C = Mocha.Runner.constants;
module.exports = function Reference(runner) {
  const seen = {};
  const put = (test, outcome) => {
    let file = null;
    for (let node = test; node && !file; node = node.parent) file = node.file;
    seen[`${path.relative(process.cwd(), file)}::${test.titlePath().join(' > ')}`] = outcome;
  };
  runner.on(C.EVENT_TEST_PASS, (test) => put(test, 'passed'));
  runner.on(C.EVENT_TEST_FAIL, (test) => put(test, 'failed'));
  runner.on(C.EVENT_TEST_PENDING, (test) => put(test, 'skipped'));
  runner.once(C.EVENT_RUN_END, () =>
    fs.writeFileSync(process.env.TSR_IT_OUTCOMES, JSON.stringify(seen)));
};
'''

NODE_REFERENCE = r'''
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
export default async function* reference(source) {
  const seen = {};
  const stacks = new Map();
  for await (const event of source) {
    const data = event.data || {};
    if (data.nesting === 0 && data.name === data.file) continue;
    if (event.type === 'test:start') {
      const stack = stacks.get(data.file) || [];
      stack.length = data.nesting;
      stack.push(data.name);
      stacks.set(data.file, stack);
    } else if ((event.type === 'test:pass' || event.type === 'test:fail') &&
               (data.details || {}).type !== 'suite') {
      const names = stacks.get(data.file).slice(0, data.nesting + 1);
      const skipped = (data.skip !== undefined && data.skip !== false) ||
        (data.todo !== undefined && data.todo !== false);
      seen[`${relative(process.cwd(), data.file)}::${names.join(' > ')}`] =
        skipped ? 'skipped' : event.type === 'test:pass' ? 'passed' : 'failed';
    }
  }
  writeFileSync(process.env.TSR_IT_OUTCOMES, JSON.stringify(seen));
}
'''

# jest's and vitest's --json: assertion status -> outcome
JSON_STATUS = {"passed": "passed", "failed": "failed", "pending": "skipped",
               "skipped": "skipped", "todo": "skipped", "disabled": "skipped"}


def need_node():
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("no node/npm on PATH")


def modules_cache(example):
    """node_modules for examples/npm/EXAMPLE, installed once per lock file;
    None for an example without dependencies."""
    need_node()
    lock = os.path.join(source_dir(), "examples", "npm", example, "package-lock.json")
    if not os.path.exists(lock):
        return None
    with open(lock, "rb") as stream:
        digest = hashlib.sha1(stream.read()).hexdigest().upper()
    build_dir = os.path.dirname(os.path.dirname(binary("cli")))  # BUILD/cli/tessera
    cache = os.path.join(build_dir, "tests", "tmp", "npm-modules", digest)
    modules = os.path.join(cache, "node_modules")
    if os.path.isdir(modules):
        return modules
    staging = f"{cache}.new-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(os.path.dirname(lock), name), staging)
    # The real environment: its HOME holds the npm cache
    result = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"],
                            cwd=staging, text=True, capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT_S)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        pytest.skip(f"npm ci failed (no registry, no cache?): {result.stderr[-500:]}")
    try:
        os.rename(staging, cache)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another installer won
    return modules


def workspace(cluster, example, name, modules):
    """examples/npm/EXAMPLE -> ROOT/NAME with node_modules linked in."""
    destination = cluster.path(name)
    shutil.copytree(os.path.join(source_dir(), "examples", "npm", example), destination,
                    ignore=shutil.ignore_patterns("node_modules"))
    if modules:
        os.symlink(modules, os.path.join(destination, "node_modules"))
    return destination


def serial(argv, cwd, env, outcomes_path=None, report_path=None):
    """Start ARGV, the serial reference run; returns a function that waits
    for it and returns {id: outcome} from our reference reporter's
    OUTCOMES_PATH or from jest/vitest's --json REPORT_PATH. (It runs while
    the cluster starts.)"""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, text=True, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return lambda: serial_outcomes(proc, argv, cwd, outcomes_path, report_path)


def serial_outcomes(proc, argv, cwd, outcomes_path, report_path):
    try:
        stdout, stderr = proc.communicate(timeout=SERIAL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"serial {' '.join(argv)}: no end in {SERIAL_TIMEOUT_S}s\n"
                             f"{stdout[-3000:]}{stderr[-3000:]}")
    # A test fails (mocha exits with the number of failures), nothing died
    assert 0 < proc.returncode < 64, (
        f"serial {' '.join(argv)}: exit {proc.returncode} (want failures)\n"
        f"{stdout[-3000:]}{stderr[-3000:]}")
    if outcomes_path:
        with open(outcomes_path, encoding="utf-8") as stream:
            outcomes = json.load(stream)
    else:
        with open(report_path, encoding="utf-8") as stream:
            report = json.load(stream)
        outcomes = {}
        for suite in report["testResults"]:
            relative = os.path.relpath(suite["name"], cwd)
            for test in suite["assertionResults"]:
                name = " > ".join(test["ancestorTitles"] + [test["title"]])
                outcomes[f"{relative}::{name}"] = JSON_STATUS[test["status"]]
    assert len(outcomes) >= 8, f"the serial run found only {outcomes}"
    return outcomes


def results_by_id(summary):
    """results[] -> {id: result}; every id exactly once."""
    ids = [result["id"] for result in summary["results"]]
    duplicated = sorted(i for i, n in collections.Counter(ids).items() if n > 1)
    assert not duplicated, f"reported more than once: {duplicated}"
    return {result["id"]: result for result in summary["results"]}


def check_misbehaving_suite(cluster, example, reference, special):
    """`tessera run --retries 1 --timeout 5 -- npm test` over two agents with
    the misbehaving tests switched on, compared with REFERENCE() (the
    serial run's outcomes); SPECIAL maps crash/hang/flaky to the ids that
    report them ({"crash": (reference id, tessera id), ...})."""
    modules = modules_cache(example)
    flaky_dir = cluster.path("flaky")
    os.makedirs(flaky_dir)
    cluster.env = dict(cluster.env, TSR_EXAMPLE_CRASH="1", TSR_EXAMPLE_HANG="1",
                       TSR_EXAMPLE_FLAKY_DIR=flaky_dir)
    two_agents(cluster)
    ws = workspace(cluster, example, f"{example}-ws", modules)
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", ws, "--shards", "2", "--retries", "1", "--timeout", "5",
                             "--", "npm", "test", json_path=json_path, expect_exit=1,
                             timeout_s=RUN_TIMEOUT_S)
    results = results_by_id(summary)
    reference = reference()
    crash_ref, crash_id = special["crash"]
    hang_id = special["hang"]
    flaky_id = special["flaky"]
    # The same ids (the node crash is its file's)
    want_ids = sorted(set(reference) - {crash_ref} | {crash_id})
    table = "\n".join(f"  {i}: {r['outcome']} attempts={r['attempts']} flaky={r['flaky']}"
                      for i, r in sorted(results.items()))
    assert sorted(results) == want_ids, (
        f"ids differ\n  only serial: {sorted(set(want_ids) - set(results))}"
        f"\n  only tessera: {sorted(set(results) - set(want_ids))}\n{table}")
    crash = results[crash_id]
    assert crash["outcome"] == "crashed" and crash["attempts"] == 2, f"crash: {crash}"
    hang = results[hang_id]
    assert hang["outcome"] == "timed_out" and hang["attempts"] == 2, f"hang: {hang}"
    flaky = results[flaky_id]
    assert flaky["outcome"] == "passed" and flaky["flaky"] is True and \
        flaky["attempts"] == 2, f"flaky: {flaky}"
    others = {i: r for i, r in results.items() if i not in (crash_id, hang_id, flaky_id)}
    differing = {i: (reference[i], r["outcome"]) for i, r in others.items()
                 if reference[i] != r["outcome"]}
    assert not differing, f"outcomes differ (serial, tessera): {differing}\n{table}"
    also_flaky = sorted(i for i, r in others.items() if r["flaky"])
    assert not also_flaky, f"flaky besides {flaky_id}: {also_flaky}"
    listing = cluster.agents()
    used = {agent_name_of(cluster, r["agent"], listing) for r in summary["results"]
            if r.get("agent")}
    assert used == {"agent-a", "agent-b"}, f"2 shards ran on agents {used}"
    return results


def test_jest_crash_hang_and_flaky_tests_are_reported_once(cluster):
    modules = modules_cache("jest")
    ws = workspace(cluster, "jest", "serial-jest", modules)
    report = cluster.path("serial-jest.json")
    # In band, jest's own arguments would reach process.argv (argv.test.js
    # checks): start it as Tessera's launcher does, with an empty argv
    script = "require('jest').run(JSON.parse(process.argv[1]))"
    args = json.dumps(["--ci", "--json", f"--outputFile={report}"])
    reference = serial(["node", "-e", script, args], ws, cluster.env, report_path=report)
    check_misbehaving_suite(cluster, "jest", reference, {
        "crash": ("__tests__/special.test.js::crash",) * 2,
        "hang": "__tests__/special.test.js::hang",
        "flaky": "__tests__/special.test.js::flaky",
    })


def test_mocha_crash_hang_and_flaky_tests_are_reported_once(cluster):
    modules = modules_cache("mocha")
    ws = workspace(cluster, "mocha", "serial-mocha", modules)
    reporter = cluster.path("reference-mocha.js")
    with open(reporter, "w", encoding="utf-8") as stream:
        stream.write(MOCHA_REFERENCE)
    outcomes = cluster.path("serial-mocha.json")
    reference = serial(["node", "node_modules/mocha/bin/mocha.js", "--reporter", reporter], ws,
                       dict(cluster.env, TSR_IT_OUTCOMES=outcomes), outcomes_path=outcomes)
    check_misbehaving_suite(cluster, "mocha", reference, {
        "crash": ("test/special.spec.js::special > crash",) * 2,
        "hang": "test/special.spec.js::special > hang",
        "flaky": "test/special.spec.js::special > flaky",
    })


def test_vitest_crash_hang_and_flaky_tests_are_reported_once(cluster):
    modules = modules_cache("vitest")
    ws = workspace(cluster, "vitest", "serial-vitest", modules)
    report = cluster.path("serial-vitest.json")
    reference = serial(["node", "node_modules/vitest/vitest.mjs", "run", "--reporter=json",
                        f"--outputFile={report}"], ws, cluster.env, report_path=report)
    check_misbehaving_suite(cluster, "vitest", reference, {
        "crash": ("test/special.test.js::crash",) * 2,
        "hang": "test/special.test.js::hang",
        "flaky": "test/special.test.js::flaky",
    })


def test_node_test_crash_hang_and_flaky_tests_are_reported_once(cluster):
    need_node()
    ws = workspace(cluster, "node-test", "serial-node", None)
    reporter = cluster.path("reference-node.mjs")
    with open(reporter, "w", encoding="utf-8") as stream:
        stream.write(NODE_REFERENCE)
    outcomes = cluster.path("serial-node.json")
    reference = serial(["node", "--test", f"--test-reporter={reporter}",
                        "--test-reporter-destination=stdout"], ws,
                       dict(cluster.env, TSR_IT_OUTCOMES=outcomes), outcomes_path=outcomes)
    check_misbehaving_suite(cluster, "node-test", reference, {
        "crash": ("test/crash.test.mjs::crash", "test/crash.test.mjs"),
        "hang": "test/special.test.mjs::hang",
        "flaky": "test/special.test.mjs::flaky",
    })


def test_npm_suite_takes_node_modules_despite_gitignore(cluster):
    """The example's .gitignore lists node_modules/, as most projects' do;
    for an npm suite it is uploaded anyway (a real directory, not a link),
    so `npm ci` then `tessera run -- npm test` works on the embedded cluster."""
    modules = modules_cache("mocha")
    destination = cluster.path("mocha-installed")
    shutil.copytree(os.path.join(source_dir(), "examples", "npm", "mocha"), destination,
                    ignore=shutil.ignore_patterns("node_modules"))
    with open(os.path.join(destination, ".gitignore"), encoding="utf-8") as stream:
        assert "node_modules/" in stream.read().split()
    shutil.copytree(modules, os.path.join(destination, "node_modules"), symlinks=True)
    _, summary = cluster.run("-C", destination, "--", "npm", "test",
                             json_path=cluster.path("run.json"), client=False, expect_exit=1,
                             timeout_s=120)
    outcomes = collections.Counter(r["outcome"] for r in summary["results"])
    assert outcomes["passed"] > 0 and outcomes["failed"] > 0, outcomes
    assert summary["uploaded_bytes"] > 1_000_000, (
        f"node_modules was not uploaded: {summary['uploaded_bytes']} bytes")
