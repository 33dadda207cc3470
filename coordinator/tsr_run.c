/*  tsr_run - a run as the coordinator holds it: jobs, shards, events
    Owns the jobs, shards and in-memory events of one run, and formats its
    summary. The scheduler decides, this module records. Loop thread only.  */
#include "tsr_run.h"
#include <string.h>

//  Events and shard texts are built here, so they are freed here too
static void
s_event_destroy(void **item_p)
{
    Tessera__Event *event = (Tessera__Event *)*item_p;
    if (!event)
        return;
    free(event->job);
    free(event->agent);
    free(event->output_tail.data);
    free(event->text);
    free(event);
    *item_p = NULL;
}

tsr_run_t *
tsr_run_new(const char *id, uint64_t seq, const char *client_uuid, const char *project,
            const tsr_digest_t *workspace, uint64_t created_ms)
{
    assert(id);
    tsr_run_t *self = (tsr_run_t *)zmalloc(sizeof(tsr_run_t));
    self->id = strdup(id);
    self->seq = seq;
    self->client_uuid = strdup(client_uuid ? client_uuid : "");
    self->project = strdup(project ? project : "");
    if (workspace)
        self->workspace = *workspace;
    self->created_ms = created_ms;
    self->events = zlistx_new();
    zlistx_set_destructor(self->events, s_event_destroy);
    self->dirty = true;
    return self;
}

static void
s_job_destroy(tsr_job_t **job_p)
{
    tsr_job_t *job = *job_p;
    if (!job)
        return;
    for (uint32_t index = 0; index < job->shard_count; index++) {
        tsr_shard_t *shard = &job->shards[index];
        assert(!shard->queue_handle); //  the scheduler dequeues before destroying
        free(shard->agent_key);
        free(shard->agent_name);
        free(shard->text);
    }
    free(job->shards);
    if (job->spec)
        tessera__job_spec__free_unpacked(job->spec, NULL);
    free(job);
    *job_p = NULL;
}

void
tsr_run_destroy(tsr_run_t **self_p)
{
    assert(self_p);
    tsr_run_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t index = 0; index < self->job_count; index++)
        s_job_destroy(&self->jobs[index]);
    free(self->jobs);
    zlistx_destroy(&self->events);
    free(self->id);
    free(self->client_uuid);
    free(self->project);
    free(self);
    *self_p = NULL;
}

Tessera__JobSpec *
tsr_run_spec_copy(const Tessera__JobSpec *spec)
{
    assert(spec);
    //  protobuf-c has no deep copy; a pack/unpack round trip is one
    size_t size = tessera__job_spec__get_packed_size(spec);
    uint8_t *buffer = (uint8_t *)zmalloc(size ? size : 1);
    tessera__job_spec__pack(spec, buffer);
    Tessera__JobSpec *copy = tessera__job_spec__unpack(NULL, size, buffer);
    free(buffer);
    assert(copy); //  we just packed it; failing to unpack it is a protobuf-c bug or OOM
    return copy;
}

tsr_job_t *
tsr_run_add_job(tsr_run_t *self, const Tessera__JobSpec *spec, uint32_t shard_count)
{
    assert(self);
    assert(spec);
    assert(shard_count >= 1);
    tsr_job_t *job = (tsr_job_t *)zmalloc(sizeof(tsr_job_t));
    job->run = self;
    job->index = self->job_count;
    job->spec = tsr_run_spec_copy(spec);
    job->shard_count = shard_count;
    job->threads = spec->threads ? spec->threads : 1;
    job->shards = (tsr_shard_t *)zmalloc(shard_count * sizeof(tsr_shard_t));
    for (uint32_t index = 0; index < shard_count; index++) {
        job->shards[index].job = job;
        job->shards[index].index = index;
        job->shards[index].state = TSR_SHARD_WAITING;
    }
    self->jobs = (tsr_job_t **)realloc(self->jobs, (self->job_count + 1) * sizeof(tsr_job_t *));
    assert(self->jobs);
    self->jobs[self->job_count++] = job;
    self->dirty = true;
    return job;
}

tsr_job_t *
tsr_run_job(tsr_run_t *self, const char *name)
{
    assert(self);
    for (uint32_t index = 0; index < self->job_count; index++)
        if (name && strcmp(self->jobs[index]->spec->name, name) == 0)
            return self->jobs[index];
    return NULL;
}

static Tessera__Event *
s_event_append(tsr_run_t *self, Tessera__Event__Kind kind, Tessera__Outcome outcome,
               const char *text)
{
    Tessera__Event *event = (Tessera__Event *)zmalloc(sizeof(Tessera__Event));
    tessera__event__init(event);
    event->seq = ++self->event_seq;
    event->kind = kind;
    event->outcome = outcome;
    event->job = strdup("");
    event->agent = strdup("");
    event->text = strdup(text ? text : "");
    zlistx_add_end(self->events, event);
    self->dirty = true;
    return event;
}

uint64_t
tsr_run_event(tsr_run_t *self, Tessera__Event__Kind kind, const tsr_shard_t *shard,
              Tessera__Outcome outcome, uint64_t duration_ms, const char *agent,
              const uint8_t *tail, size_t tail_bytes, const char *text)
{
    assert(self);
    Tessera__Event *event = s_event_append(self, kind, outcome, text);
    if (shard) {
        free(event->job);
        event->job = strdup(shard->job->spec->name);
        event->shard_index = shard->index;
        event->shard_count = shard->job->shard_count;
    }
    if (agent) {
        free(event->agent);
        event->agent = strdup(agent);
    }
    event->duration_ms = duration_ms;
    if (tail && tail_bytes) {
        if (tail_bytes > TSR_RUN_TAIL_BYTES) {
            tail += tail_bytes - TSR_RUN_TAIL_BYTES;
            tail_bytes = TSR_RUN_TAIL_BYTES;
        }
        event->output_tail.data = (uint8_t *)zmalloc(tail_bytes);
        memcpy(event->output_tail.data, tail, tail_bytes);
        event->output_tail.len = tail_bytes;
    }
    return event->seq;
}

uint64_t
tsr_run_job_event(tsr_run_t *self, Tessera__Event__Kind kind, const tsr_job_t *job,
                  Tessera__Outcome outcome, const char *text)
{
    assert(self);
    Tessera__Event *event = s_event_append(self, kind, outcome, text);
    if (job) {
        free(event->job);
        event->job = strdup(job->spec->name);
        event->shard_count = job->shard_count;
    }
    return event->seq;
}

void
tsr_run_events_after(tsr_run_t *self, uint64_t after_seq, size_t max, zlistx_t *events_out)
{
    assert(self);
    assert(events_out);
    //  Usually the caller is near the end: walk back from the last event until
    //  the one before is not wanted; the cursor then sits just before the first
    Tessera__Event *event = (Tessera__Event *)zlistx_last(self->events);
    if (!event || event->seq <= after_seq)
        return;
    while (true) {
        Tessera__Event *previous = (Tessera__Event *)zlistx_prev(self->events);
        if (!previous || previous->seq <= after_seq)
            break;
    }
    size_t count = 0;
    for (event = (Tessera__Event *)zlistx_next(self->events); event && count < max;
         event = (Tessera__Event *)zlistx_next(self->events), count++)
        zlistx_add_end(events_out, event);
}

void
tsr_run_forget_events(tsr_run_t *self)
{
    assert(self);
    zlistx_purge(self->events);
}

Tessera__Outcome
tsr_job_outcome(const tsr_job_t *job)
{
    assert(job);
    bool failed = false, errored = false, skipped = false, cancelled = false;
    for (uint32_t index = 0; index < job->shard_count; index++) {
        switch (job->shards[index].outcome) {
        case TESSERA__OUTCOME__PASSED:
            break;
        case TESSERA__OUTCOME__SKIPPED:
            skipped = true;
            break;
        case TESSERA__OUTCOME__CANCELLED:
            cancelled = true;
            break;
        case TESSERA__OUTCOME__ERROR:
            errored = true;
            break;
        default:
            failed = true;
            break;
        }
    }
    if (failed)
        return TESSERA__OUTCOME__FAILED;
    if (errored)
        return TESSERA__OUTCOME__ERROR;
    if (cancelled)
        return TESSERA__OUTCOME__CANCELLED;
    return skipped ? TESSERA__OUTCOME__SKIPPED : TESSERA__OUTCOME__PASSED;
}

bool
tsr_job_is_done(const tsr_job_t *job)
{
    assert(job);
    for (uint32_t index = 0; index < job->shard_count; index++)
        if (job->shards[index].state != TSR_SHARD_DONE)
            return false;
    return true;
}

const char *
tsr_run_status(const tsr_run_t *self)
{
    assert(self);
    if (self->cancelled)
        return "cancelled";
    bool started = false;
    bool failed = false;
    bool errored = false;
    bool pending = false;
    for (uint32_t job_index = 0; job_index < self->job_count; job_index++) {
        const tsr_job_t *job = self->jobs[job_index];
        for (uint32_t index = 0; index < job->shard_count; index++) {
            const tsr_shard_t *shard = &job->shards[index];
            if (shard->state != TSR_SHARD_DONE) {
                pending = true;
                started = started || shard->attempts > 0;
                continue;
            }
            started = true;
            switch (shard->outcome) {
            case TESSERA__OUTCOME__PASSED:
            case TESSERA__OUTCOME__SKIPPED:
            case TESSERA__OUTCOME__XFAILED:
                break;
            case TESSERA__OUTCOME__ERROR:
            case TESSERA__OUTCOME__CANCELLED:
                errored = true;
                break;
            default:
                failed = true;
                break;
            }
        }
    }
    if (pending)
        return started ? "running" : "queued";
    //  A failed test outranks an infrastructure error: exit 1 names a real failure
    if (failed)
        return "failed";
    return errored ? "error" : "passed";
}

void
tsr_shard_id(const tsr_shard_t *shard, char *id, size_t size)
{
    assert(shard);
    assert(id);
    if (shard->job->shard_count == 1)
        snprintf(id, size, "%s", shard->job->spec->name);
    else
        snprintf(id, size, "%s/%u", shard->job->spec->name, shard->index);
}

const char *
tsr_outcome_name(Tessera__Outcome outcome)
{
    switch (outcome) {
    case TESSERA__OUTCOME__PASSED:
        return "passed";
    case TESSERA__OUTCOME__FAILED:
        return "failed";
    case TESSERA__OUTCOME__ERROR:
        return "error";
    case TESSERA__OUTCOME__SKIPPED:
        return "skipped";
    case TESSERA__OUTCOME__XFAILED:
        return "xfailed";
    case TESSERA__OUTCOME__XPASSED:
        return "xpassed";
    case TESSERA__OUTCOME__TIMED_OUT:
        return "timed_out";
    case TESSERA__OUTCOME__CRASHED:
        return "crashed";
    case TESSERA__OUTCOME__CANCELLED:
        return "cancelled";
    default:
        return "unknown";
    }
}

static Tessera__ShardSummary *
s_shard_summary(const tsr_shard_t *shard)
{
    Tessera__ShardSummary *result = (Tessera__ShardSummary *)zmalloc(sizeof *result);
    tessera__shard_summary__init(result);
    char id[512];
    tsr_shard_id(shard, id, sizeof id);
    result->id = strdup(id);
    result->outcome =
        shard->state == TSR_SHARD_DONE ? shard->outcome : TESSERA__OUTCOME__OUTCOME_UNKNOWN;
    result->duration_ms = shard->duration_ms;
    result->attempts = shard->attempts;
    result->agent = strdup(shard->agent_name ? shard->agent_name : "");
    return result;
}

void
tsr_run_summary(const tsr_run_t *self, uint64_t now_ms, bool with_results,
                Tessera__RunSummary *summary)
{
    assert(self);
    assert(summary);
    tessera__run_summary__init(summary);
    summary->run_id = strdup(self->id);
    summary->status = strdup(tsr_run_status(self));
    uint32_t shards = 0;
    for (uint32_t job_index = 0; job_index < self->job_count; job_index++)
        shards += self->jobs[job_index]->shard_count;
    if (with_results && shards)
        summary->results =
            (Tessera__ShardSummary **)zmalloc(shards * sizeof(Tessera__ShardSummary *));
    for (uint32_t job_index = 0; job_index < self->job_count; job_index++) {
        const tsr_job_t *job = self->jobs[job_index];
        for (uint32_t index = 0; index < job->shard_count; index++) {
            const tsr_shard_t *shard = &job->shards[index];
            //  A command job's shard is one "test" (CLUSTER.md)
            summary->total++;
            if (shard->state == TSR_SHARD_DONE) {
                if (shard->outcome == TESSERA__OUTCOME__PASSED)
                    summary->passed++;
                else if (shard->outcome == TESSERA__OUTCOME__SKIPPED)
                    summary->skipped++;
                else
                    summary->failed++;
                if (shard->flaky)
                    summary->flaky++;
            }
            if (with_results)
                summary->results[summary->n_results++] = s_shard_summary(shard);
        }
    }
    summary->shards = shards;
    summary->cached_shards = 0; //  TODO(#5): action cache hits
    uint64_t end_ms = self->finished ? self->finished_ms : now_ms;
    summary->wall_ms = end_ms > self->created_ms ? end_ms - self->created_ms : 0;
    summary->uploaded_bytes = self->uploaded_bytes;
    summary->created_ms = self->created_ms;
}

void
tsr_run_summary_clear(Tessera__RunSummary *summary)
{
    assert(summary);
    free(summary->run_id);
    free(summary->status);
    for (size_t index = 0; index < summary->n_results; index++) {
        free(summary->results[index]->id);
        free(summary->results[index]->agent);
        free(summary->results[index]);
    }
    free(summary->results);
    tessera__run_summary__init(summary);
}
