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

static int
s_find_job(const Tessera__Submit *submit, const char *name)
{
    for (size_t index = 0; index < submit->n_jobs; index++)
        if (strcmp(submit->jobs[index]->name, name) == 0)
            return (int)index;
    return -1;
}

//  Depth-first search for a cycle through `needs`; colours: 0 new, 1 open, 2 done
static bool
s_has_cycle(const Tessera__Submit *submit, size_t index, uint8_t *colour)
{
    if (colour[index] == 1)
        return true;
    if (colour[index] == 2)
        return false;
    colour[index] = 1;
    const Tessera__JobSpec *job = submit->jobs[index];
    for (size_t need = 0; need < job->n_needs; need++) {
        int target = s_find_job(submit, job->needs[need]);
        if (target >= 0 && s_has_cycle(submit, (size_t)target, colour))
            return true;
    }
    colour[index] = 2;
    return false;
}

int
tsr_planner_check(const Tessera__Submit *submit, uint32_t *shard_counts, char **error_out)
{
    assert(submit);
    assert(shard_counts);
    assert(error_out);
    if (submit->n_jobs == 0 || submit->n_jobs > TSR_PLANNER_MAX_JOBS) {
        *error_out = strdup(submit->n_jobs ? "too many jobs" : "no jobs to run");
        return TSR_EINVAL;
    }
    for (size_t index = 0; index < submit->n_jobs; index++) {
        const Tessera__JobSpec *job = submit->jobs[index];
        const char *reason = NULL;
        if (tsr_planner_plan(job, &shard_counts[index], &reason) != TSR_OK) {
            *error_out = zsys_sprintf("job '%s': %s", job->name, reason);
            return TSR_EINVAL;
        }
        if (s_find_job(submit, job->name) != (int)index) {
            *error_out = zsys_sprintf("job '%s' is defined twice", job->name);
            return TSR_EINVAL;
        }
        for (size_t need = 0; need < job->n_needs; need++) {
            int target = s_find_job(submit, job->needs[need]);
            if (target < 0 || (size_t)target == index) {
                *error_out =
                    zsys_sprintf("job '%s' needs '%s', which %s", job->name, job->needs[need],
                                 target < 0 ? "does not exist" : "is itself");
                return TSR_EINVAL;
            }
        }
    }
    uint8_t *colour = (uint8_t *)zmalloc(submit->n_jobs);
    int rc = TSR_OK;
    for (size_t index = 0; index < submit->n_jobs && rc == TSR_OK; index++)
        if (s_has_cycle(submit, index, colour)) {
            *error_out =
                zsys_sprintf("job '%s': its needs form a cycle", submit->jobs[index]->name);
            rc = TSR_EINVAL;
        }
    free(colour);
    return rc;
}
