/*  tsr_output - progress line, plain event lines, shard headers, summary  */
#include "tsr_output.h"
#include <inttypes.h>
#include <string.h>

struct _tsr_output_t {
    FILE *stream;        //  borrowed (stdout)
    bool live;           //  terminal: redraw a progress line in place
    bool drawn;          //  a progress line is on screen now
    zhashx_t *test_jobs; //  owned; job name -> (void *) 1: no output tails
};

const char *
tsr_output_outcome(Tessera__Outcome outcome)
{
    switch (outcome) {
    case TESSERA__OUTCOME__PASSED:
    case TESSERA__OUTCOME__XPASSED:
        return "passed";
    case TESSERA__OUTCOME__FAILED:
        return "failed";
    case TESSERA__OUTCOME__ERROR:
        return "error";
    case TESSERA__OUTCOME__SKIPPED:
    case TESSERA__OUTCOME__XFAILED:
        return "skipped";
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

void
tsr_output_duration(uint64_t duration_ms, char *buffer, size_t size)
{
    assert(buffer);
    if (duration_ms < 60 * 1000)
        snprintf(buffer, size, "%" PRIu64 ".%02" PRIu64 "s", duration_ms / 1000,
                 (duration_ms % 1000) / 10);
    else if (duration_ms < 3600 * 1000)
        snprintf(buffer, size, "%" PRIu64 "m%02" PRIu64 "s", duration_ms / 60000,
                 (duration_ms / 1000) % 60);
    else
        snprintf(buffer, size, "%" PRIu64 "h%02" PRIu64 "m", duration_ms / 3600000,
                 (duration_ms / 60000) % 60);
}

char *
tsr_output_header(const tsr_progress_shard_t *shard)
{
    assert(shard);
    char duration[32];
    tsr_output_duration(shard->duration_ms, duration, sizeof duration);
    bool has_agent = shard->agent && shard->agent[0];
    const char *outcome = tsr_output_outcome(shard->outcome);
    bool has_reason = shard->outcome != TESSERA__OUTCOME__PASSED && shard->text && shard->text[0] &&
                      strcmp(shard->text, outcome) != 0;
    return zsys_sprintf("\u2500\u2500 %s %s in %s%s%s%s%s", shard->id, outcome, duration,
                        has_agent ? " on " : "", has_agent ? shard->agent : "",
                        has_reason ? ": " : "", has_reason ? shard->text : "");
}

char *
tsr_output_event_line(const Tessera__Event *event)
{
    assert(event);
    const char *job = event->job ? event->job : "";
    const char *agent = event->agent && event->agent[0] ? event->agent : NULL;
    const char *text = event->text && event->text[0] ? event->text : NULL;
    char *id = tsr_progress_shard_id(job, event->shard_index, event->shard_count);
    char *line = NULL;
    switch (event->kind) {
    case TESSERA__EVENT__KIND__SHARD_STARTED:
        line = zsys_sprintf("started %s%s%s", id, agent ? " on " : "", agent ? agent : "");
        break;
    case TESSERA__EVENT__KIND__SHARD_REQUEUED:
        line = zsys_sprintf("requeued %s%s%s", id, text ? ": " : "", text ? text : "");
        break;
    case TESSERA__EVENT__KIND__JOB_FINISHED:
        line = zsys_sprintf("job %s %s", job, tsr_output_outcome(event->outcome));
        break;
    default:
        break;
    }
    free(id);
    return line;
}

char *
tsr_output_summary_line(const Tessera__RunSummary *summary, const tsr_report_counts_t *counts)
{
    assert(summary);
    tsr_report_counts_t from_summary = {
        .total = summary->total,
        .passed = summary->passed,
        .failed = summary->failed,
        .skipped = summary->skipped,
        .flaky = summary->flaky,
    };
    if (!counts)
        counts = &from_summary;
    char wall[32];
    tsr_output_duration(summary->wall_ms, wall, sizeof wall);
    return zsys_sprintf("run %s %s in %s: %zu tests, %zu passed, %zu failed, %zu skipped, %zu "
                        "flaky; %u shards, %u cached; %" PRIu64 " bytes uploaded",
                        summary->run_id ? summary->run_id : "",
                        summary->status && summary->status[0] ? summary->status : "unknown", wall,
                        counts->total, counts->passed, counts->failed, counts->skipped,
                        counts->flaky, summary->shards, summary->cached_shards,
                        summary->uploaded_bytes);
}

tsr_output_t *
tsr_output_new(FILE *stream, bool live)
{
    assert(stream);
    tsr_output_t *self = zmalloc(sizeof *self);
    self->stream = stream;
    self->live = live;
    self->test_jobs = zhashx_new();
    return self;
}

void
tsr_output_destroy(tsr_output_t **self_p)
{
    assert(self_p);
    tsr_output_t *self = *self_p;
    if (!self)
        return;
    tsr_output_clear(self);
    zhashx_destroy(&self->test_jobs);
    free(self);
    *self_p = NULL;
}

void
tsr_output_clear(tsr_output_t *self)
{
    assert(self);
    if (self->live && self->drawn) {
        fputs("\r\033[K", self->stream);
        self->drawn = false;
    }
}

void
tsr_output_line(tsr_output_t *self, const char *line)
{
    assert(self);
    assert(line);
    tsr_output_clear(self);
    fprintf(self->stream, "%s\n", line);
    fflush(self->stream);
}

void
tsr_output_progress(tsr_output_t *self, const char *line)
{
    assert(self);
    if (!self->live)
        return;
    fprintf(self->stream, "\r\033[K%s", line);
    fflush(self->stream);
    self->drawn = true;
}

void
tsr_output_test_job(tsr_output_t *self, const char *job)
{
    assert(self);
    assert(job);
    zhashx_update(self->test_jobs, job, (void *)1);
}

void
tsr_output_event(tsr_output_t *self, const Tessera__Event *event, const tsr_progress_shard_t *shard)
{
    assert(self);
    assert(event);
    if (shard) {
        bool test_job = zhashx_lookup(self->test_jobs, shard->job) != NULL;
        char *header = tsr_output_header(shard);
        if (test_job && (event->tests_total || event->tests_done)) {
            char *longer = zsys_sprintf("%s [%u/%u tests, %u failed]", header, event->tests_done,
                                        event->tests_total, event->tests_failed);
            free(header);
            header = longer;
        }
        tsr_output_line(self, header);
        free(header);
        if (shard->tail_size && !test_job) {
            fwrite(shard->tail, 1, shard->tail_size, self->stream);
            if (shard->tail[shard->tail_size - 1] != '\n')
                fputc('\n', self->stream);
            fflush(self->stream);
        }
        return;
    }
    if (self->live)
        return; //  the progress line says it
    char *line = tsr_output_event_line(event);
    if (line) {
        tsr_output_line(self, line);
        free(line);
    }
}
