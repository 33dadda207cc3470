/*  tsr_run - a run as the coordinator holds it: jobs, shards, events
    Owns the jobs, shards and in-memory events of one run, and formats its
    summary. The scheduler decides, this module records. Loop thread only.  */
#include "tsr_run.h"
#include "tsr_report.h"
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
s_ids_free(char ***ids_p, size_t *count_p)
{
    for (size_t index = 0; index < *count_p; index++)
        free((*ids_p)[index]);
    free(*ids_p);
    *ids_p = NULL;
    *count_p = 0;
}

static void
s_ids_copy(char ***ids_p, size_t *count_p, char *const *ids, size_t count)
{
    assert(ids || count == 0);
    s_ids_free(ids_p, count_p);
    *ids_p = (char **)zmalloc((count + 1) * sizeof(char *));
    for (size_t index = 0; index < count; index++)
        (*ids_p)[index] = strdup(ids[index] ? ids[index] : "");
    *count_p = count;
}

static void
s_shard_destroy(tsr_shard_t **shard_p)
{
    tsr_shard_t *shard = *shard_p;
    if (!shard)
        return;
    assert(!shard->queue_handle); //  the scheduler dequeues before destroying
    free(shard->agent_key);
    free(shard->agent_name);
    free(shard->text);
    free(shard->avoid_agent);
    s_ids_free(&shard->units, &shard->unit_count);
    s_ids_free(&shard->expect, &shard->expect_count);
    free(shard);
    *shard_p = NULL;
}

static void
s_job_destroy(tsr_job_t **job_p)
{
    tsr_job_t *job = *job_p;
    if (!job)
        return;
    for (uint32_t index = 0; index < job->shard_count; index++)
        s_shard_destroy(&job->shards[index]);
    free(job->shards);
    tsr_testrun_destroy(&job->tests);
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

bool
tsr_run_spec_is_tests(const Tessera__JobSpec *spec)
{
    assert(spec);
    return spec->framework && *spec->framework && strcmp(spec->framework, "command") != 0;
}

tsr_shard_t *
tsr_run_add_shard(tsr_job_t *job, Tessera__Assign__Kind kind)
{
    assert(job);
    if (job->shard_count == job->shard_room) {
        job->shard_room = job->shard_room ? job->shard_room * 2 : 4;
        job->shards = (tsr_shard_t **)realloc(job->shards, job->shard_room * sizeof(tsr_shard_t *));
        assert(job->shards);
    }
    tsr_shard_t *shard = (tsr_shard_t *)zmalloc(sizeof(tsr_shard_t));
    shard->job = job;
    shard->index = job->shard_count;
    shard->kind = kind;
    shard->state = TSR_SHARD_WAITING;
    job->shards[job->shard_count++] = shard;
    job->run->dirty = true;
    return shard;
}

void
tsr_shard_set_units(tsr_shard_t *shard, char *const *ids, size_t count)
{
    assert(shard);
    s_ids_copy(&shard->units, &shard->unit_count, ids, count);
}

void
tsr_shard_set_expect(tsr_shard_t *shard, char *const *ids, size_t count)
{
    assert(shard);
    s_ids_copy(&shard->expect, &shard->expect_count, ids, count);
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
    job->threads = spec->threads ? spec->threads : 1;
    if (tsr_run_spec_is_tests(spec))
        job->tests = tsr_testrun_new(spec->framework, spec->repeat, spec->retries);
    for (uint32_t index = 0; index < shard_count; index++)
        (void)tsr_run_add_shard(job, job->tests && index == 0 ? TESSERA__ASSIGN__KIND__LIST
                                                              : TESSERA__ASSIGN__KIND__RUN);
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

void
tsr_run_test_counts(const tsr_run_t *self, tsr_testrun_counts_t *counts_out)
{
    assert(self);
    assert(counts_out);
    memset(counts_out, 0, sizeof *counts_out);
    for (uint32_t index = 0; index < self->job_count; index++) {
        tsr_testrun_t *tests = self->jobs[index]->tests;
        if (!tests)
            continue;
        tsr_testrun_counts_t counts;
        tsr_testrun_counts(tests, &counts);
        counts_out->total += counts.total;
        counts_out->done += counts.done;
        counts_out->failed += counts.failed;
        counts_out->passed += counts.passed;
        counts_out->skipped += counts.skipped;
        counts_out->flaky += counts.flaky;
    }
}

//  Test progress on the events a progress line is drawn from
static void
s_event_progress(const tsr_run_t *self, Tessera__Event *event)
{
    if (event->kind != TESSERA__EVENT__KIND__SHARD_FINISHED &&
        event->kind != TESSERA__EVENT__KIND__JOB_FINISHED &&
        event->kind != TESSERA__EVENT__KIND__RUN_FINISHED)
        return;
    bool has_tests = false;
    for (uint32_t index = 0; index < self->job_count && !has_tests; index++)
        has_tests = self->jobs[index]->tests != NULL;
    if (!has_tests)
        return;
    tsr_testrun_counts_t counts;
    tsr_run_test_counts(self, &counts);
    event->tests_done = counts.done;
    event->tests_failed = counts.failed;
    event->tests_total = counts.total;
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
    s_event_progress(self, event);
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
    s_event_progress(self, event);
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
    if (job->tests) {
        //  The listing is skipped only when a need did not pass
        const tsr_shard_t *listing = job->shards[0];
        if (listing->outcome == TESSERA__OUTCOME__SKIPPED)
            return TESSERA__OUTCOME__SKIPPED;
        return tsr_testrun_job_outcome(job->tests, job->run->fail_on_flaky);
    }
    bool failed = false, errored = false, skipped = false, cancelled = false;
    for (uint32_t index = 0; index < job->shard_count; index++) {
        switch (job->shards[index]->outcome) {
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
        if (job->shards[index]->state != TSR_SHARD_DONE)
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
            const tsr_shard_t *shard = job->shards[index];
            started = started || shard->attempts > 0 || shard->state == TSR_SHARD_DONE;
            pending = pending || shard->state != TSR_SHARD_DONE;
        }
        if (!tsr_job_is_done(job))
            continue;
        switch (job->finished ? job->outcome : tsr_job_outcome(job)) {
        case TESSERA__OUTCOME__PASSED:
        case TESSERA__OUTCOME__SKIPPED:
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
    if (shard->kind == TESSERA__ASSIGN__KIND__LIST)
        snprintf(id, size, "%s/list", shard->job->spec->name);
    else if (shard->job->shard_count == 1)
        snprintf(id, size, "%s", shard->job->spec->name);
    else
        snprintf(id, size, "%s/%u", shard->job->spec->name, shard->index);
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
    result->job = strdup(shard->job->spec->name);
    result->group = strdup("");
    result->flaky = shard->flaky;
    return result;
}

static void
s_message_add(Tessera__RunSummary *summary, size_t *room, char *message)
{
    if (summary->n_messages == *room) {
        *room = *room ? *room * 2 : 8;
        summary->messages = (char **)realloc(summary->messages, *room * sizeof(char *));
        assert(summary->messages);
    }
    summary->messages[summary->n_messages++] = message;
}

//  Counts, messages and (with_results) per-test results of a test job
static void
s_tests_summary(const tsr_job_t *job, bool with_results, Tessera__RunSummary *summary,
                size_t *message_room)
{
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(job->tests, &counts);
    summary->total += counts.total;
    summary->passed += counts.passed;
    summary->failed += counts.failed;
    summary->skipped += counts.skipped;
    summary->flaky += counts.flaky;
    const char *name = job->spec->name;
    const char *failure = tsr_testrun_failure(job->tests);
    if (failure) {
        summary->errors++;
        s_message_add(summary, message_room, zsys_sprintf("job %s: %s", name, failure));
    }
    size_t errors = tsr_testrun_error_count(job->tests);
    for (size_t index = 0; index < errors; index++) {
        summary->errors++;
        s_message_add(summary, message_room,
                      zsys_sprintf("job %s: collection error: %s", name,
                                   tsr_testrun_error(job->tests, index)));
    }
    if (job->finished && tsr_testrun_is_listed(job->tests) && counts.total == 0 && !errors)
        s_message_add(summary, message_room, zsys_sprintf("job %s: no tests found", name));
    if (with_results)
        tsr_testrun_summaries(job->tests, name, summary->results, &summary->n_results);
}

//  Cut every try's message to a share of TSR_RUN_SUMMARY_TEXT_BYTES when
//  they are too many together (on a UTF-8 boundary)
static void
s_summary_trim(Tessera__RunSummary *summary)
{
    size_t total = 0, count = 0;
    for (size_t index = 0; index < summary->n_results; index++)
        for (size_t try = 0; try < summary->results[index]->n_tries; try++) {
            total += strlen(summary->results[index]->tries[try]->message);
            count++;
        }
    if (total <= TSR_RUN_SUMMARY_TEXT_BYTES)
        return;
    size_t share = TSR_RUN_SUMMARY_TEXT_BYTES / count;
    share = share < 256 ? 256 : share;
    for (size_t index = 0; index < summary->n_results; index++)
        for (size_t try = 0; try < summary->results[index]->n_tries; try++) {
            char *message = summary->results[index]->tries[try]->message;
            size_t size = strlen(message);
            if (size <= share)
                continue;
            size = share;
            while (size > 0 && ((unsigned char)message[size] & 0xC0) == 0x80)
                size--; //  message[size] continues a character: cut before it starts
            message[size] = '\0';
        }
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
    size_t rows = 0;
    for (uint32_t job_index = 0; job_index < self->job_count; job_index++) {
        const tsr_job_t *job = self->jobs[job_index];
        rows += job->tests ? tsr_testrun_size(job->tests) : job->shard_count;
    }
    if (with_results && rows)
        summary->results =
            (Tessera__ShardSummary **)zmalloc(rows * sizeof(Tessera__ShardSummary *));
    size_t message_room = 0;
    for (uint32_t job_index = 0; job_index < self->job_count; job_index++) {
        const tsr_job_t *job = self->jobs[job_index];
        for (uint32_t index = 0; index < job->shard_count; index++)
            summary->shards += job->shards[index]->kind == TESSERA__ASSIGN__KIND__RUN;
        if (job->tests) {
            s_tests_summary(job, with_results, summary, &message_room);
            continue;
        }
        for (uint32_t index = 0; index < job->shard_count; index++) {
            const tsr_shard_t *shard = job->shards[index];
            //  A command job's shard is one "test" (CLUSTER.md), counted as tsr_report does
            summary->total++;
            if (shard->state == TSR_SHARD_DONE) {
                if (tsr_report_outcome_is_failure(shard->outcome))
                    summary->failed++;
                else if (shard->outcome == TESSERA__OUTCOME__PASSED ||
                         shard->outcome == TESSERA__OUTCOME__XPASSED)
                    summary->passed++;
                else
                    summary->skipped++;
                if (shard->flaky)
                    summary->flaky++;
            }
            if (with_results)
                summary->results[summary->n_results++] = s_shard_summary(shard);
        }
    }
    s_summary_trim(summary);
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
    for (size_t index = 0; index < summary->n_results; index++)
        tsr_testrun_summary_free(summary->results[index]);
    free(summary->results);
    for (size_t index = 0; index < summary->n_messages; index++)
        free(summary->messages[index]);
    free(summary->messages);
    tessera__run_summary__init(summary);
}
