/*  tsr_sched - the queue, and leases of shards on agents' slots
    Runs in a list by creation order; queued shards in a sorted zlistx (run,
    job, shard); attempts in a zhashx by id. Every state change goes through
    a few helpers (s_attempt_end, s_requeue, s_shard_done, s_job_check) so
    events, the registry's slot counts and the run's dirty flag stay in step.
    Loop thread of the coordinator only.                                     */
#include "tsr_sched.h"
#include "tsr_msg.h"
#include "tsr_planner.h"
#include <inttypes.h>
#include <string.h>

struct _tsr_sched_t {
    tsr_registry_t *registry;   //  borrowed (owner: the coordinator)
    uint32_t max_infra_retries; //  requeues of one shard after infrastructure failures
    zlistx_t *runs;             //  owned; tsr_run_t *, seq ascending
    zhashx_t *runs_by_id;       //  run id -> tsr_run_t * (borrowed from runs)
    zhashx_t *runs_by_uuid;     //  client uuid -> tsr_run_t * (borrowed from runs)
    zlistx_t *queue;            //  tsr_shard_t * (borrowed), sorted by run, job, shard
    zhashx_t *attempts;         //  uint64_t id -> tsr_attempt_t * (owned)
    uint64_t next_run;          //  sequence number of the next run
    uint64_t next_attempt;      //  id of the next attempt
};

//  ---------------------------------------------------------------- containers

static size_t
s_id_hash(const void *key)
{
    uint64_t id = *(const uint64_t *)key;
    return (size_t)(id * 0x9E3779B97F4A7C15ull); //  Fibonacci hashing spreads sequential ids
}

static int
s_id_compare(const void *left, const void *right)
{
    uint64_t left_id = *(const uint64_t *)left;
    uint64_t right_id = *(const uint64_t *)right;
    return left_id < right_id ? -1 : left_id > right_id ? 1 : 0;
}

static void *
s_id_dup(const void *key)
{
    uint64_t *copy = (uint64_t *)zmalloc(sizeof(uint64_t));
    *copy = *(const uint64_t *)key;
    return copy;
}

static void
s_id_free(void **key_p)
{
    free(*key_p);
    *key_p = NULL;
}

static void
s_attempt_destroy(void **item_p)
{
    tsr_attempt_t *attempt = (tsr_attempt_t *)*item_p;
    if (!attempt)
        return;
    free(attempt->agent_key);
    free(attempt);
    *item_p = NULL;
}

static int
s_shard_compare(const void *left, const void *right)
{
    const tsr_shard_t *first = (const tsr_shard_t *)left;
    const tsr_shard_t *second = (const tsr_shard_t *)right;
    uint64_t keys[2][3] = {
        {first->job->run->seq, first->job->index, first->index},
        {second->job->run->seq, second->job->index, second->index},
    };
    for (int index = 0; index < 3; index++)
        if (keys[0][index] != keys[1][index])
            return keys[0][index] < keys[1][index] ? -1 : 1;
    return 0;
}

static int
s_run_compare(const void *left, const void *right)
{
    uint64_t first = ((const tsr_run_t *)left)->seq;
    uint64_t second = ((const tsr_run_t *)right)->seq;
    return first < second ? -1 : first > second ? 1 : 0;
}

static void
s_run_free(void **item_p)
{
    tsr_run_destroy((tsr_run_t **)item_p);
}

static void
s_lease_ref_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

zlistx_t *
tsr_lease_refs_new(void)
{
    zlistx_t *refs = zlistx_new();
    zlistx_set_destructor(refs, s_lease_ref_free);
    return refs;
}

static void
s_lease_ref_add(zlistx_t *refs, const char *agent_key, uint64_t attempt_id)
{
    tsr_lease_ref_t *ref = (tsr_lease_ref_t *)zmalloc(sizeof(tsr_lease_ref_t));
    snprintf(ref->agent_key, sizeof ref->agent_key, "%s", agent_key);
    ref->attempt_id = attempt_id;
    zlistx_add_end(refs, ref);
}

tsr_sched_t *
tsr_sched_new(tsr_registry_t *registry, uint32_t max_infra_retries)
{
    assert(registry);
    tsr_sched_t *self = (tsr_sched_t *)zmalloc(sizeof(tsr_sched_t));
    self->registry = registry;
    self->max_infra_retries = max_infra_retries;
    self->runs = zlistx_new();
    zlistx_set_destructor(self->runs, s_run_free);
    zlistx_set_comparator(self->runs, s_run_compare);
    self->runs_by_id = zhashx_new();
    self->runs_by_uuid = zhashx_new();
    self->queue = zlistx_new();
    zlistx_set_comparator(self->queue, s_shard_compare);
    self->attempts = zhashx_new();
    zhashx_set_key_hasher(self->attempts, s_id_hash);
    zhashx_set_key_comparator(self->attempts, s_id_compare);
    zhashx_set_key_duplicator(self->attempts, s_id_dup);
    zhashx_set_key_destructor(self->attempts, s_id_free);
    zhashx_set_destructor(self->attempts, s_attempt_destroy);
    self->next_run = 1;
    self->next_attempt = 1;
    return self;
}

void
tsr_sched_destroy(tsr_sched_t **self_p)
{
    assert(self_p);
    tsr_sched_t *self = *self_p;
    if (!self)
        return;
    //  Shards must leave the queue before their runs die (tsr_run asserts it)
    for (tsr_shard_t *shard = (tsr_shard_t *)zlistx_first(self->queue); shard;
         shard = (tsr_shard_t *)zlistx_next(self->queue))
        shard->queue_handle = NULL;
    zlistx_destroy(&self->queue);
    zhashx_destroy(&self->attempts);
    zhashx_destroy(&self->runs_by_id);
    zhashx_destroy(&self->runs_by_uuid);
    zlistx_destroy(&self->runs);
    free(self);
    *self_p = NULL;
}

void
tsr_sched_counters(tsr_sched_t *self, uint64_t *next_run_out, uint64_t *next_attempt_out)
{
    assert(self);
    if (next_run_out)
        *next_run_out = self->next_run;
    if (next_attempt_out)
        *next_attempt_out = self->next_attempt;
}

void
tsr_sched_set_counters(tsr_sched_t *self, uint64_t next_run, uint64_t next_attempt)
{
    assert(self);
    //  Never go back: an id handed out before must not be handed out again
    if (next_run > self->next_run)
        self->next_run = next_run;
    if (next_attempt > self->next_attempt)
        self->next_attempt = next_attempt;
}

//  ---------------------------------------------------------------- state changes

static const char *
s_agent_name(const tsr_shard_t *shard)
{
    return shard->agent_name ? shard->agent_name : "";
}

static void
s_enqueue(tsr_sched_t *self, tsr_shard_t *shard)
{
    assert(!shard->queue_handle);
    shard->state = TSR_SHARD_QUEUED;
    //  Requeued shards usually belong near the front: search from the start
    shard->queue_handle = zlistx_insert(self->queue, shard, true);
    shard->job->run->dirty = true;
}

static void
s_dequeue(tsr_sched_t *self, tsr_shard_t *shard)
{
    if (!shard->queue_handle)
        return;
    zlistx_delete(self->queue, shard->queue_handle);
    shard->queue_handle = NULL;
}

//  The lease ends: slots go back to the agent, the attempt is forgotten
static void
s_attempt_end(tsr_sched_t *self, tsr_attempt_t *attempt)
{
    tsr_registry_agent_t *agent = tsr_registry_lookup(self->registry, attempt->agent_key);
    if (agent && attempt->orphan_deadline_ms == 0)
        tsr_registry_lease(self->registry, agent, attempt->threads, -1);
    attempt->shard->attempt_id = 0;
    attempt->shard->job->run->dirty = true;
    uint64_t id = attempt->id;
    zhashx_delete(self->attempts, &id);
}

static void s_job_check(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms);

static void
s_shard_done(tsr_sched_t *self, tsr_shard_t *shard, Tessera__Outcome outcome, uint64_t duration_ms,
             const uint8_t *tail, size_t tail_bytes, const char *text, uint64_t now_ms)
{
    assert(shard->state != TSR_SHARD_DONE);
    assert(shard->attempt_id == 0);
    s_dequeue(self, shard);
    shard->state = TSR_SHARD_DONE;
    shard->outcome = outcome;
    shard->duration_ms = duration_ms;
    free(shard->text);
    shard->text = text && *text ? strdup(text) : NULL;
    tsr_run_event(shard->job->run, TESSERA__EVENT__KIND__SHARD_FINISHED, shard, outcome,
                  duration_ms, s_agent_name(shard), tail, tail_bytes, text);
    s_job_check(self, shard->job, now_ms);
}

//  Queue the shard again as a new attempt. Infrastructure failures count
//  against max_infra_retries; past it the shard ends as ERROR.
static void
s_requeue(tsr_sched_t *self, tsr_shard_t *shard, bool counted, const char *reason, uint64_t now_ms)
{
    assert(shard->attempt_id == 0);
    char text[512];
    if (counted && ++shard->infra_failures > self->max_infra_retries) {
        snprintf(text, sizeof text, "gave up after %u infrastructure failures: %s",
                 shard->infra_failures, reason);
        s_shard_done(self, shard, TESSERA__OUTCOME__ERROR, 0, NULL, 0, text, now_ms);
        return;
    }
    s_enqueue(self, shard);
    tsr_run_event(shard->job->run, TESSERA__EVENT__KIND__SHARD_REQUEUED, shard,
                  TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, s_agent_name(shard), NULL, 0, reason);
}

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

static void
s_job_queue(tsr_sched_t *self, tsr_job_t *job)
{
    for (uint32_t index = 0; index < job->shard_count; index++)
        if (job->shards[index].state == TSR_SHARD_WAITING)
            s_enqueue(self, &job->shards[index]);
}

//  End every shard of the job that has not run: SKIPPED (a need did not pass)
//  or CANCELLED (the run was cancelled)
static void
s_job_skip(tsr_sched_t *self, tsr_job_t *job, const char *text, uint64_t now_ms)
{
    Tessera__Outcome outcome =
        job->run->cancelled ? TESSERA__OUTCOME__CANCELLED : TESSERA__OUTCOME__SKIPPED;
    for (uint32_t index = 0; index < job->shard_count && !job->finished; index++) {
        tsr_shard_t *shard = &job->shards[index];
        if (shard->state == TSR_SHARD_WAITING || shard->state == TSR_SHARD_QUEUED)
            s_shard_done(self, shard, outcome, 0, NULL, 0, text, now_ms);
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

//  A shard ended: if it was the job's last, the job ends, which queues or
//  skips the jobs that need it, and may end the run
static void
s_job_check(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms)
{
    if (job->finished || !tsr_job_is_done(job))
        return;
    job->finished = true;
    job->outcome = tsr_job_outcome(job);
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
            s_job_queue(self, other);
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
    run->uploaded_bytes = submit->uploaded_bytes;
    for (size_t index = 0; index < submit->n_jobs; index++)
        tsr_run_add_job(run, submit->jobs[index], shard_counts[index]);
    s_run_insert(self, run);
    for (uint32_t index = 0; index < run->job_count; index++)
        if (run->jobs[index]->spec->n_needs == 0)
            s_job_queue(self, run->jobs[index]);
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
        for (uint32_t index = 0; index < job->shard_count; index++) {
            tsr_shard_t *shard = &job->shards[index];
            if (shard->state == TSR_SHARD_QUEUED) {
                shard->state = TSR_SHARD_WAITING;
                s_enqueue(self, shard);
            } else if (shard->state == TSR_SHARD_RUNNING) {
                if (!shard->attempt_id || !shard->agent_key ||
                    tsr_sched_attempt(self, shard->attempt_id)) {
                    //  Not a lease we can wait for: run it again
                    shard->attempt_id = 0;
                    s_enqueue(self, shard);
                    continue;
                }
                tsr_attempt_t *attempt = (tsr_attempt_t *)zmalloc(sizeof(tsr_attempt_t));
                attempt->id = shard->attempt_id;
                attempt->shard = shard;
                attempt->agent_key = strdup(shard->agent_key);
                attempt->threads = job->threads;
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

//  ---------------------------------------------------------------- leases

static void
s_set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

size_t
tsr_sched_fill(tsr_sched_t *self, tsr_registry_agent_t *agent, uint64_t now_ms,
               zlistx_t *attempts_out)
{
    assert(self);
    assert(agent);
    assert(attempts_out);
    uint32_t free_slots = tsr_registry_agent_free_slots(agent);
    size_t started = 0;
    for (tsr_shard_t *shard = (tsr_shard_t *)zlistx_first(self->queue); shard && free_slots;
         shard = (tsr_shard_t *)zlistx_next(self->queue)) {
        tsr_job_t *job = shard->job;
        if (job->threads > free_slots ||
            !tsr_registry_agent_has_labels(agent, job->spec->labels, job->spec->n_labels))
            continue;
        s_dequeue(self, shard); //  keeps the iteration going (zlistx repositions its cursor)
        tsr_attempt_t *attempt = (tsr_attempt_t *)zmalloc(sizeof(tsr_attempt_t));
        attempt->id = self->next_attempt++;
        attempt->shard = shard;
        attempt->agent_key = strdup(agent->key);
        attempt->threads = job->threads;
        attempt->started_ms = now_ms;
        zhashx_insert(self->attempts, &attempt->id, attempt);
        tsr_registry_lease(self->registry, agent, attempt->threads, 1);
        free_slots -= attempt->threads;

        shard->state = TSR_SHARD_RUNNING;
        shard->attempt_id = attempt->id;
        shard->attempts++;
        s_set(&shard->agent_key, agent->key);
        s_set(&shard->agent_name, agent->name);
        char text[64];
        snprintf(text, sizeof text, "attempt %" PRIu64, attempt->id);
        tsr_run_event(job->run, TESSERA__EVENT__KIND__SHARD_STARTED, shard,
                      TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, agent->name, NULL, 0, text);
        zlistx_add_end(attempts_out, attempt);
        started++;
    }
    return started;
}

tsr_attempt_t *
tsr_sched_attempt(tsr_sched_t *self, uint64_t attempt_id)
{
    assert(self);
    return (tsr_attempt_t *)zhashx_lookup(self->attempts, &attempt_id);
}

//  The attempt if it is current on that agent, else NULL
static tsr_attempt_t *
s_current(tsr_sched_t *self, const char *agent_key, uint64_t attempt_id)
{
    tsr_attempt_t *attempt = tsr_sched_attempt(self, attempt_id);
    if (!attempt || !agent_key || strcmp(attempt->agent_key, agent_key) != 0)
        return NULL;
    return attempt;
}

int
tsr_sched_progress(tsr_sched_t *self, const char *agent_key, const Tessera__Progress *progress,
                   uint64_t now_ms)
{
    assert(self);
    assert(progress);
    (void)now_ms;
    return s_current(self, agent_key, progress->attempt_id) ? TSR_OK : TSR_ENOTFOUND;
}

Tessera__Outcome
tsr_sched_outcome(const Tessera__Result *result)
{
    assert(result);
    if (result->error && *result->error)
        return TESSERA__OUTCOME__ERROR;
    if (result->timed_out)
        return TESSERA__OUTCOME__TIMED_OUT;
    if (result->term_signal)
        return TESSERA__OUTCOME__CRASHED;
    return result->exit_code == 0 ? TESSERA__OUTCOME__PASSED : TESSERA__OUTCOME__FAILED;
}

int
tsr_sched_result(tsr_sched_t *self, const char *agent_key, const Tessera__Result *result,
                 uint64_t now_ms)
{
    assert(self);
    assert(result);
    tsr_attempt_t *attempt = s_current(self, agent_key, result->attempt_id);
    if (!attempt)
        return TSR_ENOTFOUND;
    tsr_shard_t *shard = attempt->shard;
    s_attempt_end(self, attempt);
    attempt = NULL;

    char text[512];
    Tessera__Outcome outcome = tsr_sched_outcome(result);
    if (outcome == TESSERA__OUTCOME__ERROR) {
        snprintf(text, sizeof text, "infrastructure failure on %s: %.400s", s_agent_name(shard),
                 result->error);
        s_requeue(self, shard, true, text, now_ms);
        return TSR_OK;
    }
    if (outcome == TESSERA__OUTCOME__TIMED_OUT)
        snprintf(text, sizeof text, "timed out after %" PRIu64 " ms", result->duration_ms);
    else if (outcome == TESSERA__OUTCOME__CRASHED)
        snprintf(text, sizeof text, "killed by signal %d", result->term_signal);
    else if (outcome == TESSERA__OUTCOME__FAILED)
        snprintf(text, sizeof text, "exit code %d", result->exit_code);
    else
        text[0] = '\0';

    const Tessera__JobSpec *spec = shard->job->spec;
    if (outcome != TESSERA__OUTCOME__PASSED && shard->command_failures < spec->retries) {
        shard->command_failures++;
        char reason[600];
        snprintf(reason, sizeof reason, "retry %u of %u: %s", shard->command_failures,
                 spec->retries, text);
        s_requeue(self, shard, false, reason, now_ms);
        return TSR_OK;
    }
    shard->flaky = outcome == TESSERA__OUTCOME__PASSED && shard->command_failures > 0;
    s_shard_done(self, shard, outcome, result->duration_ms, result->output_tail.data,
                 result->output_tail.len, text, now_ms);
    return TSR_OK;
}

//  Attempts held by this agent (borrowed), collected first: ending one
//  changes the table being walked
static zlistx_t *
s_attempts_of(tsr_sched_t *self, const char *agent_key)
{
    zlistx_t *held = zlistx_new();
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zhashx_first(self->attempts); attempt;
         attempt = (tsr_attempt_t *)zhashx_next(self->attempts))
        if (strcmp(attempt->agent_key, agent_key) == 0)
            zlistx_add_end(held, attempt);
    return held;
}

size_t
tsr_sched_agent_lost(tsr_sched_t *self, const char *agent_key, const char *reason, uint64_t now_ms)
{
    assert(self);
    assert(agent_key);
    zlistx_t *held = s_attempts_of(self, agent_key);
    size_t count = zlistx_size(held);
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zlistx_first(held); attempt;
         attempt = (tsr_attempt_t *)zlistx_next(held)) {
        tsr_shard_t *shard = attempt->shard;
        s_attempt_end(self, attempt);
        s_requeue(self, shard, true, reason, now_ms);
    }
    zlistx_destroy(&held);
    return count;
}

void
tsr_sched_hand_back(tsr_sched_t *self, const char *agent_key, const uint64_t *attempt_ids,
                    size_t count, uint64_t now_ms)
{
    assert(self);
    assert(attempt_ids || count == 0);
    for (size_t index = 0; index < count; index++) {
        tsr_attempt_t *attempt = s_current(self, agent_key, attempt_ids[index]);
        if (!attempt)
            continue;
        tsr_shard_t *shard = attempt->shard;
        s_attempt_end(self, attempt);
        char text[128];
        snprintf(text, sizeof text, "handed back by %s", s_agent_name(shard));
        s_requeue(self, shard, false, text, now_ms);
    }
}

static bool
s_listed(const uint64_t *ids, size_t count, uint64_t id)
{
    for (size_t index = 0; index < count; index++)
        if (ids[index] == id)
            return true;
    return false;
}

void
tsr_sched_hello(tsr_sched_t *self, const char *agent_key, const uint64_t *in_flight, size_t count,
                uint64_t now_ms, zlistx_t *cancel_out)
{
    assert(self);
    assert(agent_key);
    assert(in_flight || count == 0);
    assert(cancel_out);
    tsr_registry_agent_t *agent = tsr_registry_lookup(self->registry, agent_key);
    zlistx_t *held = s_attempts_of(self, agent_key);
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zlistx_first(held); attempt;
         attempt = (tsr_attempt_t *)zlistx_next(held)) {
        if (s_listed(in_flight, count, attempt->id)) {
            if (attempt->orphan_deadline_ms && agent) {
                attempt->orphan_deadline_ms = 0; //  re-attached after our restart
                tsr_registry_lease(self->registry, agent, attempt->threads, 1);
                tsr_log_info("attempt re-attached attempt=%" PRIu64 " agent=%s", attempt->id,
                             agent->id);
            }
            continue;
        }
        tsr_shard_t *shard = attempt->shard;
        s_attempt_end(self, attempt);
        s_requeue(self, shard, true, "the agent came back without it", now_ms);
    }
    zlistx_destroy(&held);
    for (size_t index = 0; index < count; index++)
        if (!s_current(self, agent_key, in_flight[index]))
            s_lease_ref_add(cancel_out, agent_key, in_flight[index]);
}

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
        for (uint32_t index = 0; index < job->shard_count; index++) {
            tsr_shard_t *shard = &job->shards[index];
            if (shard->state == TSR_SHARD_DONE)
                continue; //  also those ended by a cascade from an earlier shard
            tsr_attempt_t *attempt =
                shard->attempt_id ? tsr_sched_attempt(self, shard->attempt_id) : NULL;
            if (attempt) {
                s_lease_ref_add(cancel_out, attempt->agent_key, attempt->id);
                s_attempt_end(self, attempt);
            }
            s_shard_done(self, shard, TESSERA__OUTCOME__CANCELLED, 0, NULL, 0, "cancelled", now_ms);
        }
    }
    return TSR_OK;
}

void
tsr_sched_tick(tsr_sched_t *self, uint64_t now_ms)
{
    assert(self);
    zlistx_t *overdue = zlistx_new();
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zhashx_first(self->attempts); attempt;
         attempt = (tsr_attempt_t *)zhashx_next(self->attempts))
        if (attempt->orphan_deadline_ms && now_ms >= attempt->orphan_deadline_ms)
            zlistx_add_end(overdue, attempt);
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zlistx_first(overdue); attempt;
         attempt = (tsr_attempt_t *)zlistx_next(overdue)) {
        tsr_shard_t *shard = attempt->shard;
        tsr_log_warn("lease expired after restart attempt=%" PRIu64 " run=%s: agent did not "
                     "come back",
                     attempt->id, shard->job->run->id);
        s_attempt_end(self, attempt);
        s_requeue(self, shard, true, "its agent did not come back after a coordinator restart",
                  now_ms);
    }
    zlistx_destroy(&overdue);
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
