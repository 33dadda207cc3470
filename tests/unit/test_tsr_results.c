/*  Unit tests for tsr_results: a run's report from its summary and events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cJSON.h>
#include <string.h>

#include "tsr_results.h"

//  Two shards of job "unit": 0 passed after a lost attempt and a failed
//  retry, 1 failed; plus "build", which this client saw nothing of.
typedef struct {
    Tessera__RunSummary summary;
    Tessera__ShardSummary shards[3];
    Tessera__ShardSummary *pointers[3];
} s_fixture_t;

static void
s_fixture(s_fixture_t *fixture)
{
    tessera__run_summary__init(&fixture->summary);
    fixture->summary.run_id = "r9";
    fixture->summary.status = "failed";
    fixture->summary.shards = 3;
    fixture->summary.cached_shards = 1;
    fixture->summary.wall_ms = 2500;
    fixture->summary.uploaded_bytes = 77;
    const char *ids[] = {"unit/0", "unit/1", "build/x/2"};
    Tessera__Outcome outcomes[] = {TESSERA__OUTCOME__PASSED, TESSERA__OUTCOME__FAILED,
                                   TESSERA__OUTCOME__PASSED};
    uint32_t attempts[] = {3, 1, 2};
    for (int index = 0; index < 3; index++) {
        tessera__shard_summary__init(&fixture->shards[index]);
        fixture->shards[index].id = (char *)ids[index];
        fixture->shards[index].outcome = outcomes[index];
        fixture->shards[index].attempts = attempts[index];
        fixture->shards[index].duration_ms = 500;
        fixture->shards[index].agent = index == 2 ? "" : "local-1";
        fixture->pointers[index] = &fixture->shards[index];
    }
    fixture->summary.n_results = 3;
    fixture->summary.results = fixture->pointers;
}

static tsr_progress_t *
s_progress(void)
{
    tsr_progress_t *progress = tsr_progress_new(0);
    Tessera__Event event = TESSERA__EVENT__INIT;
    event.job = "unit";
    event.shard_count = 2;
    event.agent = "local-0";
    event.kind = TESSERA__EVENT__KIND__SHARD_REQUEUED;
    event.text = "agent lost";
    (void)tsr_progress_apply(progress, &event, 1);
    event.outcome = TESSERA__OUTCOME__FAILED;
    event.text = "retry 1 of 1: exit code 1";
    (void)tsr_progress_apply(progress, &event, 2);
    event.kind = TESSERA__EVENT__KIND__SHARD_FINISHED;
    event.outcome = TESSERA__OUTCOME__PASSED;
    event.text = "";
    (void)tsr_progress_apply(progress, &event, 3);
    event.shard_index = 1;
    event.outcome = TESSERA__OUTCOME__FAILED;
    event.text = "exit code 2";
    event.output_tail.data = (uint8_t *)"boom\n";
    event.output_tail.len = 5;
    (void)tsr_progress_apply(progress, &event, 4);
    return progress;
}

//  The result object with this id in the JSON summary.
static const cJSON *
s_result(const cJSON *root, const char *id)
{
    const cJSON *result;
    cJSON_ArrayForEach(result, cJSON_GetObjectItemCaseSensitive(root, "results"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(result, "id")->valuestring, id) == 0)
            return result;
    }
    fail_msg("no result %s", id);
    return NULL;
}

static void
test_results_job_of_an_id(void **state)
{
    (void)state;
    char *job = tsr_results_job_of("test/3");
    assert_string_equal(job, "test");
    free(job);
    job = tsr_results_job_of("build");
    assert_string_equal(job, "build");
    free(job);
    job = tsr_results_job_of("/odd");
    assert_string_equal(job, "/odd");
    free(job);
}

static void
test_results_report_from_summary_and_events(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture);
    tsr_progress_t *progress = s_progress();
    tsr_report_t *report = tsr_results_report(&fixture.summary, progress);
    assert_int_equal(tsr_report_size(report), 3);
    assert_string_equal(tsr_report_status(report), "failed");
    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    assert_int_equal(counts.total, 3);
    assert_int_equal(counts.passed, 2);
    assert_int_equal(counts.failed, 1);
    assert_int_equal(counts.flaky, 1); //  unit/0: passed after a failed retry

    char *text = tsr_report_json(report);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(root, "run")->valuestring, "r9");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "uploaded_bytes")->valueint, 77);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "cached_shards")->valueint, 1);
    const cJSON *first = s_result(root, "unit/0");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(first, "attempts")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "job")->valuestring, "unit");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "agent")->valuestring, "local-1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "flaky")));
    const cJSON *second = s_result(root, "unit/1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(second, "outcome")->valuestring, "failed");
    const char *message = cJSON_GetObjectItemCaseSensitive(second, "message")->valuestring;
    assert_non_null(strstr(message, "exit code 2"));
    assert_non_null(strstr(message, "boom"));
    //  not seen by this client: job from the id, earlier attempt lost (not flaky)
    const cJSON *third = s_result(root, "build/x/2");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(third, "job")->valuestring, "build/x");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(third, "attempts")->valueint, 2);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(third, "flaky")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(third, "agent")));
    cJSON_Delete(root);
    free(text);
    tsr_report_destroy(&report);
    tsr_progress_destroy(&progress);
}

static void
test_results_without_progress_or_results(void **state)
{
    (void)state;
    Tessera__RunSummary summary = TESSERA__RUN_SUMMARY__INIT;
    tsr_report_t *report = tsr_results_report(&summary, NULL);
    assert_int_equal(tsr_report_size(report), 0);
    assert_string_equal(tsr_report_status(report), "passed"); //  no status, nothing failed
    tsr_report_destroy(&report);
}

//  A pytest job's summary: a flaky test (failed, then passed on another
//  agent), a test that failed both tries, and one that passed at once.
typedef struct {
    Tessera__RunSummary summary;
    Tessera__ShardSummary tests[3];
    Tessera__ShardSummary *pointers[3];
    Tessera__AttemptSummary tries[5];
    Tessera__AttemptSummary *flaky_tries[2];
    Tessera__AttemptSummary *failed_tries[2];
    Tessera__AttemptSummary *passed_tries[1];
} s_tests_fixture_t;

static void
s_try(Tessera__AttemptSummary *try, Tessera__Outcome outcome, uint64_t ms, const char *agent,
      const char *message)
{
    tessera__attempt_summary__init(try);
    try->outcome = outcome;
    try->duration_ms = ms;
    try->agent = (char *)agent;
    try->message = (char *)message;
}

static void
s_tests_fixture(s_tests_fixture_t *fixture)
{
    tessera__run_summary__init(&fixture->summary);
    fixture->summary.run_id = "r10";
    fixture->summary.status = "failed";
    fixture->summary.shards = 4;
    const char *ids[] = {"tests/test_a.py::test_flaky", "tests/test_a.py::test_broken",
                         "tests/test_b.py::test_ok"};
    const char *groups[] = {"tests/test_a.py", "tests/test_a.py", "tests/test_b.py"};
    Tessera__Outcome outcomes[] = {TESSERA__OUTCOME__PASSED, TESSERA__OUTCOME__FAILED,
                                   TESSERA__OUTCOME__PASSED};
    s_try(&fixture->tries[0], TESSERA__OUTCOME__FAILED, 120, "a1", "assert 1 == 2");
    s_try(&fixture->tries[1], TESSERA__OUTCOME__PASSED, 100, "a2", "");
    s_try(&fixture->tries[2], TESSERA__OUTCOME__FAILED, 50, "a1", "first: KeyError 'x'");
    s_try(&fixture->tries[3], TESSERA__OUTCOME__FAILED, 60, "a2", "second: KeyError 'x'");
    s_try(&fixture->tries[4], TESSERA__OUTCOME__PASSED, 7, "a2", "");
    fixture->flaky_tries[0] = &fixture->tries[0];
    fixture->flaky_tries[1] = &fixture->tries[1];
    fixture->failed_tries[0] = &fixture->tries[2];
    fixture->failed_tries[1] = &fixture->tries[3];
    fixture->passed_tries[0] = &fixture->tries[4];
    Tessera__AttemptSummary **tries[] = {fixture->flaky_tries, fixture->failed_tries,
                                         fixture->passed_tries};
    size_t n_tries[] = {2, 2, 1};
    for (int index = 0; index < 3; index++) {
        Tessera__ShardSummary *test = &fixture->tests[index];
        tessera__shard_summary__init(test);
        test->id = (char *)ids[index];
        test->job = "py";
        test->group = (char *)groups[index];
        test->outcome = outcomes[index];
        test->tries = tries[index];
        test->n_tries = n_tries[index];
        test->attempts = (uint32_t)n_tries[index];
        test->duration_ms = tries[index][n_tries[index] - 1]->duration_ms;
        test->agent = tries[index][n_tries[index] - 1]->agent;
        test->flaky = index == 0;
        fixture->pointers[index] = test;
    }
    fixture->summary.n_results = 3;
    fixture->summary.results = fixture->pointers;
}

static void
test_results_tries_become_attempts_and_flaky_tests(void **state)
{
    (void)state;
    s_tests_fixture_t fixture;
    s_tests_fixture(&fixture);
    //  events of shards (not tests) seen while following change nothing
    tsr_progress_t *progress = s_progress();
    tsr_report_t *report = tsr_results_report(&fixture.summary, progress);
    assert_int_equal(tsr_report_size(report), 3);
    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    assert_int_equal(counts.total, 3);
    assert_int_equal(counts.passed, 2);
    assert_int_equal(counts.failed, 1);
    assert_int_equal(counts.flaky, 1);

    tsr_report_test_t *flaky = tsr_report_find(report, "py", "tests/test_a.py::test_flaky");
    assert_non_null(flaky);
    assert_true(tsr_report_test_is_flaky(flaky));
    assert_string_equal(tsr_report_test_group(flaky), "tests/test_a.py");
    assert_int_equal(tsr_report_test_attempts(flaky), 2);
    const tsr_report_attempt_t *first = tsr_report_test_attempt(flaky, 0);
    assert_int_equal(first->outcome, TESSERA__OUTCOME__FAILED);
    assert_int_equal(first->duration_ms, 120);
    assert_string_equal(first->agent, "a1");
    assert_string_equal(first->message, "assert 1 == 2");
    assert_null(tsr_report_test_attempt(flaky, 1)->message); //  "" is no message
    tsr_report_test_t *broken = tsr_report_find(report, "py", "tests/test_a.py::test_broken");
    assert_false(tsr_report_test_is_flaky(broken));
    assert_int_equal(tsr_report_test_attempts(broken), 2);

    char *xml = NULL;
    assert_int_equal(tsr_report_junit(report, &xml, NULL), TSR_OK);
    assert_non_null(strstr(xml, "<flakyFailure"));
    assert_non_null(strstr(xml, "assert 1 == 2"));
    assert_non_null(strstr(xml, "<rerunFailure"));
    assert_non_null(strstr(xml, "first: KeyError"));
    assert_non_null(strstr(xml, "<failure"));
    assert_non_null(strstr(xml, "second: KeyError"));
    assert_non_null(strstr(xml, "classname=\"tests.test_a\""));
    assert_null(strstr(xml, "unit/0")); //  no shard of the events became a test
    free(xml);

    char *text = tsr_report_json(report);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *json_flaky = s_result(root, "tests/test_a.py::test_flaky");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json_flaky, "flaky")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json_flaky, "outcome")->valuestring,
                        "passed");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(json_flaky, "attempts")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json_flaky, "job")->valuestring, "py");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json_flaky, "group")->valuestring,
                        "tests/test_a.py");
    const cJSON *json_ok = s_result(root, "tests/test_b.py::test_ok");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json_ok, "flaky")));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(json_ok, "agent")->valuestring, "a2");
    cJSON_Delete(root);
    free(text);
    tsr_report_destroy(&report);
    tsr_progress_destroy(&progress);
}

static void
test_results_job_comes_from_the_summary(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture);
    fixture.shards[2].job = "build"; //  "build/x/2" alone would guess "build/x"
    tsr_report_t *report = tsr_results_report(&fixture.summary, NULL);
    assert_non_null(tsr_report_find(report, "build", "build/x/2"));
    assert_null(tsr_report_find(report, "build/x", "build/x/2"));
    tsr_report_destroy(&report);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_job_of_an_id),
        cmocka_unit_test(test_results_report_from_summary_and_events),
        cmocka_unit_test(test_results_without_progress_or_results),
        cmocka_unit_test(test_results_tries_become_attempts_and_flaky_tests),
        cmocka_unit_test(test_results_job_comes_from_the_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
