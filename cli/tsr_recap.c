/*  tsr_recap - failures, flaky and slow tests, summary line, report files */
#include "tsr_recap.h"
#include "tsr_output.h"
#include "tsr_results.h"
#include <errno.h>
#include <string.h>

int
tsr_recap_exit_code(const char *status, const tsr_report_counts_t *counts, bool fail_on_flaky)
{
    assert(status);
    assert(counts);
    if (strcmp(status, "passed") == 0) {
        if (counts->failed > 0 || (fail_on_flaky && counts->flaky > 0))
            return TSR_EXIT_FAILED;
        return TSR_EXIT_OK;
    }
    if (strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0 ||
        strcmp(status, "queued") == 0 || strcmp(status, "running") == 0)
        return TSR_EXIT_FAILED;
    return TSR_EXIT_INFRA; //  "error": no agent could run it, retries of infra failures spent
}

//  The submitted job named `job`, or NULL.
static const Tessera__JobSpec *
s_job(const tsr_recap_opts_t *opts, const char *job)
{
    for (size_t index = 0; opts->jobs && job && index < opts->n_jobs; index++)
        if (opts->jobs[index]->name && strcmp(opts->jobs[index]->name, job) == 0)
            return opts->jobs[index];
    return NULL;
}

uint32_t
tsr_recap_slow_s(const tsr_recap_opts_t *opts, const char *job)
{
    assert(opts);
    const Tessera__JobSpec *spec = s_job(opts, job);
    return spec && spec->slow_s ? spec->slow_s : opts->slow_s;
}

bool
tsr_recap_has_tests(const tsr_recap_opts_t *opts, const Tessera__RunSummary *summary)
{
    assert(opts);
    for (size_t index = 0; opts->jobs && index < opts->n_jobs; index++) {
        const char *framework = opts->jobs[index]->framework;
        if (framework && framework[0] && strcmp(framework, "command") != 0)
            return true;
    }
    for (size_t index = 0; summary && index < summary->n_results; index++)
        if (summary->results[index]->n_tries > 0)
            return true;
    return false;
}

//  qsort: slowest first, then by id for a stable listing.
static int
s_slower_first(const void *left_p, const void *right_p)
{
    tsr_report_test_t *left = *(tsr_report_test_t *const *)left_p;
    tsr_report_test_t *right = *(tsr_report_test_t *const *)right_p;
    uint64_t left_ms = tsr_report_test_duration_ms(left);
    uint64_t right_ms = tsr_report_test_duration_ms(right);
    if (left_ms != right_ms)
        return left_ms > right_ms ? -1 : 1;
    return strcmp(tsr_report_test_id(left), tsr_report_test_id(right));
}

int
tsr_recap_print_slow(tsr_report_t *report, const tsr_recap_opts_t *opts, FILE *out, size_t max)
{
    assert(report);
    assert(opts);
    assert(out);
    size_t size = tsr_report_size(report);
    tsr_report_test_t **slow = size ? zmalloc(size * sizeof *slow) : NULL;
    size_t count = 0;
    for (tsr_report_test_t *test = tsr_report_first(report); test; test = tsr_report_next(report)) {
        uint32_t slow_s = tsr_recap_slow_s(opts, tsr_report_test_job(test));
        if (slow_s && tsr_report_test_duration_ms(test) > (uint64_t)slow_s * 1000)
            slow[count++] = test;
    }
    if (count > 1)
        qsort(slow, count, sizeof *slow, s_slower_first);
    for (size_t index = 0; index < count && index < max; index++) {
        char duration[32];
        tsr_output_duration(tsr_report_test_duration_ms(slow[index]), duration, sizeof duration);
        fprintf(out, "SLOW %s (job %s, %s, over %us)\n", tsr_report_test_id(slow[index]),
                tsr_report_test_job(slow[index]), duration,
                (unsigned)tsr_recap_slow_s(opts, tsr_report_test_job(slow[index])));
    }
    if (count > max)
        fprintf(out, "... and %zu more slow test%s\n", count - max, count - max == 1 ? "" : "s");
    free(slow);
    return ferror(out) ? -EIO : TSR_OK;
}

//  Say why a report file could not be written; returns false.
static bool
s_write_failed(const char *command, const char *what, const char *path, int rc)
{
    fprintf(stderr, "tessera %s: cannot write %s %s: %s\n", command, what, path, tsr_strerror(rc));
    return false;
}

int
tsr_recap_finish(const tsr_recap_opts_t *opts, const Tessera__RunSummary *summary,
                 tsr_progress_t *progress, FILE *out)
{
    assert(opts);
    assert(summary);
    assert(out);
    const char *command = opts->command ? opts->command : "run";
    tsr_report_t *report = tsr_results_report(summary, progress);
    size_t lines =
        tsr_recap_has_tests(opts, summary) ? TSR_RECAP_TEST_LINES : TSR_RECAP_COMMAND_LINES;
    if (tsr_report_print_failures(report, out, TSR_RECAP_MAX_TESTS, lines) != TSR_OK ||
        tsr_recap_print_slow(report, opts, out, TSR_RECAP_MAX_TESTS) != TSR_OK)
        tsr_log_debug("cannot print the failure recap");
    for (size_t index = 0; index < summary->n_messages; index++)
        if (summary->messages[index] && summary->messages[index][0])
            fprintf(out, "ERROR %s\n", summary->messages[index]);
    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    char *line = tsr_output_summary_line(summary, &counts);
    fprintf(out, "%s\n", line);
    free(line);
    fflush(out);
    const char *status = summary->status ? summary->status : "";
    if (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0)
        fprintf(stderr, "tessera %s: run %s is %s: these results are partial\n", command,
                summary->run_id ? summary->run_id : "", status);
    int exit_code = tsr_recap_exit_code(status, &counts, opts->fail_on_flaky);
    bool written = true;
    int rc;
    if (opts->json_path && (rc = tsr_report_write_json(report, opts->json_path)) != TSR_OK)
        written = s_write_failed(command, "the JSON summary", opts->json_path, rc);
    if (opts->junit_path && (rc = tsr_report_write_junit(report, opts->junit_path)) != TSR_OK)
        written = s_write_failed(command, "JUnit XML", opts->junit_path, rc);
    if (!written && exit_code == TSR_EXIT_OK)
        exit_code = TSR_EXIT_CONFIG;
    tsr_report_destroy(&report);
    return exit_code;
}
