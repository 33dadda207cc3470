"""conftest - pytest fixtures for the integration tests

`cluster`: a harness.Cluster in a fresh temp root. Teardown stops every
process and scans the logs; any problem fails the test. The root is removed
when the test passed and kept (path printed, log tails shown) otherwise.
`fast_cluster`: the same with the short liveness heartbeat (200 ms);
`cluster` uses 1000 ms so tests that do not measure liveness do not fail
on a loaded machine because a sanitized process was slow for 600 ms.
TSR_IT_KEEP=1 in the environment keeps every root.                          """

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


# Exit status of a session whose tests were all skipped: CMake gives each
# integration ctest SKIP_RETURN_CODE 77, so ctest reports "Skipped" (the
# reason is printed by -rs) instead of a silent pass.
SKIPPED_EXIT = 77


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    stats = reporter.stats
    if stats.get("skipped") and not stats.get("passed"):
        session.exitstatus = SKIPPED_EXIT


def _cluster(request, heartbeat_ms):
    cluster = harness.Cluster(request.node.name, heartbeat_ms=heartbeat_ms)
    yield cluster
    problems = cluster.close()
    call = getattr(request.node, "report_call", None)
    failed = call is None or call.failed or bool(problems)
    if failed or os.environ.get("TSR_IT_KEEP"):
        sys.stderr.write(f"\nkept temp root: {cluster.root}\n")
        sys.stderr.write(cluster.describe())
    else:
        shutil.rmtree(cluster.root, ignore_errors=True)
    if problems:
        pytest.fail("teardown found problems:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def cluster(request):
    yield from _cluster(request, 1000)


@pytest.fixture
def fast_cluster(request):
    yield from _cluster(request, harness.HEARTBEAT_MS)
