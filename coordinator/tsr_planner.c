/*  tsr_planner - how a job becomes shards, and what each shard runs
    Command jobs only for now (issue 4 adds frameworks). Loop thread only.  */
#include "tsr_planner.h"
#include <string.h>

//  A workdir stays inside the workspace: relative, no ".." component
static bool
s_workdir_is_safe(const char *workdir)
{
    if (!workdir || !*workdir)
        return true;
    if (workdir[0] == '/')
        return false;
    const char *component = workdir;
    while (*component) {
        size_t length = strcspn(component, "/");
        if (length == 2 && component[0] == '.' && component[1] == '.')
            return false;
        component += length;
        component += *component == '/';
    }
    return true;
}

int
tsr_planner_plan(const Tessera__JobSpec *job, uint32_t *count_out, const char **reason_out)
{
    assert(job);
    assert(count_out);
    assert(reason_out);
    *count_out = 0;
    *reason_out = "";
    if (!job->name || !*job->name) {
        *reason_out = "a job has no name";
        return TSR_EINVAL;
    }
    if (job->n_argv == 0 || !job->argv[0] || !*job->argv[0]) {
        *reason_out = "job has no command";
        return TSR_EINVAL;
    }
    if (job->threads > TSR_PLANNER_MAX_THREADS) {
        *reason_out = "threads is too large";
        return TSR_EINVAL;
    }
    if (!s_workdir_is_safe(job->workdir)) {
        *reason_out = "workdir must be a relative path inside the workspace";
        return TSR_EINVAL;
    }
    if (job->shards > TSR_PLANNER_MAX_SHARDS) {
        *reason_out = "too many shards";
        return TSR_EINVAL;
    }
    //  TODO(#4): framework jobs list their tests first and shard by timing
    *count_out = job->shards ? job->shards : 1;
    return TSR_OK;
}

void
tsr_planner_assign(const tsr_shard_t *shard, Tessera__Assign *assign)
{
    assert(shard);
    assert(assign);
    const tsr_job_t *job = shard->job;
    const Tessera__JobSpec *spec = job->spec;
    assign->job = spec->name;
    assign->shard_index = shard->index;
    assign->shard_count = job->shard_count;
    assign->n_argv = spec->n_argv;
    assign->argv = spec->argv;
    assign->n_env = spec->n_env;
    assign->env = spec->env;
    assign->workdir = spec->workdir;
    assign->timeout_ms = spec->timeout_s > UINT32_MAX / 1000 ? UINT32_MAX : spec->timeout_s * 1000;
    assign->threads = job->threads;
    assign->framework = (char *)"command"; //  TODO(#4): spec->framework once planned here
    assign->kind = TESSERA__ASSIGN__KIND__RUN;
}
