"""test_operations - issue 3 operations on real daemons: drain, SIGTERM, workspaces, --user

`tessera drain`/`undrain`, an agent's SIGTERM drain with its grace period and
Bye hand-back, a workspace the size of the repository's own sources, a blob
of several transfer chunks, jobs run as `--user nobody`, and the CLI's usage
and config errors when it talks to a coordinator. Same harness as
test_cluster.py (real binaries, loopback, CURVE keys).                     """

import hashlib
import os
import re
import shutil
import signal
import time

import pytest

from harness import holds_for, read_kv_file, source_dir, wait_until
from test_cluster import (HANG_SCRIPT, agent_name_of, check_requeued_run, check_unique_results,
                          hang_victim, process_gone, start_hung_run, two_agents)

# Drain test: shard 0's first attempt records itself in ROOT/hang.info and
# waits for ROOT/release0; every other attempt records itself in
# ROOT/started/INDEX.ATTEMPT and waits for ROOT/go. Both also end on
# ROOT/release (teardown) and after 60 s at most.
GATED_SCRIPT = r"""
i=0
if [ "$TSR_SHARD_INDEX" = 0 ] && mkdir {root}/mark 2>/dev/null; then
  {{ echo "pid=$$"; echo "ppid=$PPID"; echo "cwd=$(pwd)"; echo "attempt=$TSR_ATTEMPT_ID"
     echo "cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"; }} > {root}/hang.tmp
  mv {root}/hang.tmp {root}/hang.info
  while [ ! -e {root}/release0 ] && [ ! -e {root}/release ] && [ $i -lt 1200 ]; do
    sleep 0.05; i=$((i+1)); done
  exit 0
fi
{{ echo "index=$TSR_SHARD_INDEX"; echo "ppid=$PPID"; echo "cwd=$(pwd)"
   echo "attempt=$TSR_ATTEMPT_ID"
   echo "cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"; }} > {root}/started/.$TSR_ATTEMPT_ID
mv {root}/started/.$TSR_ATTEMPT_ID {root}/started/$TSR_SHARD_INDEX.$TSR_ATTEMPT_ID
while [ ! -e {root}/go ] && [ ! -e {root}/release ] && [ $i -lt 1200 ]; do
  sleep 0.05; i=$((i+1)); done
exit 0
"""


def touch(path):
    with open(path, "w", encoding="utf-8"):
        pass


def listed(cluster, name):
    """The `tessera agents --json` object of agent `name` (None if not listed)."""
    for agent in cluster.agents():
        if agent["name"] == name:
            return agent
    return None


def started_shards(cluster, agents):
    """[(shard index, agent)] of every gated (non-hanging) attempt started so far."""
    directory = cluster.path("started")
    found = []
    for entry in sorted(os.listdir(directory)):
        if entry.startswith("."):
            continue
        info = read_kv_file(os.path.join(directory, entry))
        found.append((int(info["index"]), hang_victim(info, agents)))
    return found


def test_drain_stops_new_work_and_undrain_brings_it_back(cluster):
    agent_a, agent_b = two_agents(cluster)
    os.makedirs(cluster.path("started"))
    json_path = cluster.path("out.json")
    shards = 5
    proc = cluster.popen_run("--shards", str(shards), "--", "sh", "-c",
                             GATED_SCRIPT.format(root=cluster.root), json_path=json_path)

    def running_alive(what):
        def check():
            if proc.poll() is not None:
                raise AssertionError(f"tessera run exited {proc.returncode} early:\n"
                                     f"{proc.stdout.read()}{proc.stderr.read()}")
            return what()
        return check

    info = wait_until(running_alive(lambda: read_kv_file(cluster.path("hang.info"))), 60,
                      "shard 0's long attempt to start")
    drained = hang_victim(info, [agent_a, agent_b])
    other = agent_b if drained is agent_a else agent_a
    # Both agents busy (one slot each): the other one runs a gated short shard.
    wait_until(running_alive(lambda: started_shards(cluster, [agent_a, agent_b])), 60,
               "a short shard to start on the other agent")
    assert [a for _, a in started_shards(cluster, [agent_a, agent_b])] == [other]

    result = cluster.cli("drain", drained.agent_name)
    assert result.returncode == 0, f"drain: exit {result.returncode}\n{result.stdout}{result.stderr}"
    entry = listed(cluster, drained.agent_name)
    assert entry is not None and entry["draining"] is True, f"after drain: {entry}"
    assert listed(cluster, other.agent_name)["draining"] is False

    # The long shard finishes on the draining agent; its slot is free, three
    # shards are queued, yet it must get none of them.
    touch(cluster.path("release0"))
    wait_until(running_alive(lambda: listed(cluster, drained.agent_name)["running"] == 0), 30,
               f"{drained.agent_name}'s running shard to finish while draining")

    def drained_idle():
        entry = listed(cluster, drained.agent_name)
        starts = started_shards(cluster, [agent_a, agent_b])
        return (proc.poll() is None and entry["draining"] is True and entry["running"] == 0
                and all(agent is other for _, agent in starts) and len(starts) == 1)

    holds_for(drained_idle, 3.0,
              f"{drained.agent_name} (draining) gets no new shard while shards are queued")

    result = cluster.cli("undrain", drained.agent_name)
    assert result.returncode == 0, f"undrain: exit {result.returncode}\n{result.stdout}{result.stderr}"
    wait_until(running_alive(lambda: listed(cluster, drained.agent_name)["draining"] is False), 10,
               f"{drained.agent_name} listed as not draining after undrain")
    wait_until(running_alive(lambda: any(agent is drained for _, agent in
                                         started_shards(cluster, [agent_a, agent_b]))), 30,
               f"{drained.agent_name} to take a queued shard after undrain")

    touch(cluster.path("go"))
    code, stdout, stderr, summary = cluster.finish_run(proc, json_path)
    assert code == 0, f"run exited {code}\n{stdout}{stderr}"
    assert summary["status"] == "passed", summary
    check_unique_results(summary, shards)
    by_agent = {}
    for entry in summary["results"]:
        assert entry["outcome"] == "passed" and entry["attempts"] == 1, entry
        by_agent.setdefault(agent_name_of(cluster, entry["agent"]), []).append(entry["id"])
    assert len(by_agent.get(drained.agent_name, [])) >= 2, (
        f"{drained.agent_name} ran shard 0 and, after undrain, more: {by_agent}")


def agents_with_grace(cluster, grace_ms):
    key_a = cluster.keygen("agent-a")
    key_b = cluster.keygen("agent-b")
    cluster.start_coordinator(allow_agents=[key_a, key_b])
    extra = ("--drain-grace-ms", str(grace_ms))
    agent_a = cluster.start_agent("agent-a", key_a, cpus="0", extra=extra)
    agent_b = cluster.start_agent("agent-b", key_b, cpus="1", extra=extra)
    cluster.wait_agents(["agent-a", "agent-b"])
    return agent_a, agent_b


def log_lines(path, pattern):
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return [line for line in stream if re.search(pattern, line)]
    except FileNotFoundError:
        return []


def test_sigterm_agent_hands_back_work_that_outlives_the_grace(cluster):
    grace_ms = 500
    agent_a, agent_b = agents_with_grace(cluster, grace_ms)
    json_path = cluster.path("out.json")
    proc, info = start_hung_run(cluster, 3, json_path)
    victim = hang_victim(info, [agent_a, agent_b])
    survivor = agent_b if victim is agent_a else agent_a

    started = time.monotonic()
    victim.signal(signal.SIGTERM)
    code = victim.proc.wait(timeout=15)
    elapsed = time.monotonic() - started
    print(f"{victim.agent_name} exited {code} {elapsed:.2f}s after SIGTERM (grace {grace_ms} ms)")
    assert code == 0, f"{victim.agent_name} exited {code} after SIGTERM, want 0"
    assert elapsed >= grace_ms / 1000 * 0.9, (
        f"{victim.agent_name} exited {elapsed:.2f}s after SIGTERM: before its grace of {grace_ms} ms")
    hung_pid = int(info["pid"])
    wait_until(lambda: process_gone(hung_pid), 5,
               f"the shard outliving the grace (pid {hung_pid}) to be killed")

    code, stdout, stderr, summary = cluster.finish_run(proc, json_path)
    check_requeued_run(cluster, code, stdout, stderr, summary, 3, survivor)
    cluster.wait_agents([survivor.agent_name])
    # The coordinator got the Bye with the attempt handed back (not a lost agent).
    name = re.escape(victim.agent_name)
    left = log_lines(cluster.coordinator.log_path,
                     rf"(?i)\b(left|bye)\b.*\bname={name}\b.*\bhanded_back=1\b")
    assert left, (f"no coordinator log line of {victim.agent_name} leaving with handed_back=1:\n"
                  f"{''.join(log_lines(cluster.coordinator.log_path, name))}")
    print(f"coordinator: {left[0].strip()}")


def test_sigterm_agent_lets_running_work_finish_within_the_grace(cluster):
    """The other half of the drain contract: a shard that ends within the
    grace is reported by the terminated agent itself, not rerun."""
    agent_a, agent_b = agents_with_grace(cluster, 20000)
    json_path = cluster.path("out.json")
    proc, info = start_hung_run(cluster, 3, json_path)
    victim = hang_victim(info, [agent_a, agent_b])

    victim.signal(signal.SIGTERM)
    # Draining, the agent is not gone: it still runs the shard (until released).
    holds_for(lambda: victim.alive() and not process_gone(int(info["pid"])), 1.0,
              f"{victim.agent_name} keeps running its shard after SIGTERM")
    touch(cluster.path("release"))
    code = victim.proc.wait(timeout=15)
    assert code == 0, f"{victim.agent_name} exited {code} after SIGTERM, want 0"

    code, stdout, stderr, summary = cluster.finish_run(proc, json_path)
    assert code == 0, f"run exited {code}\n{stdout}{stderr}"
    assert summary["status"] == "passed", summary
    check_unique_results(summary, 3)
    for entry in summary["results"]:
        assert entry["outcome"] == "passed" and entry["attempts"] == 1, entry
    first = [r for r in summary["results"] if r["id"].endswith("/0")][0]
    assert agent_name_of(cluster, first["agent"]) == victim.agent_name, (
        f"shard 0 should have finished on {victim.agent_name}: {first}")


def one_agent(cluster, extra=()):
    key = cluster.keygen("agent-a")
    cluster.start_coordinator(allow_agents=[key])
    agent = cluster.start_agent("agent-a", key, cpus="0", extra=extra)
    cluster.wait_agents(["agent-a"])
    return agent


def count_files(root):
    """Regular files under root (what `find . -type f` counts)."""
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                total += 1
    return total


def test_repository_sized_workspace_materialises_every_file(cluster):
    """Guards the czmq 4.2.1 zlistx_sort bug (directory listings left
    unsorted, so the agent's rebuilt tree did not match its digest). cli/ is
    the directory that bug was found on: with the fix reverted, common/ and
    tests/unit/ alone still passed here, cli/ made the run fail."""
    one_agent(cluster)
    workspace = cluster.path("repo-ws")
    os.makedirs(workspace)
    source = source_dir()
    for part in ("common", os.path.join("tests", "unit"), "cli"):
        shutil.copytree(os.path.join(source, part), os.path.join(workspace, part), symlinks=True)
    want = count_files(workspace)
    assert want > 50, f"only {want} files copied from {source}: wrong source dir?"

    result, summary = cluster.run("--shards", "2", "--", "sh", "-c", "find . -type f | wc -l",
                                  cwd=workspace, json_path=cluster.path("out.json"))
    assert summary["status"] == "passed", summary
    check_unique_results(summary, 2)
    counts = [int(n) for n in re.findall(r"^\s*(\d+)\s*$", result.stdout, re.MULTILINE)]
    assert counts == [want, want], (
        f"each shard should print {want} (files copied), stdout:\n{result.stdout}")


def test_multi_chunk_blob_arrives_intact_and_is_uploaded_once(cluster):
    one_agent(cluster)
    workspace = cluster.path("blob-ws")
    os.makedirs(workspace)
    content = os.urandom(3 * 1024 * 1024 + 4321)  # three full 1 MiB chunks and a bit
    with open(os.path.join(workspace, "big.bin"), "wb") as stream:
        stream.write(content)
    digest = hashlib.sha256(content).hexdigest()
    script = (f"sha256sum big.bin; echo '{digest}  big.bin' | sha256sum --quiet -c - "
              f"&& echo blob-ok")
    first, summary = cluster.run("--", "sh", "-c", script, cwd=workspace,
                                 json_path=cluster.path("first.json"))
    assert summary["status"] == "passed", f"{summary}\n{first.stdout}"
    assert f"{digest}  big.bin" in first.stdout and "blob-ok" in first.stdout, first.stdout
    assert summary["uploaded_bytes"] >= len(content), summary
    second, summary = cluster.run("--", "sh", "-c", script, cwd=workspace,
                                  json_path=cluster.path("second.json"))
    assert summary["status"] == "passed", f"{summary}\n{second.stdout}"
    assert "blob-ok" in second.stdout, second.stdout
    assert summary["uploaded_bytes"] == 0, f"second run uploaded {summary['uploaded_bytes']} bytes"


def test_agent_started_as_root_with_user_runs_jobs_as_that_user(cluster):
    if os.geteuid() != 0:
        pytest.skip("needs root: an agent only switches to --user when started as root")
    # The temp root is mkdtemp's 0700; the agent's data dir lives under it,
    # as /var/lib/tessera-agent would under a traversable /var/lib.
    os.chmod(cluster.root, 0o755)
    one_agent(cluster, extra=("--user", "nobody"))
    result, summary = cluster.run("--", "sh", "-c", "echo user=$(id -un) uid=$(id -u) home=$HOME",
                                  json_path=cluster.path("out.json"))
    assert summary["status"] == "passed", f"{summary}\n{result.stdout}"
    match = re.search(r"user=(\S+) uid=(\d+)", result.stdout)
    assert match, f"no shard output on stdout:\n{result.stdout}"
    assert match.group(1) == "nobody", f"job ran as {match.group(1)}, want nobody"
    assert match.group(2) != "0", result.stdout


BAD_SPEC = """project: itest
jobs:
  unit:
    command: "true"
    colour: blue
"""


def test_run_against_a_coordinator_rejects_bad_config_and_missing_key(cluster):
    cluster.start_coordinator()
    workspace = cluster.path("bad-ws")
    os.makedirs(workspace)
    with open(os.path.join(workspace, "tessera.yml"), "w", encoding="utf-8") as stream:
        stream.write(BAD_SPEC)
    result = cluster.cli("run", "-C", workspace, expect_errors=True)
    output = result.stdout + result.stderr
    assert result.returncode == 2, f"run -C with an unknown key: exit {result.returncode}\n{output}"
    assert re.search(r"tessera\.yml:5:\d+", output), f"no tessera.yml:5:COL in:\n{output}"
    assert "colour" in output, f"the message does not name the key:\n{output}"

    coordinator = cluster.coordinator
    result = cluster.cli("--coordinator", coordinator.clients_endpoint,
                         "--server-key", coordinator.server_key, "run", "--", "true",
                         client=False, expect_errors=True)
    output = result.stdout + result.stderr
    assert result.returncode == 2, f"--coordinator without --key: exit {result.returncode}\n{output}"
    assert "--key" in output, f"the message does not name --key:\n{output}"
