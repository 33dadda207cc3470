/*  tsr_fw_command - the plain-command adapter: no ids, one result per run.
    Runs on an agent worker thread.                                          */
#include "tsr_fw_command.h"
#include "tsr_fw_io.h"
#include <string.h>

static int
s_list(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, zlistx_t *errors)
{
    assert(ctx);
    assert(test_ids);
    assert(errors);
    return TSR_OK;
}

static int
s_run(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, tsr_results_t *results, int *exit_code)
{
    assert(ctx);
    assert(ctx->argv && ctx->argv[0]);
    assert(results);
    assert(exit_code);
    (void)test_ids;
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_strlist_add_all(argv, ctx->argv);
    int64_t started_ms = zclock_mono();
    int rc = tsr_fw_exec(ctx, argv, NULL, NULL, NULL, exit_code);
    uint64_t duration_ms = (uint64_t)(zclock_mono() - started_ms);
    zlistx_destroy(&argv);
    if (rc == TSR_OK) {
        //  -1: killed by a signal, which is not a test failure but a crash
        Tessera__Outcome outcome = *exit_code == 0    ? TESSERA__OUTCOME__PASSED
                                   : *exit_code == -1 ? TESSERA__OUTCOME__CRASHED
                                                      : TESSERA__OUTCOME__FAILED;
        tsr_results_add(results, "", outcome, duration_ms, NULL);
    } else if (rc == TSR_ETIMEOUT) {
        //  Killed at its timeout: nothing finished; the caller knows it timed out
        *exit_code = -1;
        rc = TSR_OK;
    }
    return rc;
}

static char *
s_group(const char *test_id)
{
    assert(test_id);
    char *group = strdup(test_id);
    assert(group);
    return group;
}

const tsr_framework_t tsr_fw_command_entry = {
    .name = "command",
    .list = s_list,
    .run = s_run,
    .group = s_group,
};
