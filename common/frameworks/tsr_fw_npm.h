/*  tsr_fw_npm - the npm adapter: jest, mocha, vitest and `node --test`
    The runner comes from the command (`npx jest`, `mocha`, `vitest run`,
    `node --test`) or, for `npm test`, from package.json's scripts.test
    (split like a shell word list, without running anything), else from its
    devDependencies.

    Listing gives test FILES (paths relative to the workdir): jest lists them
    (`--listTests --json`), mocha through a dry run (`--dry-run`, mocha >= 9),
    vitest (3, and 2) with `vitest list --filesOnly --json=FILE`, `node
    --test` by node 20's own file rules (test/ directories, names like
    *.test.js, test-*.mjs), applied here. A shard runs a subset of files in
    one process: jest `--runTestsByPath FILES`, mocha with the spec replaced
    by FILES, vitest with FILES as paths through its node API, `node --test
    FILES`.

    Results are per TEST: id `FILE::Suite > inner suite > title`, so a
    listed id (a file) is covered by the results whose group is that file;
    a file that fails outside its tests (does not load, exits) or has no
    tests gets a result with the file's own id (ERROR, CRASHED when its own
    process died, or PASSED when empty). group(id) is the file. Reports come
    from reporters we write into the scratch directory
    (tsr_fw_npm_scripts.c), one JSON line per test started and finished,
    appended as it happens, so a runner that dies leaves what was done and
    the test it died in. jest, mocha and vitest run under small launchers
    that read their arguments from a file, so the runner's arguments never
    reach the suite's process.argv (FRAMEWORKS.md: jest in band leaks them).

    Crashes and hangs: when the runner dies (killed by the agent's per-test
    timeout, killed by a signal, exits in a test) or a test file's own
    process dies, the test that was running is reported TIMED_OUT or
    CRASHED under its own id, and - jest, mocha, vitest - the rest of its
    file runs again at once without the tests already reported (by full
    name: jest and vitest --testNamePattern, mocha by taking them out of the
    loaded suites), as often as needed. Files of the shard that never
    started get no result: the coordinator runs them in a new shard.
    node 20 can neither exclude tests by name nor keep the events of a
    test file whose process died: there, a crash is reported for the whole
    file (CRASHED under the file's id, its tests unreported, as node itself
    reports it), and the tests after a hung one in its file do not run.  */
#ifndef TSR_FW_NPM_H
#define TSR_FW_NPM_H

#include "tsr_framework.h"

extern const tsr_framework_t tsr_fw_npm_entry;

//  The helper scripts (tsr_fw_npm_scripts.c)
extern const char tsr_fw_npm_node_reporter[];
extern const char tsr_fw_npm_jest_launcher[];
extern const char tsr_fw_npm_jest_reporter[];
extern const char tsr_fw_npm_mocha_launcher[];
extern const char tsr_fw_npm_mocha_reporter[];
extern const char tsr_fw_npm_vitest_launcher[];
extern const char tsr_fw_npm_vitest_reporter[];
extern const char tsr_fw_npm_vitest_setup[];

typedef enum {
    TSR_FW_NPM_JEST,
    TSR_FW_NPM_MOCHA,
    TSR_FW_NPM_NODE, //  node --test
    TSR_FW_NPM_VITEST,
} tsr_fw_npm_runner_t;

//  The test runner a command resolves to.
typedef struct {
    tsr_fw_npm_runner_t runner;
    zlistx_t *args; //  owned strings: the runner's arguments (node: all after `node`)
    zlistx_t *env;  //  owned strings: "K=V" assignments in front of the script
    char *node;     //  owned: the node to run (argv[0] of `node --test`, else "node")
} tsr_fw_npm_cmd_t;

//  Resolve the user's command. `package_json` (the text of the workdir's
//  package.json, may be NULL) is read for `npm test` / `npm run test`.
//  Returns TSR_OK, TSR_EPARSE (package.json is not JSON), or TSR_ECONFIG
//  (no runner found).
TSR_NODISCARD int tsr_fw_npm_cmd_parse(const char *const *argv, const char *package_json,
                                       tsr_fw_npm_cmd_t **cmd_out);
void tsr_fw_npm_cmd_destroy(tsr_fw_npm_cmd_t **self_p);

//  The test files `node --test ARGS` runs from `workdir` (node 20's rules:
//  the path arguments, or the workdir; in directories, files named
//  test.js/test-*.js/*.test.js/*-test.js/*_test.js (also .cjs, .mjs) and
//  every .js/.cjs/.mjs under a `test` directory; node_modules skipped).
//  Appends paths relative to `workdir` to `files`, sorted. Returns TSR_OK
//  or -errno (-ENOENT: a path argument does not exist).
TSR_NODISCARD int tsr_fw_npm_node_test_files(const char *workdir, zlistx_t *args, zlistx_t *files);

//  Whether a node option takes the next argument as its value (--require X).
bool tsr_fw_npm_node_option_takes_value(const char *arg);

//  Read a JSON array of file paths (jest --listTests --json) into `files`,
//  relative to `workdir`, each once. Returns TSR_OK, TSR_EPARSE, or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_file_list(const char *json_path, const char *workdir,
                                             zlistx_t *files);

//  Read `vitest list --filesOnly --json` output (an array of {"file": PATH})
//  into `files`, relative to `workdir`, once each, in order. Returns
//  TSR_OK, TSR_EPARSE, or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_vitest_list(const char *json_path, const char *workdir,
                                               zlistx_t *files);

//  The files named by our reporters' lines (a mocha dry run), relative to
//  `workdir`, once each, in order. Returns TSR_OK, TSR_EPARSE, or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_event_files(const char *jsonl_path, const char *workdir,
                                               zlistx_t *files);

//  Read our reporters' lines into `results` as tsr_fw_npm_report_account
//  does for a runner that ended normally, without marking anything.
//  Returns TSR_OK (a torn last line is skipped), TSR_EPARSE (a line not in
//  our format), or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_events(const char *jsonl_path, const char *workdir,
                                          tsr_results_t *results);

//  What one runner process reported through our reporters' lines
//  (tsr_fw_npm_scripts.c), per test file. Pure: no processes.
typedef struct _tsr_fw_npm_report_t tsr_fw_npm_report_t;

//  How the runner process ended, for tsr_fw_npm_report_account.
typedef struct {
    bool timed_out;  //  killed by the agent's per-test timeout (no output)
    int exit_code;   //  its exit code; -1 when killed by a signal
    int term_signal; //  then the signal, if known; else 0
} tsr_fw_npm_end_t;

//  Read a report, files relative to `workdir`. Returns TSR_OK (a torn last
//  line is skipped), TSR_EPARSE (a line not in our format), or -errno
//  (-ENOENT: the runner wrote nothing).
TSR_NODISCARD int tsr_fw_npm_report_read(const char *jsonl_path, const char *workdir,
                                         tsr_fw_npm_report_t **report_out);
void tsr_fw_npm_report_destroy(tsr_fw_npm_report_t **self_p);

//  The runner wrote its "end" line (it finished, whatever its tests did).
bool tsr_fw_npm_report_ended(const tsr_fw_npm_report_t *self);

//  Turn the report into `results`: every test (passed -> PASSED, failed ->
//  FAILED, skipped and todo -> SKIPPED; suites left out), except tests
//  whose full name is in `skip` (zhashx used as a set, may be NULL: the
//  tests a resumed run excluded) and files not in `only` (zhashx set of
//  relative paths, may be NULL). A file that failed with no failed test:
//  ERROR under the file's id; a file with no test: PASSED under it.
//  With `end` (NULL: nothing is marked), also what died: a file that had
//  not finished when the runner died (timed out, killed, or no "end"
//  line), a file that started and never finished whatever the runner
//  says, a file whose own process died (its line says "crashed"). The
//  test running there (its last started test without a result) gets
//  TIMED_OUT (the runner timed out) or CRASHED, and the file is appended
//  to `resume` (zlistx of owned strings, may be NULL): the rest of it can
//  run again. Without such a test the file's own id gets that outcome
//  (it died outside its tests). Files with nothing reported are left alone.
void tsr_fw_npm_report_account(tsr_fw_npm_report_t *self, const tsr_fw_npm_end_t *end,
                               zhashx_t *skip, zhashx_t *only, tsr_results_t *results,
                               zlistx_t *resume);

//  The full names ("match" of the lines: what the runner's name filter
//  sees) of the tests of `file` that have a result after
//  tsr_fw_npm_report_account, the marked one included, appended to `names`
//  (owned strings). Tests without a full name are left out.
void tsr_fw_npm_report_done(tsr_fw_npm_report_t *self, const char *file, zlistx_t *names);

//  The file of a test id (before the first "::"). A new string.
char *tsr_fw_npm_group(const char *test_id);

#endif
