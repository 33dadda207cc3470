/*  tsr_progress - run state from Watch events, for the progress line       */
#include "tsr_progress.h"
#include <inttypes.h>
#include <string.h>

struct _tsr_progress_t {
    int64_t started_ms;    //  zclock_mono when following began
    zhashx_t *expected;    //  owned; job name -> (uintptr_t) shards, 0 = unknown
    zhashx_t *running;     //  owned; shard id -> (void *) 1
    zhashx_t *records;     //  owned; shard id -> tsr_progress_shard_t * (owned, every shard seen)
    zlistx_t *shards;      //  owned list of borrowed records (owner: records), in order first ended
    bool has_tests;        //  an event carried test counts
    uint32_t tests_done;   //  of the latest such event: tests with a final result
    uint32_t tests_failed; //  of them, failed
    uint32_t tests_total;  //  listed so far
};

static void
s_attempt_destroy(void **item_p)
{
    tsr_progress_attempt_t *attempt = *item_p;
    if (!attempt)
        return;
    free(attempt->agent);
    free(attempt->text);
    free(attempt);
    *item_p = NULL;
}

static void
s_shard_destroy(void **item_p)
{
    tsr_progress_shard_t *shard = *item_p;
    if (!shard)
        return;
    free(shard->id);
    free(shard->job);
    free(shard->agent);
    free(shard->tail);
    free(shard->text);
    zlistx_destroy(&shard->requeued);
    free(shard);
    *item_p = NULL;
}

tsr_progress_t *
tsr_progress_new(int64_t now_ms)
{
    tsr_progress_t *self = zmalloc(sizeof *self);
    self->started_ms = now_ms;
    self->expected = zhashx_new();
    self->running = zhashx_new();
    self->records = zhashx_new();
    zhashx_set_destructor(self->records, s_shard_destroy);
    self->shards = zlistx_new();
    return self;
}

void
tsr_progress_destroy(tsr_progress_t **self_p)
{
    assert(self_p);
    tsr_progress_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->expected);
    zhashx_destroy(&self->running);
    zlistx_destroy(&self->shards);
    zhashx_destroy(&self->records);
    free(self);
    *self_p = NULL;
}

char *
tsr_progress_shard_id(const char *job, uint32_t index, uint32_t count)
{
    assert(job);
    if (count <= 1)
        return strdup(job);
    return zsys_sprintf("%s/%u", job, (unsigned)index);
}

//  zhashx items cannot be NULL: store shards + 1.
static void
s_set_expected(tsr_progress_t *self, const char *job, uint32_t shards)
{
    zhashx_update(self->expected, job, (void *)(uintptr_t)(shards + 1));
}

void
tsr_progress_expect(tsr_progress_t *self, const char *job, uint32_t shards)
{
    assert(self);
    assert(job);
    s_set_expected(self, job, shards);
}

//  The record of shard `id`, created on first sight.
static tsr_progress_shard_t *
s_record(tsr_progress_t *self, const char *id, const char *job)
{
    tsr_progress_shard_t *shard = zhashx_lookup(self->records, id);
    if (!shard) {
        shard = zmalloc(sizeof *shard);
        shard->id = strdup(id);
        shard->job = strdup(job);
        shard->agent = strdup("");
        shard->tail = strdup("");
        shard->text = strdup("");
        shard->requeued = zlistx_new();
        zlistx_set_destructor(shard->requeued, s_attempt_destroy);
        zhashx_insert(self->records, id, shard);
    }
    return shard;
}

//  How a requeued attempt counts: the failure the event names, else lost.
static Tessera__Outcome
s_requeued_outcome(Tessera__Outcome outcome)
{
    switch (outcome) {
    case TESSERA__OUTCOME__FAILED:
    case TESSERA__OUTCOME__TIMED_OUT:
    case TESSERA__OUTCOME__CRASHED:
    case TESSERA__OUTCOME__ERROR:
        return outcome;
    default:
        return TESSERA__OUTCOME__CANCELLED;
    }
}

const tsr_progress_shard_t *
tsr_progress_apply(tsr_progress_t *self, const Tessera__Event *event, int64_t now_ms)
{
    assert(self);
    assert(event);
    const char *job = event->job ? event->job : "";
    if (event->tests_total > 0 || event->tests_done > 0) {
        self->has_tests = true;
        self->tests_done = event->tests_done;
        self->tests_failed = event->tests_failed;
        self->tests_total = event->tests_total;
    }
    if (event->kind == TESSERA__EVENT__KIND__RUN_FINISHED ||
        event->kind == TESSERA__EVENT__KIND__JOB_FINISHED)
        return NULL;
    if (event->shard_count > 0)
        s_set_expected(self, job, event->shard_count);
    const char *agent = event->agent ? event->agent : "";
    const char *text = event->text ? event->text : "";
    char *id = tsr_progress_shard_id(job, event->shard_index, event->shard_count);
    tsr_progress_shard_t *shard = s_record(self, id, job);
    shard->index = event->shard_index;
    shard->count = event->shard_count;
    tsr_progress_attempt_t *attempt = NULL;
    switch (event->kind) {
    case TESSERA__EVENT__KIND__SHARD_STARTED:
        zhashx_update(self->running, id, (void *)1);
        shard = NULL;
        break;
    case TESSERA__EVENT__KIND__SHARD_REQUEUED:
        zhashx_delete(self->running, id);
        attempt = zmalloc(sizeof *attempt);
        attempt->outcome = s_requeued_outcome(event->outcome);
        attempt->agent = strdup(agent);
        attempt->text = strdup(text);
        zlistx_add_end(shard->requeued, attempt);
        shard = NULL;
        break;
    case TESSERA__EVENT__KIND__SHARD_FINISHED:
        zhashx_delete(self->running, id);
        if (!shard->finished)
            zlistx_add_end(self->shards, shard);
        shard->finished = true;
        free(shard->agent);
        shard->agent = strdup(agent);
        free(shard->text);
        shard->text = strdup(text);
        shard->outcome = event->outcome;
        shard->duration_ms = event->duration_ms;
        shard->finished_at_ms = now_ms - self->started_ms;
        free(shard->tail);
        shard->tail_size = event->output_tail.len;
        shard->tail = zmalloc(shard->tail_size + 1);
        if (shard->tail_size)
            memcpy(shard->tail, event->output_tail.data, shard->tail_size);
        break;
    default:
        shard = NULL;
        break;
    }
    free(id);
    return shard;
}

uint32_t
tsr_progress_total(tsr_progress_t *self)
{
    assert(self);
    uint32_t total = 0;
    for (void *item = zhashx_first(self->expected); item; item = zhashx_next(self->expected)) {
        uint32_t shards = (uint32_t)((uintptr_t)item - 1);
        total += shards ? shards : 1;
    }
    uint32_t finished = (uint32_t)zlistx_size(self->shards);
    return total > finished ? total : finished;
}

uint32_t
tsr_progress_finished(tsr_progress_t *self)
{
    assert(self);
    return (uint32_t)zlistx_size(self->shards);
}

uint32_t
tsr_progress_running(tsr_progress_t *self)
{
    assert(self);
    return (uint32_t)zhashx_size(self->running);
}

uint32_t
tsr_progress_failed(tsr_progress_t *self)
{
    assert(self);
    uint32_t failed = 0;
    for (tsr_progress_shard_t *shard = zlistx_first(self->shards); shard;
         shard = zlistx_next(self->shards))
        if (shard->outcome != TESSERA__OUTCOME__PASSED &&
            shard->outcome != TESSERA__OUTCOME__SKIPPED &&
            shard->outcome != TESSERA__OUTCOME__XFAILED &&
            shard->outcome != TESSERA__OUTCOME__XPASSED &&
            shard->outcome != TESSERA__OUTCOME__CANCELLED)
            failed++;
    return failed;
}

bool
tsr_progress_tests(tsr_progress_t *self, uint32_t *done_out, uint32_t *failed_out,
                   uint32_t *total_out)
{
    assert(self);
    assert(done_out && failed_out && total_out);
    *done_out = self->tests_done;
    *failed_out = self->tests_failed;
    *total_out = self->tests_total;
    return self->has_tests;
}

void
tsr_progress_line(tsr_progress_t *self, int64_t now_ms, char *buffer, size_t size)
{
    assert(self);
    assert(buffer);
    int64_t elapsed_ms = now_ms - self->started_ms;
    if (elapsed_ms < 0)
        elapsed_ms = 0;
    if (self->has_tests) {
        snprintf(buffer, size,
                 "[%u/%u tests] %u failed; %u/%u shards, %u running, %" PRId64 ".%" PRId64 "s",
                 self->tests_done, self->tests_total, self->tests_failed,
                 tsr_progress_finished(self), tsr_progress_total(self), tsr_progress_running(self),
                 elapsed_ms / 1000, (elapsed_ms % 1000) / 100);
        return;
    }
    snprintf(buffer, size, "[%u/%u shards] %u running, %u failed, %" PRId64 ".%" PRId64 "s",
             tsr_progress_finished(self), tsr_progress_total(self), tsr_progress_running(self),
             tsr_progress_failed(self), elapsed_ms / 1000, (elapsed_ms % 1000) / 100);
}

zlistx_t *
tsr_progress_shards(tsr_progress_t *self)
{
    assert(self);
    return self->shards;
}

const tsr_progress_shard_t *
tsr_progress_find(tsr_progress_t *self, const char *id)
{
    assert(self);
    assert(id);
    return zhashx_lookup(self->records, id);
}
