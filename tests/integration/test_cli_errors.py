"""test_cli_errors - bad input and an unreachable coordinator get the contract's exit codes

2 = usage or config error (with file:line:col for YAML), 3 = infrastructure
error (coordinator unreachable), and a message a user can act on.          """

import os
import re

from harness import closed_port

BROKEN_SPEC = """project: itest
jobs:
  unit:
    command: "true"
    shrads: 4
"""

CYCLE_SPEC = """project: itest
jobs:
  a:
    command: "true"
    needs: [b]
  b:
    command: "true"
    needs: [a]
"""

GOOD_SPEC = """project: itest
jobs:
  unit:
    command: "true"
    shards: 2
"""


def write(cluster, name, text):
    path = os.path.join(cluster.workspace, name)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


def test_validate_reports_file_and_line(cluster):
    good = write(cluster, "good.yml", GOOD_SPEC)
    result = cluster.cli("validate", good, client=False)
    assert result.returncode == 0, f"valid file: exit {result.returncode}\n{result.stderr}"

    broken = write(cluster, "tessera.yml", BROKEN_SPEC)
    for args in (("validate", broken), ("validate",)):
        result = cluster.cli(*args, client=False, expect_errors=True)
        output = result.stdout + result.stderr
        assert result.returncode == 2, f"{args}: exit {result.returncode}, want 2\n{output}"
        assert re.search(r"tessera\.yml:5:\d+:", output), f"{args}: no tessera.yml:5:COL:\n{output}"
        assert "shrads" in output, f"{args}: the message does not name the key:\n{output}"

    # run refuses the same file before starting anything
    result = cluster.cli("run", "-C", cluster.workspace, client=False, expect_errors=True)
    output = result.stdout + result.stderr
    assert result.returncode == 2, f"run with a broken tessera.yml: exit {result.returncode}\n{output}"
    assert re.search(r"tessera\.yml:5:\d+:", output), output

    cycle = write(cluster, "cycle.yml", CYCLE_SPEC)
    result = cluster.cli("validate", cycle, client=False, expect_errors=True)
    assert result.returncode == 2, f"needs cycle: exit {result.returncode}\n{result.stderr}"

    result = cluster.cli("validate", os.path.join(cluster.workspace, "absent.yml"), client=False,
                         expect_errors=True)
    assert result.returncode == 2, f"missing file: exit {result.returncode}\n{result.stderr}"

    result = cluster.cli("no-such-command", client=False, expect_errors=True)
    assert result.returncode == 2, f"unknown command: exit {result.returncode}\n{result.stderr}"


def test_unreachable_coordinator_exits_3(cluster):
    client = cluster.keygen("client")
    server = cluster.keygen("server")
    holder, port = closed_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    try:
        for args in (("agents", "--json"), ("run", "--", "true")):
            result = cluster.cli("--coordinator", endpoint, "--server-key", server + ".pub",
                                 "--key", client, *args, client=False, expect_errors=True,
                                 timeout_s=60)
            output = result.stdout + result.stderr
            assert result.returncode == 3, f"{args}: exit {result.returncode}, want 3\n{output}"
            # "quickly": one-shot requests give up after 2 x 2.5 s; allow 3x that
            assert result.elapsed_s < 15, f"{args}: took {result.elapsed_s:.1f}s to give up"
            assert (f"127.0.0.1:{port}" in output
                    or re.search(r"(?i)unreachable|no reply|not respond|timed? ?out", output)), (
                f"{args}: the message does not say what failed:\n{output}")
            print(f"{args}: exit 3 after {result.elapsed_s:.2f}s: {output.strip()}")
    finally:
        holder.close()
