/*  tsr_fw_npm - the npm adapter: jest, mocha and `node --test`
    The runner comes from the command (`npx jest`, `mocha`, `node --test`) or,
    for `npm test`, from package.json's scripts.test (split like a shell
    word list, without running anything), else from its devDependencies.

    Listing gives test FILES (paths relative to the workdir): jest lists them
    (`--listTests --json`), mocha through a dry run (`--dry-run`, mocha >= 9),
    `node --test` by node 20's own file rules (test/ directories, names like
    *.test.js, test-*.mjs), applied here. A shard runs a subset of files in
    one process: jest `--runTestsByPath FILES`, mocha with the spec replaced
    by FILES, `node --test FILES`.

    Results are per TEST: id `FILE::Suite > inner suite > title`, so a
    listed id (a file) is covered by the results whose group is that file;
    a file that fails outside its tests (does not load, exits, crashes) or
    has no tests gets a result with the file's own id (ERROR, or PASSED when
    empty). group(id) is the file. Reports come from reporters we write into
    the scratch directory (tsr_fw_npm_scripts.c), one JSON line per finished
    test, appended as they finish, so a runner that dies leaves what was
    done. jest and mocha run in-process under small launchers that read
    their arguments from a file, so the runner's arguments never reach the
    suite's process.argv (FRAMEWORKS.md: jest in band leaks them).
    vitest is detected but not supported yet (TSR_ECONFIG).                  */
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

typedef enum {
    TSR_FW_NPM_JEST,
    TSR_FW_NPM_MOCHA,
    TSR_FW_NPM_NODE,   //  node --test
    TSR_FW_NPM_VITEST, //  detected only
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
//  relative to `workdir`. Returns TSR_OK, TSR_EPARSE, or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_file_list(const char *json_path, const char *workdir,
                                             zlistx_t *files);

//  The files named by our reporters' lines (a mocha dry run), relative to
//  `workdir`, once each, in order. Returns TSR_OK, TSR_EPARSE, or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_event_files(const char *jsonl_path, const char *workdir,
                                               zlistx_t *files);

//  Read our reporters' lines into `results` (see above for ids): passed ->
//  PASSED, failed -> FAILED, skipped and todo -> SKIPPED; suites are left
//  out; a file that failed with no failed test -> ERROR under the file's id,
//  a file with no test -> PASSED under it. Returns TSR_OK (a torn last line
//  is skipped), TSR_EPARSE (a line not in our format), or -errno.
TSR_NODISCARD int tsr_fw_npm_parse_events(const char *jsonl_path, const char *workdir,
                                          tsr_results_t *results);

//  The file of a test id (before the first "::"). A new string.
char *tsr_fw_npm_group(const char *test_id);

#endif
