/*  Unit tests for tsr_progress: counting shards from Watch events.        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_progress.h"

static Tessera__Event
s_event(Tessera__Event__Kind kind, const char *job, uint32_t index, uint32_t count)
{
    Tessera__Event event = TESSERA__EVENT__INIT;
    event.kind = kind;
    event.job = (char *)job;
    event.shard_index = index;
    event.shard_count = count;
    event.agent = "local-0";
    return event;
}

static void
test_progress_shard_id_names_single_shards_by_job(void **state)
{
    (void)state;
    char *id = tsr_progress_shard_id("default", 0, 1);
    assert_string_equal(id, "default");
    free(id);
    id = tsr_progress_shard_id("default", 2, 4);
    assert_string_equal(id, "default/2");
    free(id);
    id = tsr_progress_shard_id("default", 0, 0);
    assert_string_equal(id, "default");
    free(id);
}

static void
test_progress_counts_started_finished_and_failed(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(1000);
    tsr_progress_expect(progress, "build", 1);
    tsr_progress_expect(progress, "unit", 0); //  auto: one until known
    assert_int_equal(tsr_progress_total(progress), 2);

    Tessera__Event started = s_event(TESSERA__EVENT__KIND__SHARD_STARTED, "unit", 0, 4);
    assert_null(tsr_progress_apply(progress, &started, 1100));
    started.shard_index = 1;
    assert_null(tsr_progress_apply(progress, &started, 1100));
    assert_int_equal(tsr_progress_total(progress), 5); //  1 + 4 now known
    assert_int_equal(tsr_progress_running(progress), 2);

    Tessera__Event finished = s_event(TESSERA__EVENT__KIND__SHARD_FINISHED, "unit", 0, 4);
    finished.outcome = TESSERA__OUTCOME__PASSED;
    finished.duration_ms = 10;
    finished.output_tail.data = (uint8_t *)"ok\n";
    finished.output_tail.len = 3;
    const tsr_progress_shard_t *shard = tsr_progress_apply(progress, &finished, 1600);
    assert_non_null(shard);
    assert_string_equal(shard->id, "unit/0");
    assert_string_equal(shard->job, "unit");
    assert_string_equal(shard->agent, "local-0");
    assert_int_equal(shard->duration_ms, 10);
    assert_int_equal(shard->finished_at_ms, 600);
    assert_int_equal(shard->tail_size, 3);
    assert_string_equal(shard->tail, "ok\n");

    finished.shard_index = 1;
    finished.outcome = TESSERA__OUTCOME__TIMED_OUT;
    finished.output_tail.len = 0;
    shard = tsr_progress_apply(progress, &finished, 1700);
    assert_int_equal(shard->tail_size, 0);
    assert_string_equal(shard->tail, "");
    assert_int_equal(tsr_progress_finished(progress), 2);
    assert_int_equal(tsr_progress_running(progress), 0);
    assert_int_equal(tsr_progress_failed(progress), 1);

    char line[128];
    tsr_progress_line(progress, 2234, line, sizeof line);
    assert_string_equal(line, "[2/5 shards] 0 running, 1 failed, 1.2s");
    tsr_progress_destroy(&progress);
    assert_null(progress);
}

static void
test_progress_requeue_and_retry_replace_the_shard(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(0);
    Tessera__Event started = s_event(TESSERA__EVENT__KIND__SHARD_STARTED, "job", 0, 1);
    tsr_progress_apply(progress, &started, 1);
    Tessera__Event requeued = s_event(TESSERA__EVENT__KIND__SHARD_REQUEUED, "job", 0, 1);
    tsr_progress_apply(progress, &requeued, 2);
    assert_int_equal(tsr_progress_running(progress), 0);
    assert_int_equal(tsr_progress_finished(progress), 0);

    Tessera__Event finished = s_event(TESSERA__EVENT__KIND__SHARD_FINISHED, "job", 0, 1);
    finished.outcome = TESSERA__OUTCOME__FAILED;
    tsr_progress_apply(progress, &finished, 3);
    assert_int_equal(tsr_progress_failed(progress), 1);
    //  a retry that passes replaces the failed record: one shard, none failed
    finished.outcome = TESSERA__OUTCOME__PASSED;
    finished.agent = "local-1";
    const tsr_progress_shard_t *shard = tsr_progress_apply(progress, &finished, 4);
    assert_string_equal(shard->agent, "local-1");
    assert_int_equal(tsr_progress_finished(progress), 1);
    assert_int_equal(tsr_progress_failed(progress), 0);
    assert_int_equal(zlistx_size(tsr_progress_shards(progress)), 1);

    Tessera__Event done = s_event(TESSERA__EVENT__KIND__RUN_FINISHED, "", 0, 0);
    assert_null(tsr_progress_apply(progress, &done, 5));
    assert_int_equal(tsr_progress_total(progress), 1);
    tsr_progress_destroy(&progress);
}

static void
test_progress_keeps_requeued_attempts_and_finds_shards(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(0);
    Tessera__Event requeued = s_event(TESSERA__EVENT__KIND__SHARD_REQUEUED, "job", 1, 2);
    requeued.text = "agent local-0 lost";
    tsr_progress_apply(progress, &requeued, 1); //  outcome unknown: lost, not failed
    requeued.outcome = TESSERA__OUTCOME__FAILED;
    requeued.text = "retry 1 of 1: exit code 1";
    tsr_progress_apply(progress, &requeued, 2);
    const tsr_progress_shard_t *shard = tsr_progress_find(progress, "job/1");
    assert_non_null(shard);
    assert_false(shard->finished);
    assert_int_equal(zlistx_size(tsr_progress_shards(progress)), 0);
    assert_int_equal(zlistx_size(shard->requeued), 2);
    const tsr_progress_attempt_t *attempt = zlistx_first(shard->requeued);
    assert_int_equal(attempt->outcome, TESSERA__OUTCOME__CANCELLED);
    assert_string_equal(attempt->text, "agent local-0 lost");
    assert_string_equal(attempt->agent, "local-0");
    attempt = zlistx_next(shard->requeued);
    assert_int_equal(attempt->outcome, TESSERA__OUTCOME__FAILED);

    Tessera__Event finished = s_event(TESSERA__EVENT__KIND__SHARD_FINISHED, "job", 1, 2);
    finished.outcome = TESSERA__OUTCOME__FAILED;
    finished.text = "exit code 1";
    assert_ptr_equal(tsr_progress_apply(progress, &finished, 3), shard);
    assert_true(shard->finished);
    assert_string_equal(shard->text, "exit code 1");
    assert_null(tsr_progress_find(progress, "job/0"));
    assert_null(tsr_progress_find(progress, "job"));
    tsr_progress_destroy(&progress);
}

static void
test_progress_line_counts_tests_once_events_carry_them(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(0);
    tsr_progress_expect(progress, "py", 0);
    uint32_t done, failed, total;
    assert_false(tsr_progress_tests(progress, &done, &failed, &total));
    char line[160];
    tsr_progress_line(progress, 1500, line, sizeof line);
    assert_string_equal(line, "[0/1 shards] 0 running, 0 failed, 1.5s");

    Tessera__Event finished = s_event(TESSERA__EVENT__KIND__SHARD_FINISHED, "py", 0, 3);
    finished.outcome = TESSERA__OUTCOME__FAILED;
    finished.tests_done = 40;
    finished.tests_failed = 2;
    finished.tests_total = 120;
    assert_non_null(tsr_progress_apply(progress, &finished, 2000));
    assert_true(tsr_progress_tests(progress, &done, &failed, &total));
    assert_int_equal(done, 40);
    assert_int_equal(failed, 2);
    assert_int_equal(total, 120);
    tsr_progress_line(progress, 2000, line, sizeof line);
    assert_string_equal(line, "[40/120 tests] 2 failed; 1/3 shards, 0 running, 2.0s");

    //  an event without counts (a start) keeps the last ones
    Tessera__Event started = s_event(TESSERA__EVENT__KIND__SHARD_STARTED, "py", 1, 3);
    assert_null(tsr_progress_apply(progress, &started, 2100));
    tsr_progress_line(progress, 2100, line, sizeof line);
    assert_string_equal(line, "[40/120 tests] 2 failed; 1/3 shards, 1 running, 2.1s");
    tsr_progress_destroy(&progress);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_shard_id_names_single_shards_by_job),
        cmocka_unit_test(test_progress_counts_started_finished_and_failed),
        cmocka_unit_test(test_progress_requeue_and_retry_replace_the_shard),
        cmocka_unit_test(test_progress_keeps_requeued_attempts_and_finds_shards),
        cmocka_unit_test(test_progress_line_counts_tests_once_events_carry_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
