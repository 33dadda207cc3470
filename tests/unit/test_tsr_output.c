/*  Unit tests for tsr_output: what `tessera run` prints.                   */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_output.h"

static void
test_output_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__PASSED), "passed");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__FAILED), "failed");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__ERROR), "error");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__SKIPPED), "skipped");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__TIMED_OUT), "timed_out");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__CRASHED), "crashed");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__CANCELLED), "cancelled");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__XFAILED), "skipped");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__XPASSED), "passed");
    assert_string_equal(tsr_output_outcome(TESSERA__OUTCOME__OUTCOME_UNKNOWN), "unknown");
    assert_string_equal(tsr_output_outcome((Tessera__Outcome)77), "unknown");
}

static void
test_output_durations(void **state)
{
    (void)state;
    char text[32];
    tsr_output_duration(10, text, sizeof text);
    assert_string_equal(text, "0.01s");
    tsr_output_duration(0, text, sizeof text);
    assert_string_equal(text, "0.00s");
    tsr_output_duration(12345, text, sizeof text);
    assert_string_equal(text, "12.34s");
    tsr_output_duration(185000, text, sizeof text);
    assert_string_equal(text, "3m05s");
    tsr_output_duration(7260000, text, sizeof text);
    assert_string_equal(text, "2h01m");
}

static void
test_output_header_names_shard_outcome_time_and_agent(void **state)
{
    (void)state;
    tsr_progress_shard_t shard = {.id = "default/2",
                                  .job = "default",
                                  .agent = "local-0",
                                  .outcome = TESSERA__OUTCOME__PASSED,
                                  .duration_ms = 10};
    char *header = tsr_output_header(&shard);
    assert_string_equal(header, "\u2500\u2500 default/2 passed in 0.01s on local-0");
    free(header);
    shard.text = "ignored when passed";
    header = tsr_output_header(&shard);
    assert_string_equal(header, "\u2500\u2500 default/2 passed in 0.01s on local-0");
    free(header);
    shard.agent = "";
    shard.outcome = TESSERA__OUTCOME__FAILED;
    shard.text = "exit code 1";
    header = tsr_output_header(&shard);
    assert_string_equal(header, "\u2500\u2500 default/2 failed in 0.01s: exit code 1");
    free(header);
    shard.outcome = TESSERA__OUTCOME__CANCELLED;
    shard.text = "cancelled"; //  says nothing the outcome does not
    header = tsr_output_header(&shard);
    assert_string_equal(header, "\u2500\u2500 default/2 cancelled in 0.01s");
    free(header);
}

static void
test_output_plain_event_lines(void **state)
{
    (void)state;
    Tessera__Event event = TESSERA__EVENT__INIT;
    event.kind = TESSERA__EVENT__KIND__SHARD_STARTED;
    event.job = "default";
    event.shard_index = 1;
    event.shard_count = 4;
    event.agent = "local-0";
    char *line = tsr_output_event_line(&event);
    assert_string_equal(line, "started default/1 on local-0");
    free(line);
    event.kind = TESSERA__EVENT__KIND__SHARD_REQUEUED;
    event.text = "agent lost";
    line = tsr_output_event_line(&event);
    assert_string_equal(line, "requeued default/1: agent lost");
    free(line);
    event.kind = TESSERA__EVENT__KIND__JOB_FINISHED;
    event.outcome = TESSERA__OUTCOME__FAILED;
    line = tsr_output_event_line(&event);
    assert_string_equal(line, "job default failed");
    free(line);
    event.kind = TESSERA__EVENT__KIND__RUN_FINISHED;
    assert_null(tsr_output_event_line(&event));
}

static void
test_output_summary_line(void **state)
{
    (void)state;
    Tessera__RunSummary summary = TESSERA__RUN_SUMMARY__INIT;
    summary.run_id = "r42";
    summary.status = "failed";
    summary.total = 4;
    summary.passed = 3;
    summary.failed = 1;
    summary.shards = 4;
    summary.cached_shards = 2;
    summary.wall_ms = 1230;
    summary.uploaded_bytes = 99;
    char *line = tsr_output_summary_line(&summary, NULL);
    assert_string_equal(line, "run r42 failed in 1.23s: 4 tests, 3 passed, 1 failed, 0 skipped, "
                              "0 flaky; 4 shards, 2 cached; 99 bytes uploaded");
    free(line);
    tsr_report_counts_t counts = {.total = 4, .passed = 2, .skipped = 2};
    line = tsr_output_summary_line(&summary, &counts);
    assert_string_equal(line, "run r42 failed in 1.23s: 4 tests, 2 passed, 0 failed, 2 skipped, "
                              "0 flaky; 4 shards, 2 cached; 99 bytes uploaded");
    free(line);
}

//  Everything written to a memory stream.
static void
test_output_writer_plain_and_live(void **state)
{
    (void)state;
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    tsr_output_t *output = tsr_output_new(stream, false);
    Tessera__Event started = TESSERA__EVENT__INIT;
    started.kind = TESSERA__EVENT__KIND__SHARD_STARTED;
    started.job = "default";
    started.shard_count = 1;
    tsr_output_event(output, &started, NULL);
    tsr_output_progress(output, "[0/1 shards]"); //  plain: nothing
    tsr_progress_shard_t shard = {.id = "default",
                                  .job = "default",
                                  .agent = "a",
                                  .outcome = TESSERA__OUTCOME__PASSED,
                                  .tail = "no newline",
                                  .tail_size = 10};
    tsr_output_event(output, &started, &shard);
    tsr_output_destroy(&output);
    fflush(stream);
    assert_string_equal(buffer, "started default\n"
                                "\u2500\u2500 default passed in 0.00s on a\nno newline\n");
    fclose(stream);
    free(buffer);

    stream = open_memstream(&buffer, &size);
    output = tsr_output_new(stream, true);
    tsr_output_event(output, &started, NULL); //  live: the progress line says it
    tsr_output_progress(output, "[0/1 shards]");
    tsr_output_line(output, "hello");
    tsr_output_progress(output, "[1/1 shards]");
    tsr_output_destroy(&output); //  erases the progress line
    fflush(stream);
    assert_string_equal(buffer, "\r\033[K[0/1 shards]\r\033[Khello\n\r\033[K[1/1 shards]\r\033[K");
    fclose(stream);
    free(buffer);
}

static void
test_output_test_job_shards_print_counts_not_tails(void **state)
{
    (void)state;
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    tsr_output_t *output = tsr_output_new(stream, false);
    tsr_output_test_job(output, "py");
    Tessera__Event finished = TESSERA__EVENT__INIT;
    finished.kind = TESSERA__EVENT__KIND__SHARD_FINISHED;
    finished.job = "py";
    finished.shard_count = 2;
    finished.tests_done = 10;
    finished.tests_failed = 1;
    finished.tests_total = 30;
    tsr_progress_shard_t shard = {.id = "py/1",
                                  .job = "py",
                                  .agent = "a",
                                  .outcome = TESSERA__OUTCOME__FAILED,
                                  .text = "",
                                  .tail = "F.. 1 failed\n",
                                  .tail_size = 13};
    tsr_output_event(output, &finished, &shard);
    //  a command job's shard still prints its tail
    tsr_progress_shard_t command = {.id = "cmd",
                                    .job = "cmd",
                                    .agent = "a",
                                    .outcome = TESSERA__OUTCOME__PASSED,
                                    .tail = "hi\n",
                                    .tail_size = 3};
    finished.job = "cmd";
    finished.shard_count = 1;
    tsr_output_event(output, &finished, &command);
    tsr_output_destroy(&output);
    fflush(stream);
    assert_string_equal(buffer, "\u2500\u2500 py/1 failed in 0.00s on a [10/30 tests, 1 failed]\n"
                                "\u2500\u2500 cmd passed in 0.00s on a\nhi\n");
    fclose(stream);
    free(buffer);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_outcome_names),
        cmocka_unit_test(test_output_durations),
        cmocka_unit_test(test_output_header_names_shard_outcome_time_and_agent),
        cmocka_unit_test(test_output_plain_event_lines),
        cmocka_unit_test(test_output_summary_line),
        cmocka_unit_test(test_output_writer_plain_and_live),
        cmocka_unit_test(test_output_test_job_shards_print_counts_not_tails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
