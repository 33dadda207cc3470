/*  tsr_planner - how a job becomes shards, and what each shard runs
    Checks submitted jobs, fills Assigns, and plans test jobs with
    tsr_testplan over tsr_history. Loop thread of the coordinator only.    */
#include "tsr_planner.h"
#include "tsr_framework.h"
#include "tsr_testplan.h"
#include <math.h>
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
    if (job->framework && *job->framework && !tsr_framework_find(job->framework)) {
        *reason_out = "unknown framework (pytest, cargo, npm or command)";
        return TSR_EINVAL;
    }
    if (job->repeat > TSR_PLANNER_MAX_REPEAT) {
        *reason_out = "repeat is too large";
        return TSR_EINVAL;
    }
    //  A test job lists its tests first; its RUN shards come from tsr_planner_tests
    *count_out = tsr_run_spec_is_tests(job) ? 1 : job->shards ? job->shards : 1;
    return TSR_OK;
}

uint32_t
tsr_planner_threads(const tsr_shard_t *shard)
{
    assert(shard);
    return shard->kind == TESSERA__ASSIGN__KIND__LIST ? 1 : shard->job->threads;
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
    assign->threads = tsr_planner_threads(shard);
    assign->project = job->run->project;
    if (!job->tests) {
        assign->framework = (char *)"command";
        assign->kind = TESSERA__ASSIGN__KIND__RUN;
        return;
    }
    assign->framework = spec->framework;
    assign->kind = shard->kind;
    if (shard->kind == TESSERA__ASSIGN__KIND__LIST)
        //  `timeout:` limits one test; listing (a cargo build, a slow collection) is
        //  not a test and may stay silent far longer
        assign->timeout_ms = 0;
    assign->n_test_ids = shard->unit_count;
    assign->test_ids = shard->units;
}

static void
s_planned_free(void **item_p)
{
    tsr_planner_shard_t *shard = (tsr_planner_shard_t *)*item_p;
    if (!shard)
        return;
    zlistx_destroy(&shard->units);
    free(shard);
    *item_p = NULL;
}

zlistx_t *
tsr_planner_shards_new(void)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_destructor(list, s_planned_free);
    return list;
}

int
tsr_planner_tests(tsr_job_t *job, tsr_history_t *history, uint32_t slots, zlistx_t *shards_out)
{
    assert(job);
    assert(job->tests);
    assert(shards_out);
    const char *project = job->run->project;
    const char *name = job->spec->name;
    //  One read snapshot for thousands of lookups
    bool batch = history && tsr_history_begin(history, false) == TSR_OK;
    tsr_testplan_t *plan = tsr_testplan_new();
    for (tsr_test_t *test = tsr_testrun_first(job->tests); test;
         test = tsr_testrun_next(job->tests)) {
        if (!test->listed)
            continue;
        tsr_history_entry_t entry;
        bool known = history && *project &&
                     tsr_history_lookup(history, project, name, test->id, &entry) == TSR_OK;
        tsr_testplan_add(plan, test->id, test->group, known, known ? entry.mean_ms : 0.0);
    }
    tsr_testplan_opts_t opts = {.shards = job->spec->shards,
                                .slots = slots ? slots : 1,
                                .startup_ms = TSR_PLANNER_DEFAULT_STARTUP_MS};
    tsr_history_startup_t startup;
    if (history && *project && tsr_history_startup(history, project, name, &startup) == TSR_OK &&
        isfinite(startup.startup_ms) && startup.startup_ms >= 0)
        opts.startup_ms = startup.startup_ms;
    if (batch)
        tsr_history_abort(history);
    int rc = tsr_testplan_build(plan, &opts);
    for (size_t index = 0; rc == TSR_OK && index < tsr_testplan_shard_count(plan); index++) {
        tsr_planner_shard_t *shard = (tsr_planner_shard_t *)zmalloc(sizeof *shard);
        shard->units = tsr_testplan_shard_ids(plan, index);
        shard->cost_ms = tsr_testplan_shard_cost_ms(plan, index);
        zlistx_add_end(shards_out, shard);
    }
    tsr_testplan_destroy(&plan);
    return rc;
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
