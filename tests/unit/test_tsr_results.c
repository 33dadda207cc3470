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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_job_of_an_id),
        cmocka_unit_test(test_results_report_from_summary_and_events),
        cmocka_unit_test(test_results_without_progress_or_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
