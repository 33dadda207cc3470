/*  tsr_fw_testctx - a tsr_fw_ctx_t for the framework adapters' unit tests
    Its `run` starts the real tool with tsr_spawn (own process group, the
    extra environment over ours, a timeout) and waits, the way the agent
    does, without the agent. It also copies example workspaces into a temp
    root, so tests never write into the source tree. Test code only.      */
#ifndef TSR_FW_TESTCTX_H
#define TSR_FW_TESTCTX_H

#include "tsr_framework.h"

typedef struct {
    tsr_fw_ctx_t ctx;    //  what adapters get; ctx.handle points back here
    char *root;          //  owned temp root, removed by destroy
    char *workdir;       //  owned: root/work (ctx.workdir)
    char *scratch_dir;   //  owned: root/scratch
    char *cache_dir;     //  owned: root/cache
    char *log_path;      //  owned: root/log, stderr (and stdout by default) of the last run
    char **argv;         //  owned, NULL-terminated copy of the user's command
    uint64_t timeout_ms; //  per run; 0 = none
    size_t runs;         //  commands run so far
} tsr_fw_testctx_t;

//  A new ctx whose workdir is a copy of `example_dir` (NULL: empty workdir)
//  under a fresh temp root in $TSR_TEST_TMP or /tmp, with the user's command
//  `argv` (NULL-terminated). Aborts on failure (tests only).
tsr_fw_testctx_t *tsr_fw_testctx_new(const char *example_dir, const char *const *argv);

//  Removes the temp root unless TSR_KEEP_TMP is set. NULL-safe.
void tsr_fw_testctx_destroy(tsr_fw_testctx_t **self_p);

//  Run a shell command line in the workdir (setup steps like `npm ci`);
//  returns its exit status as system(3) does.
int tsr_fw_testctx_shell(tsr_fw_testctx_t *self, const char *command);

//  Install the workdir's npm dependencies (`npm ci`, from the npm cache when
//  it can) once per package-lock.json content into a cache under
//  $TSR_TEST_TMP that survives test runs, and link node_modules to it.
//  Returns 0, or -1 when npm cannot install (no registry, no cache).
int tsr_fw_testctx_npm_install(tsr_fw_testctx_t *self);

//  The last run's log, as a new string (for failure messages).
char *tsr_fw_testctx_log(tsr_fw_testctx_t *self);

//  Helpers the adapters' tests share (a failure fails the test, cmocka):
//  a new temp file under /tmp holding `text` (free its path with
//  tsr_fw_test_remove, which unlinks it too)...
char *tsr_fw_test_temp_file(const char *text);
void tsr_fw_test_remove(char **path_p);

//  ...the outcome reported for `id` (fails the test if there is none)...
Tessera__Outcome tsr_fw_test_outcome(tsr_results_t *results, const char *id);

//  ...and `list` (of strings) equals the NULL-terminated `expected`, in order.
void tsr_fw_test_assert_list(zlistx_t *list, const char *const *expected);

#endif
