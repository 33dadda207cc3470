"""test_cargo_vendored - a cargo workspace whose dependency comes from a
directory source of vendored crates, offline, across two real agents

Issue 4: the cargo adapter "works offline with a directory source of vendored
crates". The crate is fnv from Debian's librust-fnv-dev (installed by
.ci/deps; its sources are under /usr/share/cargo/registry, with the
.cargo-checksum.json a directory source needs). The workspace's own
.cargo/config.toml replaces crates.io with that directory and sets offline;
CARGO_HOME is an empty directory of the test's, so nothing else can supply the
crate. The reference is a serial `cargo test` of the same workspace.   """

import glob
import os
import subprocess

from test_cluster import two_agents
from test_frameworks import (SERIAL_TIMEOUT_S, cargo_env, outcome_counts, parse_cargo_counts,
                             results_by_id, with_agent_env)

REGISTRY = "/usr/share/cargo/registry"

CONFIG = f"""[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "{REGISTRY}"

[net]
offline = true
"""

MANIFEST = """[package]
name = "wordcount"
version = "0.1.0"
edition = "2021"

[dependencies]
fnv = "1"
"""

LIB = """//! Counts words with fnv's FnvHashMap, a vendored crate.
use fnv::FnvHashMap;

/// Occurrences of each whitespace-separated word.
pub fn count_words(text: &str) -> FnvHashMap<&str, usize> {
    let mut counts = FnvHashMap::default();
    for word in text.split_whitespace() {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_repeated_words() {
        assert_eq!(count_words("a b a")["a"], 2);
    }

    #[test]
    fn empty_text_has_no_words() {
        assert!(count_words("").is_empty());
    }

    #[test]
    fn wrong_count_fails() {
        assert_eq!(count_words("x x x")["x"], 2, "deliberately wrong");
    }

    #[test]
    #[ignore]
    fn ignored_test_is_skipped() {}
}
"""

TESTS = """use wordcount::count_words;

#[test]
fn counts_distinct_words() {
    assert_eq!(count_words("to be or not to be").len(), 4);
}
"""


def write_workspace(path):
    for relative, text in ((".cargo/config.toml", CONFIG), ("Cargo.toml", MANIFEST),
                           ("src/lib.rs", LIB), ("tests/words.rs", TESTS)):
        target = os.path.join(path, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as stream:
            stream.write(text)


def test_cargo_with_vendored_crates_runs_offline_across_two_agents(cluster):
    variables = cargo_env(cluster)
    assert glob.glob(os.path.join(REGISTRY, "fnv-1.*", ".cargo-checksum.json")), (
        f"no fnv crate under {REGISTRY}: install librust-fnv-dev (.ci/deps does)")
    with_agent_env(cluster, **variables)
    serial_ws = cluster.path("serial-vendored")
    write_workspace(serial_ws)
    env = dict(cluster.env, CARGO_TARGET_DIR=cluster.path("serial-target"))
    serial = subprocess.run(["cargo", "test", "--no-fail-fast"], cwd=serial_ws, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, timeout=SERIAL_TIMEOUT_S)
    counts = parse_cargo_counts(serial.stdout)
    assert serial.returncode == 101 and "Compiling fnv" in serial.stdout, (
        f"serial cargo test: exit {serial.returncode}\n{serial.stdout[-3000:]}")
    # 3 passed (2 unit, 1 integration), 1 failed, 1 ignored, doc-tests: none
    assert dict(counts) == {"passed": 3, "failed": 1, "skipped": 1}, f"serial counts {counts}"

    two_agents(cluster)
    workspace = cluster.path("vendored-ws")
    write_workspace(workspace)
    json_path = cluster.path("run.json")
    _, summary = cluster.run("-C", workspace, "--shards", "2", "--", "cargo", "test",
                             json_path=json_path, expect_exit=1, timeout_s=240)
    results = results_by_id(summary)
    assert dict(outcome_counts(summary)) == dict(counts), (
        f"tessera {dict(outcome_counts(summary))}, serial {dict(counts)}: "
        f"{sorted(i + '=' + r['outcome'] for i, r in results.items())}")
    failed = [i for i, r in results.items() if r["outcome"] == "failed"]
    assert len(failed) == 1 and failed[0].endswith("tests::wrong_count_fails"), failed
    assert "deliberately wrong" in (results[failed[0]].get("message") or ""), results[failed[0]]
