/*  tsr_framework - one interface for every test framework (pytest, cargo, npm,
    command), one file each (tsr_fw_<name>.c), like tmux's cmd_entry table.
    An adapter knows how to list a suite's tests, how to run a subset of them
    (a shard), and how to read the results back. It never spawns processes
    itself: it asks the caller (the agent) to run commands through the
    `tsr_fw_ctx_t` callbacks, so the agent keeps control of pinning, timeouts,
    users and logs. Parsers read tool output with the proper library (cJSON,
    libxml2), never strstr/sscanf. Procedures run on an agent worker thread. */
#ifndef TSR_FRAMEWORK_H
#define TSR_FRAMEWORK_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  One test's result as parsed from a report.
typedef struct {
    char *id; //  owned; the framework's test id (see the adapter)
    Tessera__Outcome outcome;
    uint64_t duration_ms;
    char *message; //  owned; failure text, bounded (<= 4 KiB); NULL if none
} tsr_test_result_t;

//  Results of one shard: a list of tsr_test_result_t (owned).
typedef struct _tsr_results_t tsr_results_t;

tsr_results_t *tsr_results_new(void);
void tsr_results_destroy(tsr_results_t **self_p);
//  Add a result (copies id and message).
void tsr_results_add(tsr_results_t *self, const char *id, Tessera__Outcome outcome,
                     uint64_t duration_ms, const char *message);
size_t tsr_results_size(tsr_results_t *self);
//  Borrowed; index < size.
const tsr_test_result_t *tsr_results_at(tsr_results_t *self, size_t index);
//  NULL if no result has this id.
const tsr_test_result_t *tsr_results_find(tsr_results_t *self, const char *id);

//  What the agent lends an adapter to run commands in the shard's workspace.
typedef struct tsr_fw_ctx_t tsr_fw_ctx_t;
struct tsr_fw_ctx_t {
    const char *workdir;     //  the directory the user's command runs in
    const char *scratch_dir; //  a private directory for reports, id files, plugins
    const char *cache_dir;   //  persists across attempts on this agent (e.g. a cargo
                             //  target dir, pytest's rewrite cache); per project
    const char *const *argv; //  the user's command (NULL-terminated)
    //  Run `argv` (NULL-terminated) in `cwd` (NULL = workdir), stdout to
    //  `stdout_path` (NULL = the shard log), stderr to the shard log, with extra
    //  environment `env` ("K=V", NULL-terminated, may be NULL). Blocks until it
    //  exits. Returns TSR_OK with *exit_code (-1 if killed by a signal; then
    //  *term_signal is set), TSR_ETIMEOUT, TSR_ECANCELLED, or -errno.
    int (*run)(tsr_fw_ctx_t *ctx, const char *const *argv, const char *cwd, const char *stdout_path,
               const char *const *env, int *exit_code, int *term_signal);
    void *handle; //  the agent's; adapters don't touch it
    //  Work stealing (adapters with `steal` only; NULL = off): the agent asks
    //  the runner for tests back by creating <steal_dir>/request; the runner
    //  answers in <steal_dir>/ack (the ids it gave up, one a line, written
    //  atomically; empty = none) and never runs those.
    const char *steal_dir;
};

typedef struct {
    const char *name; //  "pytest", "cargo", "npm", "command"

    //  List the suite's test ids into `test_ids` (zlistx of char *, destructor
    //  set by the caller), in the framework's own order. Tests the framework
    //  cannot select one at a time form one id (cargo doctests per package).
    //  TSR_EPARSE if the tool's output cannot be read; a collection error of
    //  the suite is reported as TSR_OK with an id in `errors` (zlistx of char *).
    int (*list)(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, zlistx_t *errors);

    //  Run exactly these ids (zlistx of char *, in order) and fill `results`
    //  with one entry per test that ran (ids that ran but were not asked for
    //  are included too). Returns TSR_OK even when tests fail; *exit_code is the
    //  runner's. A crash or timeout of the runner: TSR_OK with the results
    //  parsed so far (the caller re-runs the rest).
    //  An adapter that lists groups rather than tests (npm lists files)
    //  reports the tests inside them: a listed id is then covered by the
    //  results whose group() is that id (tsr_fw_npm.h).
    //  With ctx->steal_dir (adapters with `steal`), the ids the runner gave
    //  up are removed from `test_ids` before it returns: they did not run.
    int (*run)(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, tsr_results_t *results, int *exit_code);

    //  Group key of a test id (file or module for pytest/npm, binary for
    //  cargo): shards keep groups together. Returns a new string.
    char *(*group)(const char *test_id);

    //  Its runner can give up the not-yet-started tail of a shard while it
    //  runs (ctx->steal_dir): the coordinator may split its shards.
    bool steal;

    //  Workspace paths (.gitignore patterns, NULL-terminated; NULL: none)
    //  the runner needs although projects usually ignore them (npm:
    //  node_modules/): the client uploads them anyway; the spec's ignore:
    //  still has the last word.
    const char *const *needs_ignored;
} tsr_framework_t;

//  Files of the steal protocol in ctx->steal_dir: the agent's request, the
//  runner's answer, and every id the runner gave up (kept for the adapter).
#define TSR_FW_STEAL_REQUEST "request"
#define TSR_FW_STEAL_ACK "ack"
#define TSR_FW_STEAL_GIVEN "given"

//  Read <steal_dir>/<name> (ids, one a line) into `ids` (a list of owned
//  strings, tsr_fw_strlist_new or alike). TSR_OK (an empty file: no ids),
//  -ENOENT (no such file yet), TSR_EPARSE (a last line without its newline,
//  or an empty line), TSR_ETOOBIG, or -errno. Any thread.
TSR_NODISCARD int tsr_framework_steal_read(const char *steal_dir, const char *name, zlistx_t *ids);

//  The adapter named `name`, or NULL.
const tsr_framework_t *tsr_framework_find(const char *name);

#endif
