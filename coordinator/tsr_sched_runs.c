/*  tsr_sched_runs - runs and jobs in the scheduler
    Submit and restore, the `needs` gate between jobs, the end of jobs and
    runs, cancel, and what the store must save or forget. Loop thread of
    the coordinator only.                                                    */
#include "tsr_sched_internal.h"
#include "tsr_msg.h"
#include "tsr_planner.h"
#include <inttypes.h>
#include <string.h>

static bool
s_job_needs(const tsr_job_t *job, const char *name)
{
    for (size_t index = 0; index < job->spec->n_needs; index++)
        if (strcmp(job->spec->needs[index], name) == 0)
            return true;
    return false;
}

//  Every need of `job` finished and passed
static bool
s_needs_passed(const tsr_job_t *job)
{
    for (size_t index = 0; index < job->spec->n_needs; index++) {
        const tsr_job_t *need = tsr_run_job(job->run, job->spec->needs[index]);
        if (!need || !need->finished || need->outcome != TESSERA__OUTCOME__PASSED)
            return false;
    }
    return true;
}

void
tsr_sched_job_queue(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms)
{
    if (job->tests) {
        tsr_sched_tests_queue(self, job, now_ms);
        return;
    }
    for (uint32_t index = 0; index < job->shard_count; index++)
        if (job->shards[index]->state == TSR_SHARD_WAITING)
            tsr_sched_enqueue(self, job->shards[index]);
}

//  End every shard of the job that has not run: SKIPPED (a need did not pass)
//  or CANCELLED (the run was cancelled)
static void
s_job_skip(tsr_sched_t *self, tsr_job_t *job, const char *text, uint64_t now_ms)
{
    Tessera__Outcome outcome =
        job->run->cancelled ? TESSERA__OUTCOME__CANCELLED : TESSERA__OUTCOME__SKIPPED;
    if (job->tests && job->run->cancelled)
        tsr_testrun_cancel(job->tests);
    for (uint32_t index = 0; index < job->shard_count && !job->finished; index++) {
        tsr_shard_t *shard = job->shards[index];
        if (shard->state == TSR_SHARD_WAITING || shard->state == TSR_SHARD_QUEUED)
            tsr_sched_shard_done(self, shard, outcome, 0, NULL, 0, text, now_ms);
    }
}

static void
s_run_check(tsr_run_t *run, uint64_t now_ms)
{
    if (run->finished)
        return;
    for (uint32_t index = 0; index < run->job_count; index++)
        if (!tsr_job_is_done(run->jobs[index]))
            return;
    run->finished = true;
    run->finished_ms = now_ms;
    const char *status = tsr_run_status(run);
    Tessera__Outcome outcome = strcmp(status, "passed") == 0      ? TESSERA__OUTCOME__PASSED
                               : strcmp(status, "failed") == 0    ? TESSERA__OUTCOME__FAILED
                               : strcmp(status, "cancelled") == 0 ? TESSERA__OUTCOME__CANCELLED
                                                                  : TESSERA__OUTCOME__ERROR;
    uint64_t wall_ms = now_ms > run->created_ms ? now_ms - run->created_ms : 0;
    tsr_run_event(run, TESSERA__EVENT__KIND__RUN_FINISHED, NULL, outcome, wall_ms, NULL, NULL, 0,
                  status);
    tsr_log_info("run finished run=%s status=%s wall_ms=%" PRIu64, run->id, status, wall_ms);
}

void
tsr_sched_job_check(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms)
{
    if (job->finished || !tsr_job_is_done(job))
        return;
    job->finished = true;
    job->outcome = tsr_job_outcome(job);
    if (job->tests)
        tsr_sched_tests_finish(self, job, now_ms);
    tsr_run_t *run = job->run;
    tsr_run_job_event(run, TESSERA__EVENT__KIND__JOB_FINISHED, job, job->outcome, NULL);
    for (uint32_t index = 0; index < run->job_count; index++) {
        tsr_job_t *other = run->jobs[index];
        if (other->finished || !s_job_needs(other, job->spec->name))
            continue;
        if (job->outcome != TESSERA__OUTCOME__PASSED) {
            char text[512];
            snprintf(text, sizeof text, "needs '%s', which %s", job->spec->name,
                     run->cancelled ? "was cancelled" : "did not pass");
            s_job_skip(self, other, text, now_ms);
        } else if (s_needs_passed(other))
            tsr_sched_job_queue(self, other, now_ms);
    }
    s_run_check(run, now_ms);
}

//  ---------------------------------------------------------------- submit and restore

static void
s_run_insert(tsr_sched_t *self, tsr_run_t *run)
{
    zlistx_insert(self->runs, run, false); //  usually the newest: search from the end
    zhashx_insert(self->runs_by_id, run->id, run);
    if (*run->client_uuid)
        zhashx_update(self->runs_by_uuid, run->client_uuid, run);
}

int
tsr_sched_submit(tsr_sched_t *self, const Tessera__Submit *submit, uint64_t now_ms,
                 tsr_run_t **run_out, char **error_out)
{
    assert(self);
    assert(submit);
    assert(run_out);
    assert(error_out);
    *run_out = NULL;
    *error_out = NULL;
    tsr_run_t *known = tsr_sched_run_by_uuid(self, submit->client_uuid);
    if (known) {
        *run_out = known; //  a Lazy Pirate retry of a Submit we already took
        return TSR_OK;
    }
    tsr_digest_t workspace;
    if (tsr_msg_digest_get(submit->workspace, &workspace) != TSR_OK) {
        *error_out = strdup("the workspace digest is missing or malformed");
        return TSR_EINVAL;
    }
    uint32_t *shard_counts = (uint32_t *)zmalloc((submit->n_jobs + 1) * sizeof(uint32_t));
    int rc = tsr_planner_check(submit, shard_counts, error_out);
    if (rc != TSR_OK)
        goto out;

    uint64_t seq = self->next_run++;
    char id[32];
    snprintf(id, sizeof id, "run-%" PRIu64, seq);
    tsr_run_t *run = tsr_run_new(id, seq, submit->client_uuid, submit->project, &workspace, now_ms);
    run->no_cache = submit->no_cache;
    run->fail_on_flaky = submit->fail_on_flaky;
    run->uploaded_bytes = submit->uploaded_bytes;
    for (size_t index = 0; index < submit->n_jobs; index++)
        tsr_run_add_job(run, submit->jobs[index], shard_counts[index]);
    s_run_insert(self, run);
    for (uint32_t index = 0; index < run->job_count; index++)
        if (run->jobs[index]->spec->n_needs == 0)
            tsr_sched_job_queue(self, run->jobs[index], now_ms);
    *run_out = run;
out:
    free(shard_counts);
    return rc;
}

void
tsr_sched_adopt(tsr_sched_t *self, tsr_run_t **run_p, uint64_t now_ms, uint64_t grace_ms)
{
    assert(self);
    assert(run_p && *run_p);
    tsr_run_t *run = *run_p;
    *run_p = NULL;
    tsr_sched_set_counters(self, run->seq + 1, 0);
    s_run_insert(self, run);
    for (uint32_t job_index = 0; job_index < run->job_count; job_index++) {
        tsr_job_t *job = run->jobs[job_index];
        if (job->tests)
            tsr_sched_tests_restore(self, job);
        for (uint32_t index = 0; index < job->shard_count; index++) {
            tsr_shard_t *shard = job->shards[index];
            if (shard->state == TSR_SHARD_QUEUED) {
                shard->state = TSR_SHARD_WAITING;
                tsr_sched_enqueue(self, shard);
            } else if (shard->state == TSR_SHARD_RUNNING) {
                if (!shard->attempt_id || !shard->agent_key ||
                    tsr_sched_attempt(self, shard->attempt_id)) {
                    //  Not a lease we can wait for: run it again
                    shard->attempt_id = 0;
                    tsr_sched_enqueue(self, shard);
                    continue;
                }
                tsr_attempt_t *attempt = (tsr_attempt_t *)zmalloc(sizeof(tsr_attempt_t));
                attempt->id = shard->attempt_id;
                attempt->shard = shard;
                attempt->agent_key = strdup(shard->agent_key);
                attempt->threads = tsr_planner_threads(shard);
                attempt->started_ms = now_ms;
                attempt->orphan_deadline_ms = now_ms + grace_ms;
                zhashx_insert(self->attempts, &attempt->id, attempt);
                tsr_sched_set_counters(self, 0, attempt->id + 1);
            }
        }
        if (tsr_job_is_done(job)) {
            job->finished = true;
            job->outcome = tsr_job_outcome(job);
        }
    }
    if (!run->finished)
        s_run_check(run, now_ms);
}

tsr_run_t *
tsr_sched_run(tsr_sched_t *self, const char *run_id)
{
    assert(self);
    return run_id ? (tsr_run_t *)zhashx_lookup(self->runs_by_id, run_id) : NULL;
}

tsr_run_t *
tsr_sched_run_by_uuid(tsr_sched_t *self, const char *client_uuid)
{
    assert(self);
    if (!client_uuid || !*client_uuid)
        return NULL;
    return (tsr_run_t *)zhashx_lookup(self->runs_by_uuid, client_uuid);
}

zlistx_t *
tsr_sched_runs(tsr_sched_t *self)
{
    assert(self);
    return self->runs;
}

size_t
tsr_sched_queued(tsr_sched_t *self)
{
    assert(self);
    return zlistx_size(self->queue);
}

//  ---------------------------------------------------------------- cancel and store

int
tsr_sched_cancel(tsr_sched_t *self, const char *run_id, uint64_t now_ms, zlistx_t *cancel_out)
{
    assert(self);
    assert(cancel_out);
    tsr_run_t *run = tsr_sched_run(self, run_id);
    if (!run)
        return TSR_ENOTFOUND;
    if (run->finished)
        return TSR_OK;
    run->cancelled = true;
    run->dirty = true;
    for (uint32_t job_index = 0; job_index < run->job_count; job_index++) {
        tsr_job_t *job = run->jobs[job_index];
        if (job->tests)
            tsr_testrun_cancel(job->tests);
        for (uint32_t index = 0; index < job->shard_count; index++) {
            tsr_shard_t *shard = job->shards[index];
            if (shard->state == TSR_SHARD_DONE)
                continue; //  also those ended by a cascade from an earlier shard
            tsr_attempt_t *attempt =
                shard->attempt_id ? tsr_sched_attempt(self, shard->attempt_id) : NULL;
            if (attempt) {
                tsr_sched_lease_ref_add(cancel_out, attempt->agent_key, attempt->id);
                tsr_sched_attempt_end(self, attempt);
            }
            tsr_sched_shard_done(self, shard, TESSERA__OUTCOME__CANCELLED, 0, NULL, 0, "cancelled",
                                 now_ms);
        }
    }
    return TSR_OK;
}

void
tsr_sched_take_dirty(tsr_sched_t *self, zlistx_t *runs_out)
{
    assert(self);
    assert(runs_out);
    for (tsr_run_t *run = (tsr_run_t *)zlistx_first(self->runs); run;
         run = (tsr_run_t *)zlistx_next(self->runs))
        if (run->dirty) {
            run->dirty = false;
            zlistx_add_end(runs_out, run);
        }
}

void
tsr_sched_prune(tsr_sched_t *self, zlistx_t *pruned_out)
{
    assert(self);
    assert(pruned_out);
    zlistx_t *old_runs = zlistx_new(); //  borrowed; collected first, deleted after the walk
    size_t finished = 0;
    for (tsr_run_t *run = (tsr_run_t *)zlistx_last(self->runs); run;
         run = (tsr_run_t *)zlistx_prev(self->runs)) {
        if (!run->finished)
            continue;
        finished++;
        if (finished > TSR_SCHED_KEEP_EVENTS)
            tsr_run_forget_events(run);
        if (finished > TSR_SCHED_KEEP_RUNS)
            zlistx_add_end(old_runs, run);
    }
    for (tsr_run_t *run = (tsr_run_t *)zlistx_first(old_runs); run;
         run = (tsr_run_t *)zlistx_next(old_runs)) {
        //  A finished run holds no attempts and no queued shards
        zlistx_add_end(pruned_out, strdup(run->id));
        zhashx_delete(self->runs_by_id, run->id);
        if (*run->client_uuid && zhashx_lookup(self->runs_by_uuid, run->client_uuid) == run)
            zhashx_delete(self->runs_by_uuid, run->client_uuid);
        void *handle = zlistx_find(self->runs, run);
        assert(handle);
        zlistx_delete(self->runs, handle); //  destroys the run
    }
    zlistx_destroy(&old_runs);
}
