/*  tsr_fw_cargo - the cargo adapter
    A test id is (binary, test name): `BINARY::NAME`, where BINARY is
    `package/kind/target` (kind: lib, bin, test, bench, example), so names
    that repeat across binaries and packages stay apart, and the first "::"
    ends the binary (package and target names hold no ':'). A package's
    doctests, which cannot be selected one by one, are one id:
    `package::doctests`. The group of an id is the part before the first "::".

    list: `cargo metadata`, then `cargo test --no-run --message-format=json`
    (the user's cargo arguments kept, so the binaries are built the way the
    user's command builds them), then each binary's `--list`; and per library
    package with doctests, `cargo test --doc -p PKG -- --list`. Builds go to
    CARGO_TARGET_DIR=<cache_dir>/target, so they persist per agent and a
    run's own `--no-run` (to find the executables) is an up-to-date check.

    run: each binary with `--exact NAME...` (in batches, so huge shards never
    overflow the command line) in its package directory with cargo's runtime
    variables (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...); doctests with
    `cargo test --doc -p PKG`. libtest runs tests on threads in one process,
    in name order, not the shard's: a binary that crashes or hangs is not
    necessarily in the shard's first test without a result, so this adapter
    marks the test itself (CRASHED, TIMED_OUT) from libtest's `started`
    events; when it died with several in flight, those without a result run
    again on one test thread first, to tell which. The rest of that binary
    gets no result (the caller runs it again). Reports are libtest's JSON events
    (`-Z unstable-options --format json --report-time`), parsed with cJSON.
    That format is unstable: stable toolchains accept it when the test
    process has RUSTC_BOOTSTRAP=1 in its environment (what cargo-nextest
    relies on too); libtest's plain-text output is the only stable
    alternative, and we never scrape text. Verified with rustc 1.95.       */
#ifndef TSR_FW_CARGO_H
#define TSR_FW_CARGO_H

#include "tsr_framework.h"

extern const tsr_framework_t tsr_fw_cargo_entry;

//  The user's `cargo [toolchain, global options] test [cargo args]
//  [TESTNAME] [-- test args]`, taken apart.
typedef struct {
    zlistx_t *prefix;     //  owned strings: argv up to and without "test"
    zlistx_t *cargo_args; //  owned strings: cargo's own options after "test"
    zlistx_t *test_args;  //  owned strings: after "--", for the test binaries
    zlistx_t *filters;    //  owned strings: TESTNAME and test-arg positionals
    char *manifest_path;  //  owned; --manifest-path, or NULL
    bool doc_only;        //  --doc: only doctests
    bool doctests;        //  the command runs doctests (no target selection, or --doc)
} tsr_fw_cargo_cmd_t;

//  Take the user's command apart. TSR_EINVAL if it is not `cargo ... test`.
TSR_NODISCARD int tsr_fw_cargo_cmd_parse(const char *const *argv, tsr_fw_cargo_cmd_t **cmd_out);
void tsr_fw_cargo_cmd_destroy(tsr_fw_cargo_cmd_t **self_p);

//  What tsr_fw_cargo_cmd_add_test_args leaves out besides the options we
//  always set: bits to or together
#define TSR_FW_CARGO_DROP_EXACT 1u   //  --exact (a run names its tests exactly)
#define TSR_FW_CARGO_DROP_THREADS 2u //  --test-threads (a run that sets its own)

//  Append the user's test arguments to `argv` minus the ones we set (--format,
//  -Z, --list, -q, --quiet) and those `drop` names (TSR_FW_CARGO_DROP_*).
void tsr_fw_cargo_cmd_add_test_args(const tsr_fw_cargo_cmd_t *self, zlistx_t *argv, unsigned drop);

//  Append the user's cargo arguments to `argv` minus those choosing targets
//  or packages, for `cargo test --doc -p PKG`.
void tsr_fw_cargo_cmd_add_doc_args(const tsr_fw_cargo_cmd_t *self, zlistx_t *argv);

//  A workspace package, from `cargo metadata --format-version 1`.
typedef struct {
    char *name;         //  owned
    char *version;      //  owned
    char *manifest_dir; //  owned; its directory
    bool doctests;      //  has a library target with doctest = true
} tsr_fw_cargo_package_t;

//  Read `cargo metadata` JSON into `packages` (zhashx: package id ->
//  tsr_fw_cargo_package_t *, destructor set here) and the ids of the
//  workspace's default members into `default_members` (string list; may be
//  NULL). Returns TSR_OK, TSR_EPARSE, or -errno.
TSR_NODISCARD int tsr_fw_cargo_parse_metadata(const char *json_path, zhashx_t *packages,
                                              zlistx_t *default_members);

//  A test binary, from a `compiler-artifact` message with profile.test.
typedef struct {
    char *id;           //  owned; "package/kind/target"
    char *package;      //  owned; package name
    char *version;      //  owned; package version ("" if unknown)
    char *target;       //  owned; target name
    char *executable;   //  owned; absolute path
    char *manifest_dir; //  owned; the package directory, where its tests run
} tsr_fw_cargo_binary_t;

//  Read `cargo test --no-run --message-format=json` output into `binaries`
//  (zlistx of tsr_fw_cargo_binary_t *, destructor set here), sorted by id;
//  `packages` (from tsr_fw_cargo_parse_metadata, may be NULL) names them.
//  A build failure adds the binary id of each target with an error (or
//  "cargo::build" when none can be told) to `errors` (may be NULL).
//  Returns TSR_OK, TSR_EPARSE (no cargo message at all), or -errno.
TSR_NODISCARD int tsr_fw_cargo_parse_artifacts(const char *jsonl_path, zhashx_t *packages,
                                               zlistx_t *binaries, zlistx_t *errors);

//  Read a test binary's `--list --format json` events: appends
//  "<binary_id>::<name>" per test to `test_ids`. Returns TSR_OK, TSR_EPARSE
//  (no libtest event), or -errno.
TSR_NODISCARD int tsr_fw_cargo_parse_list(const char *jsonl_path, const char *binary_id,
                                          zlistx_t *test_ids);

//  How many tests a `--list --format json` names (doctests). Same returns.
TSR_NODISCARD int tsr_fw_cargo_count_listed(const char *jsonl_path, size_t *count_out);

//  Read a test binary's run events into `results`, ids "<binary_id>::<name>":
//  ok -> PASSED, failed -> FAILED (message: the captured output), ignored ->
//  SKIPPED, exec_time -> duration_ms. Tests started but never finished (the
//  binary crashed or was killed in them) get no result; their names (without
//  the binary id) are appended to `running` (string list, may be NULL) in the
//  order they started: with one test thread, the one it died in; with more,
//  every test in flight. Returns TSR_OK (also for an empty file: the binary
//  died at once), TSR_EPARSE (text but no libtest event), or -errno; on an
//  error `running` is left as it was.
TSR_NODISCARD int tsr_fw_cargo_parse_run(const char *jsonl_path, const char *binary_id,
                                         tsr_results_t *results, zlistx_t *running);

//  Read a `cargo test --doc` run's events into one result `test_id`
//  (package::doctests): FAILED if one failed (message: their names and the
//  first output), else PASSED if one passed, else SKIPPED; with no event at
//  all, PASSED if `exit_code` is 0 else ERROR. Returns TSR_OK, TSR_EPARSE
//  (text but no libtest event), or -errno.
TSR_NODISCARD int tsr_fw_cargo_parse_doctests(const char *jsonl_path, const char *test_id,
                                              int exit_code, uint64_t duration_ms,
                                              tsr_results_t *results);

//  The binary id of a test id (before the first "::"). A new string.
char *tsr_fw_cargo_group(const char *test_id);

#endif
