/*  tsr_results - RunSummary (+ the events seen) -> tsr_report_t           */
#include "tsr_results.h"
#include <string.h>

char *
tsr_results_job_of(const char *id)
{
    assert(id);
    const char *slash = strrchr(id, '/');
    return slash && slash != id ? strndup(id, (size_t)(slash - id)) : strdup(id);
}

//  NULL for "" (tsr_report's "unknown").
static const char *
s_or_null(const char *text)
{
    return text && text[0] ? text : NULL;
}

//  The failure text of the final attempt: the coordinator's reason, then the
//  output tail. Caller frees; NULL if there is neither.
static char *
s_final_message(const tsr_progress_shard_t *shard)
{
    if (!shard || (!shard->text[0] && shard->tail_size == 0))
        return NULL;
    if (!shard->text[0])
        return strdup(shard->tail);
    if (shard->tail_size == 0)
        return strdup(shard->text);
    return zsys_sprintf("%s\n%s", shard->text, shard->tail);
}

//  A result the coordinator recorded every try of (a test of a test job):
//  the tries are its attempts, oldest first.
static void
s_add_tried(tsr_report_t *report, const Tessera__ShardSummary *result, const char *id)
{
    char *job = s_or_null(result->job) ? strdup(result->job) : tsr_results_job_of(id);
    tsr_report_test_t *test =
        tsr_report_add_test(report, id, job, s_or_null(result->group), result->outcome,
                            result->duration_ms, s_or_null(result->agent));
    free(job);
    if (!test)
        return; //  listed twice: reported once
    for (size_t index = 0; index < result->n_tries; index++) {
        const Tessera__AttemptSummary *try = result->tries[index];
        tsr_report_test_add_attempt(test, try->outcome, try->duration_ms, s_or_null(try->agent),
                                    s_or_null(try->message));
    }
}

static void
s_add_result(tsr_report_t *report, const Tessera__ShardSummary *result, tsr_progress_t *progress)
{
    const char *id = result->id ? result->id : "";
    if (result->n_tries > 0) {
        s_add_tried(report, result, id);
        return;
    }
    const tsr_progress_shard_t *shard = progress ? tsr_progress_find(progress, id) : NULL;
    char *job = s_or_null(result->job) ? strdup(result->job)
                : shard                ? strdup(shard->job)
                                       : tsr_results_job_of(id);
    const char *agent = s_or_null(result->agent);
    tsr_report_test_t *test = tsr_report_add_test(report, id, job, s_or_null(result->group),
                                                  result->outcome, result->duration_ms, agent);
    free(job);
    if (!test)
        return; //  listed twice: reported once
    size_t seen = shard ? zlistx_size(shard->requeued) : 0;
    size_t attempts = result->attempts > seen + 1 ? result->attempts : seen + 1;
    for (size_t unseen = seen + 1; unseen < attempts; unseen++)
        tsr_report_test_add_attempt(test, TESSERA__OUTCOME__CANCELLED, 0, NULL,
                                    "an earlier attempt this client did not see");
    if (shard)
        for (const tsr_progress_attempt_t *attempt = zlistx_first(shard->requeued); attempt;
             attempt = zlistx_next(shard->requeued))
            tsr_report_test_add_attempt(test, attempt->outcome, 0, s_or_null(attempt->agent),
                                        s_or_null(attempt->text));
    char *message = s_final_message(shard);
    tsr_report_test_add_attempt(test, result->outcome, result->duration_ms, agent, message);
    free(message);
}

tsr_report_t *
tsr_results_report(const Tessera__RunSummary *summary, tsr_progress_t *progress)
{
    assert(summary);
    tsr_report_t *report = tsr_report_new(summary->run_id ? summary->run_id : "");
    if (summary->status && summary->status[0])
        tsr_report_set_status(report, summary->status);
    tsr_report_set_wall_ms(report, summary->wall_ms);
    tsr_report_set_uploaded_bytes(report, summary->uploaded_bytes);
    tsr_report_set_shards(report, summary->shards, summary->cached_shards);
    for (size_t index = 0; index < summary->n_results; index++)
        s_add_result(report, summary->results[index], progress);
    return report;
}
