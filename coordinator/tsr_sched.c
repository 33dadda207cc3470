/*  tsr_sched - the queue, and leases of shards on agents' slots
    Queued shards in a sorted zlistx (run, job, shard); attempts in a zhashx
    by id. Every state change goes through a few helpers (attempt_end,
    s_requeue, tsr_sched_shard_done, tsr_sched_job_check) so events, the
    registry's slot counts and the run's dirty flag stay in step. Runs and
    jobs: tsr_sched_runs.c; test jobs: tsr_sched_tests.c.
    Loop thread of the coordinator only.                                     */
#include "tsr_sched_internal.h"
#include "tsr_framework.h"
#include "tsr_msg.h"
#include "tsr_planner.h"
#include <inttypes.h>
#include <string.h>

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
    //  A split (stolen tests) goes first in its job: the slot that stole it waits
    uint64_t keys[2][4] = {
        {first->job->run->seq, first->job->index, !first->split, first->index},
        {second->job->run->seq, second->job->index, !second->split, second->index},
    };
    for (int index = 0; index < 4; index++)
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

void
tsr_sched_lease_ref_add(zlistx_t *refs, const char *agent_key, uint64_t attempt_id)
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
    self->avoid_wait_ms = TSR_SCHED_AVOID_WAIT_MS;
    return self;
}

void
tsr_sched_set_stores(tsr_sched_t *self, tsr_history_t *history, tsr_listings_t *listings)
{
    assert(self);
    self->history = history;
    self->listings = listings;
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

void
tsr_sched_enqueue(tsr_sched_t *self, tsr_shard_t *shard)
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

void
tsr_sched_attempt_end(tsr_sched_t *self, tsr_attempt_t *attempt)
{
    tsr_registry_agent_t *agent = tsr_registry_lookup(self->registry, attempt->agent_key);
    if (agent && attempt->orphan_deadline_ms == 0)
        tsr_registry_lease(self->registry, agent, attempt->threads, -1);
    attempt->shard->attempt_id = 0;
    attempt->shard->job->run->dirty = true;
    uint64_t id = attempt->id;
    zhashx_delete(self->attempts, &id);
}

void
tsr_sched_shard_done(tsr_sched_t *self, tsr_shard_t *shard, Tessera__Outcome outcome,
                     uint64_t duration_ms, const uint8_t *tail, size_t tail_bytes, const char *text,
                     uint64_t now_ms)
{
    assert(shard->state != TSR_SHARD_DONE);
    assert(shard->attempt_id == 0);
    s_dequeue(self, shard);
    shard->state = TSR_SHARD_DONE;
    shard->outcome = outcome;
    shard->duration_ms = duration_ms;
    free(shard->text);
    shard->text = text && *text ? strdup(text) : NULL;
    if (shard->job->tests)
        tsr_sched_tests_shard_done(self, shard, outcome, text);
    tsr_run_event(shard->job->run, TESSERA__EVENT__KIND__SHARD_FINISHED, shard, outcome,
                  duration_ms, s_agent_name(shard), tail, tail_bytes, text);
    tsr_sched_job_check(self, shard->job, now_ms);
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
        tsr_sched_shard_done(self, shard, TESSERA__OUTCOME__ERROR, 0, NULL, 0, text, now_ms);
        return;
    }
    tsr_sched_enqueue(self, shard);
    tsr_run_event(shard->job->run, TESSERA__EVENT__KIND__SHARD_REQUEUED, shard,
                  TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, s_agent_name(shard), NULL, 0, reason);
}

//  ---------------------------------------------------------------- leases

static void
s_set(char **field, const char *value)
{
    free(*field);
    *field = value ? strdup(value) : NULL;
}

//  Could an agent other than `agent` ever take the shard (labels, size)?
static bool
s_other_agent_fits(tsr_sched_t *self, const tsr_shard_t *shard, const tsr_registry_agent_t *agent)
{
    const Tessera__JobSpec *spec = shard->job->spec;
    uint32_t threads = tsr_planner_threads(shard);
    for (tsr_registry_agent_t *other = tsr_registry_first(self->registry); other;
         other = tsr_registry_next(self->registry))
        if (other != agent && !tsr_registry_agent_is_draining(other) && other->slots >= threads &&
            tsr_registry_agent_has_labels(other, spec->labels, spec->n_labels))
            return true;
    return false;
}

//  The shard prefers another agent than this one, and may still wait for it
static bool
s_avoids(tsr_sched_t *self, const tsr_shard_t *shard, const tsr_registry_agent_t *agent,
         uint64_t now_ms)
{
    if (!shard->avoid_agent || strcmp(shard->avoid_agent, agent->key) != 0 ||
        now_ms >= shard->avoid_until_ms)
        return false;
    return s_other_agent_fits(self, shard, agent);
}

//  --repeat copies of one planned shard spread over agents: the queued
//  copies prefer another agent than the one this copy went to
static void
s_spread_siblings(tsr_sched_t *self, const tsr_shard_t *shard, const char *agent_key,
                  uint64_t now_ms)
{
    tsr_job_t *job = shard->job;
    for (uint32_t index = 0; index < job->shard_count; index++) {
        tsr_shard_t *other = job->shards[index];
        if (other == shard || other->sibling != shard->sibling ||
            other->state != TSR_SHARD_QUEUED || other->avoid_agent)
            continue;
        other->avoid_agent = strdup(agent_key);
        other->avoid_until_ms = now_ms + self->avoid_wait_ms;
    }
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
        uint32_t threads = tsr_planner_threads(shard);
        if (threads > free_slots ||
            !tsr_registry_agent_has_labels(agent, job->spec->labels, job->spec->n_labels) ||
            s_avoids(self, shard, agent, now_ms))
            continue;
        s_dequeue(self, shard); //  keeps the iteration going (zlistx repositions its cursor)
        tsr_attempt_t *attempt = (tsr_attempt_t *)zmalloc(sizeof(tsr_attempt_t));
        attempt->id = self->next_attempt++;
        attempt->shard = shard;
        attempt->agent_key = strdup(agent->key);
        attempt->threads = threads;
        attempt->started_ms = now_ms;
        zhashx_insert(self->attempts, &attempt->id, attempt);
        tsr_registry_lease(self->registry, agent, attempt->threads, 1);
        free_slots -= attempt->threads;

        shard->state = TSR_SHARD_RUNNING;
        shard->attempt_id = attempt->id;
        shard->attempts++;
        s_set(&shard->agent_key, agent->key);
        s_set(&shard->agent_name, agent->name);
        if (shard->sibling)
            s_spread_siblings(self, shard, agent->key, now_ms);
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
    tsr_sched_attempt_end(self, attempt);
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

    if (shard->job->tests) {
        //  A listing that hung or crashed found nothing to trust: like an infrastructure failure
        if (shard->kind == TESSERA__ASSIGN__KIND__LIST &&
            (outcome == TESSERA__OUTCOME__TIMED_OUT || outcome == TESSERA__OUTCOME__CRASHED)) {
            char reason[600];
            snprintf(reason, sizeof reason, "listing on %s %s", s_agent_name(shard), text);
            s_requeue(self, shard, true, reason, now_ms);
        } else
            tsr_sched_tests_result(self, shard, result, now_ms);
        return TSR_OK;
    }

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
    tsr_sched_shard_done(self, shard, outcome, result->duration_ms, result->output_tail.data,
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
        tsr_sched_attempt_end(self, attempt);
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
        tsr_sched_attempt_end(self, attempt);
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
        tsr_sched_attempt_end(self, attempt);
        s_requeue(self, shard, true, "the agent came back without it", now_ms);
    }
    zlistx_destroy(&held);
    for (size_t index = 0; index < count; index++)
        if (!s_current(self, agent_key, in_flight[index]))
            tsr_sched_lease_ref_add(cancel_out, agent_key, in_flight[index]);
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
        tsr_sched_attempt_end(self, attempt);
        s_requeue(self, shard, true, "its agent did not come back after a coordinator restart",
                  now_ms);
    }
    zlistx_destroy(&overdue);
}

//  ---------------------------------------------------------------- work stealing

//  The job has a shard waiting in the queue
static bool
s_job_queued(tsr_sched_t *self, const tsr_job_t *job)
{
    for (uint32_t index = 0; index < job->shard_count; index++)
        if (job->shards[index]->state == TSR_SHARD_QUEUED)
            return true;
    (void)self;
    return false;
}

//  A Steal awaits its Stolen from the shard's current attempt
static bool
s_steal_pending(const tsr_shard_t *shard)
{
    return shard->steal_pending && shard->steal_attempt != 0 &&
           shard->steal_attempt == shard->attempt_id;
}

//  Steals pending in the job
static uint32_t
s_job_steals_pending(const tsr_job_t *job)
{
    uint32_t pending = 0;
    for (uint32_t index = 0; index < job->shard_count; index++)
        pending += s_steal_pending(job->shards[index]);
    return pending;
}

//  Free slots, in attempts of the job, of the agents that could run it
static uint32_t
s_job_idle_slots(tsr_sched_t *self, const tsr_job_t *job)
{
    uint32_t idle = 0;
    for (tsr_registry_agent_t *agent = tsr_registry_first(self->registry); agent;
         agent = tsr_registry_next(self->registry))
        if (!tsr_registry_agent_is_draining(agent) &&
            tsr_registry_agent_has_labels(agent, job->spec->labels, job->spec->n_labels))
            idle += tsr_registry_agent_free_slots(agent) / job->threads;
    return idle;
}

//  The attempt's shard may be split now (ignoring the per-job limits)
static bool
s_stealable(const tsr_attempt_t *attempt, uint64_t now_ms)
{
    const tsr_shard_t *shard = attempt->shard;
    const tsr_job_t *job = shard->job;
    if (!job->tests || shard->kind != TESSERA__ASSIGN__KIND__RUN ||
        shard->state != TSR_SHARD_RUNNING || attempt->orphan_deadline_ms != 0 ||
        job->run->cancelled || shard->steals >= TSR_SCHED_STEAL_MAX || shard->expect_count < 2 ||
        shard->steal_attempt == attempt->id)
        return false;
    const tsr_framework_t *framework = tsr_framework_find(job->spec->framework);
    if (!framework || !framework->steal)
        return false;
    return now_ms >= attempt->started_ms + TSR_SCHED_STEAL_AFTER_MS;
}

//  Has it run for twice the job's learnt start-up cost (when known)?
static bool
s_past_startup(tsr_sched_t *self, const tsr_attempt_t *attempt, uint64_t now_ms)
{
    const tsr_job_t *job = attempt->shard->job;
    if (!self->history || !*job->run->project)
        return true;
    tsr_history_startup_t startup;
    if (tsr_history_startup(self->history, job->run->project, job->spec->name, &startup) != TSR_OK)
        return true;
    return (double)(now_ms - attempt->started_ms) >= 2.0 * startup.startup_ms;
}

size_t
tsr_sched_steal(tsr_sched_t *self, tsr_registry_agent_t *agent, uint64_t now_ms,
                zlistx_t *steals_out)
{
    assert(self);
    assert(agent);
    assert(steals_out);
    uint32_t free_slots = tsr_registry_agent_free_slots(agent);
    if (free_slots == 0 || tsr_registry_agent_is_draining(agent))
        return 0;
    //  The best candidate per job: ran longest, then expects the most
    zlistx_t *best = zlistx_new(); //  tsr_attempt_t * (borrowed), one per job
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zhashx_first(self->attempts); attempt;
         attempt = (tsr_attempt_t *)zhashx_next(self->attempts)) {
        const tsr_job_t *job = attempt->shard->job;
        if (job->threads > free_slots ||
            !tsr_registry_agent_has_labels(agent, job->spec->labels, job->spec->n_labels) ||
            !s_stealable(attempt, now_ms))
            continue;
        void *handle = NULL;
        for (tsr_attempt_t *other = (tsr_attempt_t *)zlistx_first(best); other;
             other = (tsr_attempt_t *)zlistx_next(best))
            if (other->shard->job == job)
                handle = zlistx_cursor(best);
        if (!handle) {
            zlistx_add_end(best, attempt);
            continue;
        }
        const tsr_attempt_t *other = (const tsr_attempt_t *)zlistx_handle_item(handle);
        if (attempt->started_ms < other->started_ms ||
            (attempt->started_ms == other->started_ms &&
             attempt->shard->expect_count > other->shard->expect_count)) {
            zlistx_delete(best, handle);
            zlistx_add_end(best, attempt);
        }
    }
    //  The job checks walk the registry: after the attempt walk
    size_t sent = 0;
    for (tsr_attempt_t *attempt = (tsr_attempt_t *)zlistx_first(best); attempt;
         attempt = (tsr_attempt_t *)zlistx_next(best)) {
        tsr_shard_t *shard = attempt->shard;
        const tsr_job_t *job = shard->job;
        if (s_job_queued(self, job) || s_job_steals_pending(job) >= s_job_idle_slots(self, job) ||
            !s_past_startup(self, attempt, now_ms))
            continue;
        shard->steal_attempt = attempt->id;
        shard->steal_pending = true;
        tsr_sched_lease_ref_add(steals_out, attempt->agent_key, attempt->id);
        char shard_id[512];
        tsr_shard_id(shard, shard_id, sizeof shard_id);
        tsr_log_debug("steal from shard=%s attempt=%" PRIu64 " for agent=%s running_ms=%" PRIu64
                      " expect=%zu",
                      shard_id, attempt->id, agent->id, now_ms - attempt->started_ms,
                      shard->expect_count);
        sent++;
    }
    zlistx_destroy(&best);
    return sent;
}

int
tsr_sched_stolen(tsr_sched_t *self, const char *agent_key, const Tessera__Stolen *stolen,
                 uint64_t now_ms)
{
    assert(self);
    assert(stolen);
    tsr_attempt_t *attempt = s_current(self, agent_key, stolen->attempt_id);
    if (!attempt)
        return TSR_ENOTFOUND;
    tsr_shard_t *shard = attempt->shard;
    if (shard->steal_attempt == attempt->id)
        shard->steal_pending = false;
    if (stolen->n_ids == 0)
        return TSR_OK;
    if (!shard->job->tests || shard->kind != TESSERA__ASSIGN__KIND__RUN ||
        shard->state != TSR_SHARD_RUNNING)
        return TSR_EINVAL;
    //  Every id a unit of the shard still awaiting its result, each once
    zhashx_t *units = zhashx_new();
    zhashx_t *expect = zhashx_new();
    zhashx_t *seen = zhashx_new();
    for (size_t index = 0; index < shard->unit_count; index++)
        zhashx_insert(units, shard->units[index], shard->units[index]);
    for (size_t index = 0; index < shard->expect_count; index++)
        zhashx_insert(expect, shard->expect[index], shard->expect[index]);
    int rc = TSR_OK;
    for (size_t index = 0; index < stolen->n_ids && rc == TSR_OK; index++) {
        const char *id = stolen->ids[index];
        if (!id || !zhashx_lookup(units, id) || !zhashx_lookup(expect, id) ||
            zhashx_insert(seen, id, (void *)id) != 0)
            rc = TSR_EINVAL;
    }
    zhashx_destroy(&seen);
    zhashx_destroy(&expect);
    zhashx_destroy(&units);
    if (rc == TSR_OK)
        tsr_sched_tests_split(self, shard, stolen->ids, stolen->n_ids, now_ms);
    return rc;
}
