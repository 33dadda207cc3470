"""test_cluster - issue 3 acceptance on a real coordinator and real agents

Every test starts `tessera-coordinator` and `tessera-agent` processes on
loopback with keys from `tessera keygen`, and drives them with the `tessera`
CLI (harness.py, fixtures in conftest.py).                                 """

import hashlib
import json
import os
import re
import signal
import time

from harness import (holds_for, kernel_port_endpoint, public_key, read_kv_file, shard_index,
                     wait_until, zmtp_null_greeting)

# Shard 0's first attempt (whichever agent gets it) records who runs it and
# hangs until ROOT/release exists (created by the test or by teardown); every
# other attempt, including shard 0's rerun, passes at once. `mkdir` is atomic,
# so exactly one attempt ever hangs.
HANG_SCRIPT = r"""
if [ "$TSR_SHARD_INDEX" = 0 ] && mkdir {root}/mark 2>/dev/null; then
  {{ echo "pid=$$"; echo "ppid=$PPID"; echo "cwd=$(pwd)"; echo "attempt=$TSR_ATTEMPT_ID"
     echo "cpus=$(grep Cpus_allowed_list /proc/self/status | cut -f2)"; }} > {root}/hang.tmp
  mv {root}/hang.tmp {root}/hang.info
  i=0
  while [ ! -e {root}/release ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
fi
exit 0
"""


def two_agents(cluster, labels=("pool=a", "pool=b"), restartable=False):
    """A coordinator and agents agent-a (CPU 0) and agent-b (CPU 1), both listed.
    `restartable`: on kernel-picked ports (see harness.kernel_port_endpoint)
    instead of "*", so a restart on the same ports does not race."""
    key_a = cluster.keygen("agent-a")
    key_b = cluster.keygen("agent-b")
    endpoints = {}
    if restartable:
        endpoints = {"agents_ep": kernel_port_endpoint(), "clients_ep": kernel_port_endpoint()}
    coordinator = cluster.start_coordinator(allow_agents=[key_a, key_b], **endpoints)
    for name, endpoint in endpoints.items():
        bound = getattr(coordinator, {"agents_ep": "agents_endpoint",
                                      "clients_ep": "clients_endpoint"}[name])
        assert bound == endpoint, f"asked for {endpoint}, the ready file says {bound}"
    agent_a = cluster.start_agent("agent-a", key_a, cpus="0", labels=labels[0], wait_ready=False)
    agent_b = cluster.start_agent("agent-b", key_b, cpus="1", labels=labels[1], wait_ready=False)
    for agent in (agent_a, agent_b):
        assert agent.ready(keys=("name",))["name"] == agent.agent_name
    cluster.wait_agents(["agent-a", "agent-b"])
    return agent_a, agent_b


def agent_name_of(cluster, value, listing=None):
    """results[].agent may be the display name or the id: return the name."""
    for agent in listing or cluster.agents():
        if value in (agent.get("name"), agent.get("id")):
            return agent["name"]
    return value


def check_unique_results(summary, shards):
    """Every shard reported exactly once, and the counts agree."""
    ids = [result["id"] for result in summary["results"]]
    assert len(ids) == len(set(ids)), f"a shard is reported twice: {ids}"
    assert summary["shards"] == shards, f"shards={summary['shards']}, want {shards}"
    assert len(ids) == shards, f"{len(ids)} results for {shards} shards: {ids}"
    assert sorted(shard_index(i) for i in ids) == list(range(shards)), ids


def hang_victim(info, agents):
    """Which agent runs the hung attempt: its parent pid, else its work dir,
    else its CPU (each agent has one distinct CPU)."""
    for agent in agents:
        if info.get("ppid") == str(agent.pid):
            return agent
    for agent in agents:
        if info.get("cwd", "").startswith(agent.data_dir + os.sep):
            return agent
    for agent in agents:
        if info.get("cpus") == agent.cpus:
            return agent
    raise AssertionError(f"cannot tell which agent runs the hung shard: {info}")


def start_hung_run(cluster, shards, json_path):
    proc = cluster.popen_run("--shards", str(shards), "--", "sh", "-c",
                             HANG_SCRIPT.format(root=cluster.root), json_path=json_path)

    def started():
        if proc.poll() is not None:
            raise AssertionError(f"tessera run exited {proc.returncode} before shard 0 started:"
                                 f"\n{proc.stdout.read()}{proc.stderr.read()}")
        return read_kv_file(cluster.path("hang.info"))

    return proc, wait_until(started, 60, "shard 0's first attempt to start")


def check_requeued_run(cluster, code, stdout, stderr, summary, shards, survivor):
    assert code == 0, f"run exited {code}, want 0\n{stdout}{stderr}"
    assert summary is not None, "no --json summary written"
    assert summary["status"] == "passed", summary
    check_unique_results(summary, shards)
    listing = cluster.agents()
    by_index = {shard_index(r["id"]): r for r in summary["results"]}
    first = by_index[0]
    assert first["outcome"] == "passed", first
    assert first["attempts"] == 2, f"shard 0 attempts={first['attempts']}, want 2: {first}"
    assert agent_name_of(cluster, first["agent"], listing) == survivor.agent_name, (
        f"shard 0 reran on {first['agent']}, want {survivor.agent_name}")
    for index, result in by_index.items():
        assert result["outcome"] == "passed", result
        if index:
            assert result["attempts"] == 1, f"only shard 0 was requeued: {result}"


def run_record(status, run_id):
    """The run's object in `tessera status RUN --json` output."""
    if isinstance(status, dict) and isinstance(status.get("runs"), list):
        candidates = status["runs"]
    elif isinstance(status, list):
        candidates = status
    else:
        candidates = [status]
    for record in candidates:
        if run_id in (record.get("run"), record.get("run_id"), record.get("id")):
            return record
    assert len(candidates) == 1, f"run {run_id} not in status output {status}"
    return candidates[0]


def stable_view(record):
    """What must not change once a run has ended."""
    view = {k: record[k] for k in ("status", "tests", "shards", "cached_shards",
                                   "total", "passed", "failed") if k in record}
    view["results"] = sorted(
        (r.get("id"), r.get("outcome"), r.get("attempts"), r.get("agent"))
        for r in record.get("results", []))
    return view


def test_two_agents_list_and_pin_shards_to_their_cpu(cluster):
    two_agents(cluster, labels=("pool=a,team=itest", "pool=b,team=itest"))
    listing = {agent["name"]: agent for agent in cluster.agents()}
    assert sorted(listing) == ["agent-a", "agent-b"], listing
    for name, cpu in (("agent-a", 0), ("agent-b", 1)):
        agent = listing[name]
        assert agent["slots"] == 1, f"{name}: slots={agent['slots']}, want 1"
        assert agent["cpus"] == [cpu], f"{name}: cpus={agent['cpus']}, want [{cpu}]"
        assert agent["free_slots"] == 1 and agent["running"] == 0, agent
        assert agent["draining"] is False, agent
        assert agent["id"] and agent["version"], agent
        labels = agent["labels"]
        assert isinstance(labels, dict), f"{name}: labels is not an object: {labels}"
        assert labels.get("pool") == name[-1] and labels.get("team") == "itest", labels
        assert labels.get("os", "").lower() == "linux", f"{name}: no detected os label: {labels}"
        assert labels.get("arch"), f"{name}: no detected arch label: {labels}"
    assert listing["agent-a"]["id"] != listing["agent-b"]["id"]

    # The command of the acceptance, plus a copy into a file per attempt so the
    # test does not depend on how the output tails are laid out; the sleep lets
    # both agents pull work.
    out = cluster.path("cpus")
    os.makedirs(out)
    script = (f"grep Cpus_allowed_list /proc/self/status | "
              f"tee {out}/$TSR_SHARD_INDEX-of-$TSR_SHARD_COUNT.$TSR_ATTEMPT_ID; sleep 0.3")
    result, summary = cluster.run("--shards", "4", "--", "sh", "-c", script,
                                  json_path=cluster.path("out.json"))
    assert summary["status"] == "passed", summary
    check_unique_results(summary, 4)
    assert summary["tests"]["total"] == 4 and summary["tests"]["passed"] == 4, summary["tests"]
    printed = re.findall(r"Cpus_allowed_list:\s*(\S+)", result.stdout)
    assert len(printed) == 4, f"want 4 shard output tails on stdout, got:\n{result.stdout}"

    files = sorted(os.listdir(out))
    assert len(files) == 4, f"want one attempt per shard, got {files}"
    agents_used = set()
    allowed_lists = []
    for entry in summary["results"]:
        index = shard_index(entry["id"])
        assert entry["outcome"] == "passed" and entry["attempts"] == 1, entry
        name = agent_name_of(cluster, entry["agent"])
        assert name in ("agent-a", "agent-b"), entry
        agents_used.add(name)
        (path,) = [f for f in files if f.startswith(f"{index}-of-4.")]
        with open(os.path.join(out, path), encoding="utf-8") as stream:
            allowed = stream.read().split(":", 1)[1].strip()
        want = "0" if name == "agent-a" else "1"
        allowed_lists.append(allowed)
        assert allowed == want, f"shard {index} ran on {name} with CPUs {allowed}, want {want}"
    assert agents_used == {"agent-a", "agent-b"}, f"4 shards ran only on {agents_used}"
    assert sorted(printed) == sorted(allowed_lists), f"printed {printed}, files {allowed_lists}"

    # The printed tails themselves: each follows its shard's "… default/I passed …" line.
    agent_of = {shard_index(r["id"]): agent_name_of(cluster, r["agent"])
                for r in summary["results"]}
    finished = None
    for line in result.stdout.splitlines():
        header = re.search(r"\S+/(\d+)\b.*\bpassed\b", line)
        if header:
            finished = int(header.group(1))
        tail = re.search(r"Cpus_allowed_list:\s*(\S+)", line)
        if tail:
            assert finished is not None, f"output tail before any shard header:\n{result.stdout}"
            want = "0" if agent_of[finished] == "agent-a" else "1"
            assert tail.group(1) == want, (
                f"printed tail of shard {finished} shows CPUs {tail.group(1)}, want {want}:\n"
                f"{result.stdout}")


def test_unknown_keys_are_refused_until_allowed_and_sighup(cluster):
    good = cluster.keygen("agent-good")
    late = cluster.keygen("agent-late")
    coordinator = cluster.start_coordinator(allow_agents=[good])
    cluster.start_agent("agent-good", good, cpus="0")
    # Not in allow/agents; then the client's key (allowed on the clients
    # endpoint only) on the agents endpoint. Neither may ever be listed.
    refused = cluster.start_agent("agent-late", late, cpus="1", wait_ready=False,
                                  allow_errors=True)
    wrong = cluster.start_agent("agent-clientkey", cluster.client_key, cpus="1",
                                wait_ready=False, allow_errors=True)
    cluster.wait_agents(["agent-good"])
    holds_for(lambda: cluster.agent_names() == ["agent-good"] and refused.alive() and wrong.alive(),
              3.0, "only agent-good listed while the refused agents keep trying")

    _, summary = cluster.run("--shards", "2", "--", "true", json_path=cluster.path("out.json"))
    for result in summary["results"]:
        assert agent_name_of(cluster, result["agent"]) == "agent-good", result
    for agent in (refused, wrong):
        work = os.path.join(agent.data_dir, "work")
        assert not os.path.isdir(work) or not os.listdir(work), f"{agent.name} ran {os.listdir(work)}"

    # An unknown client key is refused too: infrastructure error, exit 3.
    stranger = cluster.keygen("stranger")
    result = cluster.cli("agents", "--json", key=stranger, expect_errors=True)
    assert result.returncode == 3, f"unknown client key: exit {result.returncode}, want 3\n" \
                                   f"{result.stdout}{result.stderr}"
    # A plaintext peer never completes a handshake.
    received, closed = zmtp_null_greeting(coordinator.agents_endpoint)
    assert closed, f"a plaintext peer was kept connected (got {received!r})"
    assert len(received) < 64, "the coordinator completed a greeting with a plaintext peer"

    # Each refusal is logged (and counted) with the peer's key as 8 Z85 characters.
    def refused(pattern):
        return lambda: any(re.search(r"(?i)refus", line) and re.search(pattern, line)
                           for line in coordinator.log_text().splitlines())

    for what, pattern in (
            ("agent-late's unknown key", re.escape(public_key(late + ".pub")[:8])),
            ("the client key on the agents endpoint", re.escape(public_key(cluster.client_key
                                                                           + ".pub")[:8])),
            ("the unknown client key", re.escape(public_key(stranger + ".pub")[:8])),
            ("the plaintext peer", r"(?i)plain|not.?curve|NULL")):
        wait_until(refused(pattern), 5, f"the coordinator to log refusing {what}")

    cluster.allow(coordinator.data_dir, "agents", late)
    coordinator.signal(signal.SIGHUP)
    started = time.monotonic()
    cluster.wait_agents(["agent-good", "agent-late"], timeout_s=40)
    print(f"agent-late joined {time.monotonic() - started:.2f}s after SIGHUP")
    holds_for(lambda: cluster.agent_names() == ["agent-good", "agent-late"] and wrong.alive(),
              1.0, "the client key stays refused on the agents endpoint")


def test_killed_agent_shard_reruns_on_the_other(fast_cluster):
    cluster = fast_cluster
    agent_a, agent_b = two_agents(cluster)
    json_path = cluster.path("out.json")
    proc, info = start_hung_run(cluster, 3, json_path)
    victim = hang_victim(info, [agent_a, agent_b])
    survivor = agent_b if victim is agent_a else agent_a
    victim.kill9()
    code, stdout, stderr, summary = cluster.finish_run(proc, json_path)
    check_requeued_run(cluster, code, stdout, stderr, summary, 3, survivor)
    cluster.wait_agents([survivor.agent_name])


def process_gone(pid):
    """True once `pid` has exited (gone, or a zombie its parent has not reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stream:
            return stream.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def stop_agent_during_run(cluster):
    """Two agents; SIGSTOP the one running shard 0's first attempt; the run
    must still pass (shard 0 rerun on the other). Returns the victim (still
    stopped), the hung attempt's info, the run id, the run's stable view from
    `tessera status RUN --json`, and the --json path."""
    agent_a, agent_b = two_agents(cluster)
    json_path = cluster.path("out.json")
    proc, info = start_hung_run(cluster, 3, json_path)
    assert info.get("attempt", "").isdigit(), f"the shard saw no TSR_ATTEMPT_ID: {info}"
    victim = hang_victim(info, [agent_a, agent_b])
    survivor = agent_b if victim is agent_a else agent_a
    victim.signal(signal.SIGSTOP)
    code, stdout, stderr, summary = cluster.finish_run(proc, json_path)
    check_requeued_run(cluster, code, stdout, stderr, summary, 3, survivor)
    run_id = summary["run"]
    before = stable_view(run_record(cluster.cli_json("status", run_id, "--json"), run_id))
    return victim, info, run_id, before, json_path


def check_run_unchanged(cluster, run_id, before, json_path):
    """After the continued agent is back: the ended run is as it was."""
    cluster.wait_agents(["agent-a", "agent-b"], timeout_s=40)
    after = stable_view(run_record(cluster.cli_json("status", run_id, "--json"), run_id))
    assert after == before, f"the run changed after the stale attempt:\n{before}\n{after}"
    with open(json_path, encoding="utf-8") as stream:
        check_unique_results(json.load(stream), 3)


def coordinator_line(cluster, said, attempt, about):
    """A coordinator log line matching `said` that names `attempt` or matches
    `about` (the temp root path is masked: its name contains test words)."""
    names = rf"attempt\w*[=:\s]+(?:[\d,]+,)?{attempt}(?![\w.-])"
    for line in cluster.coordinator.log_text().replace(cluster.root, "ROOT").splitlines():
        if re.search(said, line) and (re.search(names, line) or re.search(about, line)):
            return line
    return None


def test_stopped_agent_shard_reruns_and_stale_attempt_is_cancelled(fast_cluster):
    """Continued while its stale attempt still runs: the agent re-registers
    with it in Hello.in_flight, the coordinator (its lease having expired)
    lists it in Welcome.cancel, and the agent kills it: no second report."""
    cluster = fast_cluster
    victim, info, run_id, before, json_path = stop_agent_during_run(cluster)
    victim.signal(signal.SIGCONT)
    hung_pid = int(info["pid"])
    wait_until(lambda: process_gone(hung_pid), 20,
               f"the continued agent to kill its stale attempt (pid {hung_pid})")
    check_run_unchanged(cluster, run_id, before, json_path)
    line = wait_until(
        lambda: coordinator_line(cluster, r"(?i)ignor|stale|expired|not current|cancel",
                                 info["attempt"], r"(?i)cancel\w*[=:\s]+[1-9]"),
        10, f"the coordinator to log that it refused stale attempt {info['attempt']}")
    print(f"coordinator: {line}")


def test_stopped_agent_shard_reruns_and_late_result_is_ignored(fast_cluster):
    """The stale attempt ends while its agent is stopped; continued, the agent
    either delivers that Result (ignored on arrival: lease not current) or,
    because its link went stale, keeps it and lists the attempt in its next
    Hello, where the coordinator cancels it. Either way the coordinator logs
    that the attempt's result is ignored, and the run is unchanged."""
    cluster = fast_cluster
    victim, info, run_id, before, json_path = stop_agent_during_run(cluster)
    try:
        with open(cluster.path("release"), "w", encoding="utf-8"):
            pass
        hung_pid = int(info["pid"])
        wait_until(lambda: process_gone(hung_pid), 10, f"the stale attempt (pid {hung_pid}) to end")
    finally:
        victim.signal(signal.SIGCONT)
    check_run_unchanged(cluster, run_id, before, json_path)
    line = wait_until(
        lambda: coordinator_line(cluster, r"(?i)ignor|stale|expired|not current|discard|dropp",
                                 info["attempt"], r"(?i)result"),
        10, f"the coordinator to log that it ignored the late result of attempt {info['attempt']}")
    print(f"coordinator: {line}")


def test_coordinator_restart_agents_rejoin_and_run(fast_cluster):
    cluster = fast_cluster
    two_agents(cluster, restartable=True)
    cluster.run("--shards", "2", "--", "true", json_path=cluster.path("before.json"))
    old = cluster.coordinator
    old.kill9()
    # Same data dir and the same ports.
    new = cluster.start_coordinator(agents_ep=old.agents_endpoint, clients_ep=old.clients_endpoint,
                                    data_dir=old.data_dir, name="coordinator-2")
    assert new.agents_endpoint == old.agents_endpoint, new.agents_endpoint
    assert new.clients_endpoint == old.clients_endpoint, new.clients_endpoint
    assert new.public_key == old.public_key, "the restarted coordinator has a new key"
    started = time.monotonic()
    deadline_s = max(5.0, 10 * cluster.heartbeat_ms / 1000)
    cluster.wait_agents(["agent-a", "agent-b"], timeout_s=deadline_s)
    print(f"agents back {time.monotonic() - started:.2f}s after the restarted coordinator was ready")
    _, summary = cluster.run("--shards", "2", "--", "true", json_path=cluster.path("after.json"))
    assert summary["status"] == "passed", summary
    check_unique_results(summary, 2)


def test_coordinator_restart_mid_run_resumes_the_run(fast_cluster):
    """Not an acceptance line of its own, but what it rests on: runs live in
    the coordinator's LMDB, the CLI's Watch is Lazy Pirate, and an agent
    re-registers with its in-flight attempt after the restart."""
    cluster = fast_cluster
    agent_a, agent_b = two_agents(cluster, restartable=True)
    json_path = cluster.path("out.json")
    proc, info = start_hung_run(cluster, 2, json_path)
    runner = hang_victim(info, [agent_a, agent_b])
    old = cluster.coordinator
    old.kill9()
    cluster.start_coordinator(agents_ep=old.agents_endpoint, clients_ep=old.clients_endpoint,
                              data_dir=old.data_dir, name="coordinator-2")
    cluster.wait_agents(["agent-a", "agent-b"], timeout_s=10)
    with open(cluster.path("release"), "w", encoding="utf-8"):
        pass
    code, stdout, stderr, summary = cluster.finish_run(proc, json_path)
    assert code == 0, f"run across a coordinator restart exited {code}\n{stdout}{stderr}"
    assert summary["status"] == "passed", summary
    check_unique_results(summary, 2)
    first = {shard_index(r["id"]): r for r in summary["results"]}[0]
    assert first["outcome"] == "passed", first
    if first["attempts"] == 1:  # re-attached from Hello.in_flight, not requeued
        assert agent_name_of(cluster, first["agent"]) == runner.agent_name, first
    print(f"shard 0 after the restart: {first}")


def write_workspace(root, files):
    for relative, content in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as stream:
            stream.write(content)
    listing = [f for f in sorted(files) if f.startswith("data/")]
    sums = "".join(f"{hashlib.sha256(files[f]).hexdigest()}  {f}\n" for f in listing)
    with open(os.path.join(root, "SHA256SUMS"), "w", encoding="utf-8") as stream:
        stream.write(sums)


UPLOAD_SPEC = b"""project: itest-upload
jobs:
  check:
    command: [sh, -c, "sha256sum --quiet -c SHA256SUMS"]
"""


def test_second_run_of_a_workspace_uploads_nothing(cluster):
    key = cluster.keygen("agent-a")
    cluster.start_coordinator(allow_agents=[key])
    cluster.start_agent("agent-a", key, cpus="0")
    cluster.wait_agents(["agent-a"])
    workspace = cluster.path("upload-ws")
    files = {
        "tessera.yml": UPLOAD_SPEC,
        "data/big.bin": os.urandom(300 * 1024),
        "data/small.txt": b"small\n",
        "data/sub/more.txt": b"more\n" * 100,
    }
    write_workspace(workspace, files)
    content_bytes = sum(len(v) for k, v in files.items() if k.startswith("data/"))

    _, first = cluster.run("-C", workspace, json_path=cluster.path("first.json"))
    assert first["status"] == "passed", first  # the agent materialised every file intact
    assert first["uploaded_bytes"] >= content_bytes, (
        f"first run uploaded {first['uploaded_bytes']} bytes, the files alone are {content_bytes}")
    _, second = cluster.run("-C", workspace, json_path=cluster.path("second.json"))
    assert second["status"] == "passed", second
    assert second["uploaded_bytes"] == 0, f"second run uploaded {second['uploaded_bytes']} bytes"

    # One small change: only what changed goes up, not the big file again.
    files["data/small.txt"] = b"changed\n"
    write_workspace(workspace, files)
    _, third = cluster.run("-C", workspace, json_path=cluster.path("third.json"))
    assert third["status"] == "passed", third
    assert 0 < third["uploaded_bytes"] < len(files["data/big.bin"]), (
        f"after a one-file change the run uploaded {third['uploaded_bytes']} bytes")
