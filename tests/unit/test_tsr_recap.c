/*  Unit tests for tsr_recap: the end of `tessera run` / `tessera results`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cJSON.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_recap.h"
#include "tsr_results.h"
#include "tsr_testdir.h"

static void
test_recap_exit_codes(void **state)
{
    (void)state;
    tsr_report_counts_t clean = {.total = 3, .passed = 3};
    tsr_report_counts_t flaky = {.total = 3, .passed = 3, .flaky = 1};
    tsr_report_counts_t failed = {.total = 3, .passed = 2, .failed = 1};
    assert_int_equal(tsr_recap_exit_code("passed", &clean, false), TSR_EXIT_OK);
    assert_int_equal(tsr_recap_exit_code("passed", &clean, true), TSR_EXIT_OK);
    assert_int_equal(tsr_recap_exit_code("passed", &flaky, false), TSR_EXIT_OK);
    assert_int_equal(tsr_recap_exit_code("passed", &flaky, true), TSR_EXIT_FAILED);
    assert_int_equal(tsr_recap_exit_code("passed", &failed, false), TSR_EXIT_FAILED);
    assert_int_equal(tsr_recap_exit_code("failed", &failed, false), TSR_EXIT_FAILED);
    assert_int_equal(tsr_recap_exit_code("failed", &clean, false), TSR_EXIT_FAILED);
    assert_int_equal(tsr_recap_exit_code("cancelled", &clean, false), TSR_EXIT_FAILED);
    assert_int_equal(tsr_recap_exit_code("running", &clean, false), TSR_EXIT_FAILED);
    assert_int_equal(tsr_recap_exit_code("error", &clean, false), TSR_EXIT_INFRA);
    assert_int_equal(tsr_recap_exit_code("", &clean, false), TSR_EXIT_INFRA);
}

//  A run of job "py" (slow_s 1 in its JobSpec) and "sh" (a command job).
typedef struct {
    Tessera__RunSummary summary;
    Tessera__ShardSummary results[4];
    Tessera__ShardSummary *pointers[4];
    Tessera__AttemptSummary tries[5];
    Tessera__AttemptSummary *try_pointers[5];
    Tessera__JobSpec py;
    Tessera__JobSpec sh;
    Tessera__JobSpec *jobs[2];
    char *messages[1];
} s_fixture_t;

static void
s_try(s_fixture_t *fixture, int index, Tessera__Outcome outcome, uint64_t ms, const char *message)
{
    Tessera__AttemptSummary *try = &fixture->tries[index];
    tessera__attempt_summary__init(try);
    try->outcome = outcome;
    try->duration_ms = ms;
    try->agent = "a1";
    try->message = (char *)message;
    fixture->try_pointers[index] = try;
}

static void
s_result(s_fixture_t *fixture, int index, const char *id, const char *job, Tessera__Outcome outcome,
         int first_try, size_t n_tries, uint64_t ms)
{
    Tessera__ShardSummary *result = &fixture->results[index];
    tessera__shard_summary__init(result);
    result->id = (char *)id;
    result->job = (char *)job;
    result->outcome = outcome;
    result->duration_ms = ms;
    result->agent = "a1";
    result->attempts = n_tries ? (uint32_t)n_tries : 1;
    result->n_tries = n_tries;
    result->tries = n_tries ? &fixture->try_pointers[first_try] : NULL;
    fixture->pointers[index] = result;
}

static void
s_fixture(s_fixture_t *fixture, const char *status)
{
    memset(fixture, 0, sizeof *fixture);
    tessera__run_summary__init(&fixture->summary);
    fixture->summary.run_id = "r7";
    fixture->summary.status = (char *)status;
    fixture->summary.shards = 3;
    fixture->summary.wall_ms = 4000;
    s_try(fixture, 0, TESSERA__OUTCOME__FAILED, 30, "AssertionError: assert 1 == 2\nline two");
    s_try(fixture, 1, TESSERA__OUTCOME__PASSED, 40, "");
    s_try(fixture, 2, TESSERA__OUTCOME__FAILED, 2500, "ZeroDivisionError: division by zero");
    s_try(fixture, 3, TESSERA__OUTCOME__PASSED, 1500, "");
    s_try(fixture, 4, TESSERA__OUTCOME__PASSED, 900, "");
    s_result(fixture, 0, "t.py::test_flaky", "py", TESSERA__OUTCOME__PASSED, 0, 2, 40);
    s_result(fixture, 1, "t.py::test_div", "py", TESSERA__OUTCOME__FAILED, 2, 1, 2500);
    s_result(fixture, 2, "t.py::test_slow", "py", TESSERA__OUTCOME__PASSED, 3, 1, 1500);
    //  a command shard: slow but its job has no threshold
    s_result(fixture, 3, "sh", "sh", TESSERA__OUTCOME__PASSED, 0, 0, 9000);
    fixture->summary.results = fixture->pointers;
    fixture->summary.n_results = 4;
    fixture->messages[0] = "job py: tests/test_c.py: ImportError: no module named zz";
    fixture->summary.messages = fixture->messages;
    fixture->summary.n_messages = 1;
    tessera__job_spec__init(&fixture->py);
    fixture->py.name = "py";
    fixture->py.framework = "pytest";
    fixture->py.slow_s = 1;
    tessera__job_spec__init(&fixture->sh);
    fixture->sh.name = "sh";
    fixture->sh.framework = "command";
    fixture->jobs[0] = &fixture->py;
    fixture->jobs[1] = &fixture->sh;
}

static void
test_recap_slow_tests_use_their_jobs_threshold(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture, "failed");
    tsr_recap_opts_t opts = {.jobs = fixture.jobs, .n_jobs = 2};
    assert_int_equal(tsr_recap_slow_s(&opts, "py"), 1);
    assert_int_equal(tsr_recap_slow_s(&opts, "sh"), 0);
    assert_int_equal(tsr_recap_slow_s(&opts, "other"), 0);
    assert_true(tsr_recap_has_tests(&opts, &fixture.summary));

    tsr_report_t *report = tsr_results_report(&fixture.summary, NULL);
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    assert_int_equal(tsr_recap_print_slow(report, &opts, stream, 10), TSR_OK);
    fflush(stream);
    assert_string_equal(buffer, "SLOW t.py::test_div (job py, 2.50s, over 1s)\n"
                                "SLOW t.py::test_slow (job py, 1.50s, over 1s)\n");
    fclose(stream);
    free(buffer);

    //  the fallback threshold (`results --slow`) for jobs not submitted here; a cap
    tsr_recap_opts_t fallback = {.slow_s = 1};
    stream = open_memstream(&buffer, &size);
    assert_int_equal(tsr_recap_print_slow(report, &fallback, stream, 2), TSR_OK);
    fflush(stream);
    assert_string_equal(buffer, "SLOW sh (job sh, 9.00s, over 1s)\n"
                                "SLOW t.py::test_div (job py, 2.50s, over 1s)\n"
                                "... and 1 more slow test\n");
    fclose(stream);
    free(buffer);

    //  no threshold: nothing
    tsr_recap_opts_t off = {0};
    stream = open_memstream(&buffer, &size);
    assert_int_equal(tsr_recap_print_slow(report, &off, stream, 10), TSR_OK);
    fflush(stream);
    assert_int_equal(size, 0);
    fclose(stream);
    free(buffer);
    tsr_report_destroy(&report);
}

//  The whole file as a string; caller frees.
static char *
s_slurp(const char *path)
{
    zfile_t *file = zfile_new(NULL, path);
    assert_non_null(file);
    assert_int_equal(zfile_input(file), 0);
    zchunk_t *chunk = zfile_read(file, (size_t)zfile_cursize(file), 0);
    assert_non_null(chunk);
    char *text = zchunk_strdup(chunk);
    zchunk_destroy(&chunk);
    zfile_destroy(&file);
    return text;
}

static void
test_recap_finish_prints_failures_and_writes_reports(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture, "failed");
    char *dir = tsr_testdir_new("recap");
    char *json_path = zsys_sprintf("%s/r.json", dir);
    char *junit_path = zsys_sprintf("%s/j.xml", dir);
    tsr_recap_opts_t opts = {.command = "results",
                             .json_path = json_path,
                             .junit_path = junit_path,
                             .jobs = fixture.jobs,
                             .n_jobs = 2};
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    assert_int_equal(tsr_recap_finish(&opts, &fixture.summary, NULL, stream), TSR_EXIT_FAILED);
    fflush(stream);
    //  the failure with its message, the flaky test, slow tests, the run's
    //  messages, then the summary line with the report's counts
    const char *failed = strstr(buffer, "FAILED t.py::test_div");
    const char *message = strstr(buffer, "ZeroDivisionError: division by zero");
    const char *flaky = strstr(buffer, "FLAKY t.py::test_flaky");
    const char *slow = strstr(buffer, "SLOW t.py::test_div");
    const char *error = strstr(buffer, "ERROR job py: tests/test_c.py: ImportError");
    const char *summary = strstr(buffer, "run r7 failed in 4.00s: 4 tests, 3 passed, 1 failed, "
                                         "0 skipped, 1 flaky");
    assert_non_null(failed);
    assert_non_null(message);
    assert_non_null(flaky);
    assert_non_null(slow);
    assert_non_null(error);
    assert_non_null(summary);
    assert_true(failed < message && message < flaky && flaky < slow && slow < error &&
                error < summary);
    fclose(stream);
    free(buffer);

    char *json = s_slurp(json_path);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(tests, "flaky")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "results")), 4);
    cJSON_Delete(root);
    free(json);

    char *xml = s_slurp(junit_path);
    assert_non_null(strstr(xml, "<flakyFailure"));
    assert_non_null(strstr(xml, "ZeroDivisionError"));
    free(xml);

    tsr_testdir_destroy(&dir);
    free(json_path);
    free(junit_path);
}

static void
test_recap_finish_fail_on_flaky_and_unwritable_files(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture, "passed");
    fixture.results[1].outcome = TESSERA__OUTCOME__PASSED; //  only the flaky one is left
    fixture.tries[2].outcome = TESSERA__OUTCOME__PASSED;
    fixture.summary.n_messages = 0;
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    tsr_recap_opts_t opts = {.jobs = fixture.jobs, .n_jobs = 2};
    assert_int_equal(tsr_recap_finish(&opts, &fixture.summary, NULL, stream), TSR_EXIT_OK);
    opts.fail_on_flaky = true;
    assert_int_equal(tsr_recap_finish(&opts, &fixture.summary, NULL, stream), TSR_EXIT_FAILED);
    //  a run that passed but whose report cannot be written: a config error
    opts.fail_on_flaky = false;
    opts.json_path = "/nonexistent-dir/r.json";
    assert_int_equal(tsr_recap_finish(&opts, &fixture.summary, NULL, stream), TSR_EXIT_CONFIG);
    fclose(stream);
    free(buffer);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recap_exit_codes),
        cmocka_unit_test(test_recap_slow_tests_use_their_jobs_threshold),
        cmocka_unit_test(test_recap_finish_prints_failures_and_writes_reports),
        cmocka_unit_test(test_recap_finish_fail_on_flaky_and_unwritable_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
