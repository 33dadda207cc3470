/*  Unit tests for tsr_testrun: every listed test reported exactly once,
    unreported tests requeued (bounded), unlisted results added, retries
    (preferring another agent), flaky, --repeat, listed groups covered by
    their tests (npm files), job outcome, summaries. Pure: no I/O.        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_run.h"
#include "tsr_testrun.h"

#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define P TESSERA__OUTCOME__PASSED
#define F TESSERA__OUTCOME__FAILED

//  A Result built on the test's own storage
typedef struct {
    Tessera__Result result;
    Tessera__TestResult tests[16];
    Tessera__TestResult *pointers[16];
} result_t;

static void
s_result_init(result_t *self)
{
    memset(self, 0, sizeof *self);
    tessera__result__init(&self->result);
    self->result.tests = self->pointers;
}

static void
s_result_add(result_t *self, const char *id, Tessera__Outcome outcome, uint64_t duration_ms)
{
    size_t index = self->result.n_tests++;
    assert_true(index < 16);
    Tessera__TestResult *test = &self->tests[index];
    tessera__test_result__init(test);
    test->id = (char *)id;
    test->outcome = outcome;
    test->duration_ms = duration_ms;
    test->message = (char *)(outcome == F ? "assert 1 == 2" : "");
    self->pointers[index] = test;
}

static tsr_testrun_t *
s_listed(const char *framework, uint32_t repeat, uint32_t retries, const char *const *ids,
         size_t count)
{
    tsr_testrun_t *tests = tsr_testrun_new(framework, repeat, retries);
    tsr_testrun_set_listing(tests, ids, count, NULL, 0);
    return tests;
}

//  Account a result for a shard that runs and expects `ids`
static zlistx_t *
s_account(tsr_testrun_t *tests, char *const *ids, size_t count, result_t *result, const char *agent,
          tsr_testrun_stats_t *stats)
{
    zlistx_t *work = tsr_testrun_work_list_new();
    tsr_testrun_account(tests, ids, count, ids, count, &result->result, agent, "agent-a", work,
                        stats);
    return work;
}

static Tessera__Outcome
s_outcome(tsr_testrun_t *tests, const char *id, bool *flaky)
{
    tsr_test_t *test = tsr_testrun_find(tests, id);
    assert_non_null(test);
    return tsr_testrun_outcome(tests, test, flaky);
}

//  Expected ids of the work item at `position`, joined by spaces
static void
s_work_expect(zlistx_t *work, size_t position, char *text, size_t size)
{
    tsr_testrun_work_t *item = (tsr_testrun_work_t *)zlistx_first(work);
    while (item && position--)
        item = (tsr_testrun_work_t *)zlistx_next(work);
    assert_non_null(item);
    text[0] = '\0';
    for (const char *id = (const char *)zlistx_first(item->expect); id;
         id = (const char *)zlistx_next(item->expect)) {
        if (text[0])
            strncat(text, " ", size - strlen(text) - 1);
        strncat(text, id, size - strlen(text) - 1);
    }
}

static void
test_testrun_listing_keeps_order_and_drops_duplicates(void **state)
{
    (void)state;
    const char *ids[] = {"t/b.py::x", "t/a.py::y", "t/b.py::x", ""};
    const char *errors[] = {"t/c.py: SyntaxError"};
    tsr_testrun_t *tests = tsr_testrun_new("pytest", 0, 0);
    assert_false(tsr_testrun_is_listed(tests));
    tsr_testrun_set_listing(tests, ids, 4, errors, 1);
    assert_true(tsr_testrun_is_listed(tests));
    assert_int_equal(tsr_testrun_size(tests), 2);
    assert_int_equal(tsr_testrun_repeat(tests), 1);
    tsr_test_t *test = tsr_testrun_first(tests);
    assert_string_equal(test->id, "t/b.py::x");
    assert_string_equal(test->group, "t/b.py");
    assert_string_equal(test->unit, "t/b.py::x");
    assert_true(test->listed);
    assert_string_equal(tsr_testrun_next(tests)->id, "t/a.py::y");
    assert_int_equal(tsr_testrun_error_count(tests), 1);
    assert_string_equal(tsr_testrun_error(tests, 0), "t/c.py: SyntaxError");
    //  A collection error fails the job even when every test passes
    assert_int_equal(tsr_testrun_job_outcome(tests, false), TESSERA__OUTCOME__FAILED);
    tsr_testrun_destroy(&tests);
    assert_null(tests);
}

static void
test_testrun_every_listed_test_is_reported_once(void **state)
{
    (void)state;
    const char *ids[] = {"a::1", "a::2", "b::1"};
    tsr_testrun_t *tests = s_listed("pytest", 1, 0, ids, 3);
    tsr_testrun_expect(tests, (char **)ids, 3);
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(tests, &counts);
    assert_int_equal(counts.total, 3);
    assert_int_equal(counts.done, 0);

    result_t result;
    s_result_init(&result);
    s_result_add(&result, "a::1", P, 10);
    s_result_add(&result, "a::2", F, 20);
    s_result_add(&result, "a::2", P, 20); //  a duplicate line: the first counts
    s_result_add(&result, "b::1", TESSERA__OUTCOME__SKIPPED, 0);
    tsr_testrun_stats_t stats;
    zlistx_t *work = s_account(tests, (char **)ids, 3, &result, KEY_A, &stats);
    assert_int_equal(zlistx_size(work), 0);
    assert_int_equal(stats.tries, 3);
    assert_int_equal(stats.passed, 2);
    assert_int_equal(stats.failed, 1);
    assert_int_equal(stats.tests_ms, 30);
    for (tsr_test_t *test = tsr_testrun_first(tests); test; test = tsr_testrun_next(tests)) {
        assert_int_equal(zlistx_size(test->tries), 1);
        assert_int_equal(test->pending, 0);
        assert_true(tsr_testrun_is_final(tests, test));
    }
    tsr_testrun_counts(tests, &counts);
    assert_int_equal(counts.total, 3);
    assert_int_equal(counts.done, 3);
    assert_int_equal(counts.passed, 1);
    assert_int_equal(counts.failed, 1);
    assert_int_equal(counts.skipped, 1);
    assert_int_equal(s_outcome(tests, "a::2", NULL), F);
    assert_int_equal(tsr_testrun_job_outcome(tests, false), TESSERA__OUTCOME__FAILED);
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_unreported_tests_are_requeued_not_counted(void **state)
{
    (void)state;
    const char *ids[] = {"a::1", "a::2", "a::3", "a::4"};
    tsr_testrun_t *tests = s_listed("pytest", 1, 0, ids, 4);
    tsr_testrun_expect(tests, (char **)ids, 4);
    //  The runner crashed in a::2: a::3 and a::4 got no result
    result_t result;
    s_result_init(&result);
    result.result.exit_code = -1;
    result.result.term_signal = 11;
    s_result_add(&result, "a::1", P, 5);
    s_result_add(&result, "a::2", TESSERA__OUTCOME__CRASHED, 1);
    tsr_testrun_stats_t stats;
    zlistx_t *work = s_account(tests, (char **)ids, 4, &result, KEY_A, &stats);
    assert_int_equal(stats.requeued, 2);
    assert_int_equal(zlistx_size(work), 1);
    tsr_testrun_work_t *item = (tsr_testrun_work_t *)zlistx_first(work);
    assert_false(item->retry);
    assert_null(item->avoid_agent);
    char text[256];
    s_work_expect(work, 0, text, sizeof text);
    assert_string_equal(text, "a::3 a::4");
    assert_int_equal(zlistx_size(item->units), 2);
    //  Not a try: they never ran
    assert_int_equal(zlistx_size(tsr_testrun_find(tests, "a::3")->tries), 0);
    assert_int_equal(tsr_testrun_find(tests, "a::3")->not_run, 1);
    assert_int_equal(s_outcome(tests, "a::2", NULL), TESSERA__OUTCOME__CRASHED);
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(tests, &counts);
    assert_int_equal(counts.done, 2);
    assert_int_equal(counts.total, 4);
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_not_run_is_bounded(void **state)
{
    (void)state;
    const char *ids[] = {"a::1"};
    tsr_testrun_t *tests = s_listed("pytest", 1, 5, ids, 1);
    result_t result;
    s_result_init(&result);
    result.result.exit_code = 4;
    uint8_t tail[] = "ERROR: usage: pytest [options]\n";
    result.result.output_tail.data = tail;
    result.result.output_tail.len = sizeof tail - 1;
    tsr_testrun_stats_t stats;
    for (uint32_t round = 1; round <= TSR_TESTRUN_MAX_NOT_RUN; round++) {
        tsr_testrun_expect(tests, (char **)ids, 1);
        zlistx_t *work = s_account(tests, (char **)ids, 1, &result, KEY_A, &stats);
        assert_int_equal(zlistx_size(work), 1);
        assert_int_equal(stats.requeued, 1);
        //  The runner reported nothing: maybe it is broken there
        tsr_testrun_work_t *item = (tsr_testrun_work_t *)zlistx_first(work);
        assert_false(item->retry);
        assert_string_equal(item->avoid_agent, KEY_A);
        zlistx_destroy(&work);
    }
    tsr_testrun_expect(tests, (char **)ids, 1);
    zlistx_t *work = s_account(tests, (char **)ids, 1, &result, KEY_A, &stats);
    //  The last round: ERROR "not run", no retry although retries are left
    assert_int_equal(zlistx_size(work), 0);
    assert_int_equal(stats.not_run, 1);
    tsr_test_t *test = tsr_testrun_find(tests, "a::1");
    assert_int_equal(zlistx_size(test->tries), 1);
    const tsr_test_try_t *try = tsr_testrun_last_try(test);
    assert_int_equal(try->outcome, TESSERA__OUTCOME__ERROR);
    assert_true(try->never_ran);
    assert_non_null(strstr(try->message, "not run"));
    assert_non_null(strstr(try->message, "exited with code 4"));
    assert_non_null(strstr(try->message, "usage: pytest"));
    assert_true(tsr_testrun_is_final(tests, test));
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_unlisted_result_is_added(void **state)
{
    (void)state;
    const char *ids[] = {"t/a.py::x"};
    tsr_testrun_t *tests = s_listed("pytest", 1, 1, ids, 1);
    tsr_testrun_expect(tests, (char **)ids, 1);
    result_t result;
    s_result_init(&result);
    s_result_add(&result, "t/a.py::x", P, 1);
    s_result_add(&result, "t/skipped_module.py", TESSERA__OUTCOME__SKIPPED, 0);
    tsr_testrun_stats_t stats;
    zlistx_t *work = s_account(tests, (char **)ids, 1, &result, KEY_A, &stats);
    assert_int_equal(stats.added, 1);
    assert_int_equal(zlistx_size(work), 0);
    tsr_test_t *added = tsr_testrun_find(tests, "t/skipped_module.py");
    assert_non_null(added);
    assert_false(added->listed);
    assert_null(added->unit); //  nothing listed runs it
    assert_true(tsr_testrun_is_final(tests, added));
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(tests, &counts);
    assert_int_equal(counts.total, 2);
    assert_int_equal(counts.done, 2);
    assert_int_equal(counts.skipped, 1);
    //  Reported again by a later shard: still once
    s_result_init(&result);
    s_result_add(&result, "t/skipped_module.py", TESSERA__OUTCOME__SKIPPED, 0);
    zlistx_destroy(&work);
    work = s_account(tests, NULL, 0, &result, KEY_A, &stats);
    assert_int_equal(zlistx_size(added->tries), 1);
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_failed_test_is_retried_elsewhere_and_flaky(void **state)
{
    (void)state;
    const char *ids[] = {"a::1", "a::2"};
    tsr_testrun_t *tests = s_listed("pytest", 1, 2, ids, 2);
    tsr_testrun_expect(tests, (char **)ids, 2);
    result_t result;
    s_result_init(&result);
    s_result_add(&result, "a::1", P, 1);
    s_result_add(&result, "a::2", F, 2);
    tsr_testrun_stats_t stats;
    zlistx_t *work = s_account(tests, (char **)ids, 2, &result, KEY_A, &stats);
    assert_int_equal(stats.retried, 1);
    assert_int_equal(zlistx_size(work), 1);
    tsr_testrun_work_t *item = (tsr_testrun_work_t *)zlistx_first(work);
    assert_true(item->retry);
    assert_string_equal(item->avoid_agent, KEY_A);
    char text[256];
    s_work_expect(work, 0, text, sizeof text);
    assert_string_equal(text, "a::2");
    tsr_test_t *test = tsr_testrun_find(tests, "a::2");
    tsr_testrun_expect(tests, (char **)&ids[1], 1);
    assert_false(tsr_testrun_is_final(tests, test));

    //  The retry passes: flaky, final outcome PASSED, both tries kept
    s_result_init(&result);
    s_result_add(&result, "a::2", P, 3);
    zlistx_destroy(&work);
    work = s_account(tests, (char **)&ids[1], 1, &result, "BBBB", &stats);
    assert_int_equal(zlistx_size(work), 0);
    bool flaky = false;
    assert_int_equal(s_outcome(tests, "a::2", &flaky), P);
    assert_true(flaky);
    assert_int_equal(zlistx_size(test->tries), 2);
    assert_int_equal(test->retries_used, 1);
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(tests, &counts);
    assert_int_equal(counts.flaky, 1);
    assert_int_equal(counts.passed, 2);
    assert_int_equal(counts.failed, 0);
    assert_int_equal(tsr_testrun_job_outcome(tests, false), TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_testrun_job_outcome(tests, true), TESSERA__OUTCOME__FAILED);

    //  The summary carries every try with its message
    Tessera__ShardSummary *results[4];
    size_t count = 0;
    tsr_testrun_summaries(tests, "py", results, &count);
    assert_int_equal(count, 2);
    assert_string_equal(results[1]->id, "a::2");
    assert_string_equal(results[1]->job, "py");
    assert_string_equal(results[1]->group, "a");
    assert_true(results[1]->flaky);
    assert_int_equal(results[1]->attempts, 2);
    assert_int_equal(results[1]->n_tries, 2);
    assert_int_equal(results[1]->tries[0]->outcome, F);
    assert_string_equal(results[1]->tries[0]->message, "assert 1 == 2");
    assert_string_equal(results[1]->tries[0]->agent, "agent-a");
    assert_int_equal(results[1]->duration_ms, 3);
    for (size_t index = 0; index < count; index++)
        tsr_testrun_summary_free(results[index]);
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_retries_are_bounded(void **state)
{
    (void)state;
    const char *ids[] = {"a::1"};
    tsr_testrun_t *tests = s_listed("pytest", 1, 1, ids, 1);
    result_t result;
    s_result_init(&result);
    s_result_add(&result, "a::1", F, 1);
    tsr_testrun_stats_t stats;
    tsr_testrun_expect(tests, (char **)ids, 1);
    zlistx_t *work = s_account(tests, (char **)ids, 1, &result, KEY_A, &stats);
    assert_int_equal(zlistx_size(work), 1);
    zlistx_destroy(&work);
    tsr_testrun_expect(tests, (char **)ids, 1);
    work = s_account(tests, (char **)ids, 1, &result, KEY_A, &stats);
    assert_int_equal(zlistx_size(work), 0);
    bool flaky = true;
    assert_int_equal(s_outcome(tests, "a::1", &flaky), F);
    assert_false(flaky);
    assert_int_equal(zlistx_size(tsr_testrun_find(tests, "a::1")->tries), 2);
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_repeat_runs_copies_and_finds_flaky(void **state)
{
    (void)state;
    const char *ids[] = {"a::1", "a::2"};
    tsr_testrun_t *tests = s_listed("pytest", 3, 0, ids, 2);
    assert_int_equal(tsr_testrun_repeat(tests), 3);
    for (int copy = 0; copy < 3; copy++)
        tsr_testrun_expect(tests, (char **)ids, 2);
    Tessera__Outcome second[] = {P, F, P};
    for (int copy = 0; copy < 3; copy++) {
        result_t result;
        s_result_init(&result);
        s_result_add(&result, "a::1", F, 1);
        s_result_add(&result, "a::2", second[copy], 1);
        tsr_testrun_stats_t stats;
        zlistx_t *work = s_account(tests, (char **)ids, 2, &result, KEY_A, &stats);
        assert_int_equal(zlistx_size(work), 0);
        zlistx_destroy(&work);
        assert_int_equal(tsr_testrun_is_final(tests, tsr_testrun_find(tests, "a::1")), copy == 2);
    }
    bool flaky = false;
    assert_int_equal(s_outcome(tests, "a::1", &flaky), F); //  all failed
    assert_false(flaky);
    assert_int_equal(s_outcome(tests, "a::2", &flaky), P); //  mixed
    assert_true(flaky);
    assert_int_equal(zlistx_size(tsr_testrun_find(tests, "a::2")->tries), 3);
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(tests, &counts);
    assert_int_equal(counts.total, 2);
    assert_int_equal(counts.failed, 1);
    assert_int_equal(counts.flaky, 1);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_listed_files_are_covered_by_their_tests(void **state)
{
    (void)state;
    //  npm lists files; results are per test, grouped by file
    const char *ids[] = {"test/a.test.js", "test/b.test.js", "test/c.test.js"};
    tsr_testrun_t *tests = s_listed("npm", 1, 1, ids, 3);
    tsr_testrun_expect(tests, (char **)ids, 3);
    result_t result;
    s_result_init(&result);
    s_result_add(&result, "test/a.test.js::A > works", P, 4);
    s_result_add(&result, "test/a.test.js::A > fails", F, 6);
    s_result_add(&result, "test/b.test.js", TESSERA__OUTCOME__ERROR, 0); //  does not load
    tsr_testrun_stats_t stats;
    zlistx_t *work = s_account(tests, (char **)ids, 3, &result, KEY_A, &stats);
    assert_int_equal(stats.added, 2);
    //  c never ran: requeued; the failed member and the failed file retried
    assert_int_equal(zlistx_size(work), 2);
    char text[256];
    s_work_expect(work, 0, text, sizeof text);
    assert_string_equal(text, "test/c.test.js");
    s_work_expect(work, 1, text, sizeof text);
    assert_string_equal(text, "test/b.test.js test/a.test.js::A > fails");
    tsr_testrun_work_t *retry = (tsr_testrun_work_t *)zlistx_last(work);
    //  The member re-runs through its file
    assert_int_equal(zlistx_size(retry->units), 2);
    assert_string_equal((const char *)zlistx_last(retry->units), "test/a.test.js");

    tsr_test_t *file = tsr_testrun_find(tests, "test/a.test.js");
    assert_false(tsr_testrun_is_visible(file)); //  its tests report instead
    assert_null(tsr_testrun_last_try(file));
    assert_int_equal(((tsr_test_try_t *)zlistx_first(file->tries))->duration_ms, 10);
    tsr_test_t *member = tsr_testrun_find(tests, "test/a.test.js::A > fails");
    assert_string_equal(member->unit, "test/a.test.js");
    assert_string_equal(member->group, "test/a.test.js");
    assert_true(tsr_testrun_is_visible(tsr_testrun_find(tests, "test/b.test.js")));

    //  The retry shard: the file runs again, only the expected tests count
    zlistx_t *units = retry->units, *expect = retry->expect;
    char *unit_ids[2] = {(char *)zlistx_first(units), (char *)zlistx_next(units)};
    char *expect_ids[2] = {(char *)zlistx_first(expect), (char *)zlistx_next(expect)};
    tsr_testrun_expect(tests, expect_ids, 2);
    s_result_init(&result);
    s_result_add(&result, "test/a.test.js::A > works", F, 4); //  not expected: ignored
    s_result_add(&result, "test/a.test.js::A > fails", P, 6);
    s_result_add(&result, "test/b.test.js::B > loads now", P, 1); //  b's tests ran
    zlistx_t *next = tsr_testrun_work_list_new();
    tsr_testrun_account(tests, unit_ids, 2, expect_ids, 2, &result.result, "BBBB", "agent-b", next,
                        &stats);
    assert_int_equal(zlistx_size(next), 0);
    bool flaky = false;
    assert_int_equal(s_outcome(tests, "test/a.test.js::A > fails", &flaky), P);
    assert_true(flaky);
    assert_int_equal(s_outcome(tests, "test/a.test.js::A > works", &flaky), P);
    assert_false(flaky);
    //  The file that failed to load, then loaded: flaky
    assert_int_equal(s_outcome(tests, "test/b.test.js", &flaky), P);
    assert_true(flaky);

    tsr_testrun_counts_t counts;
    tsr_testrun_counts(tests, &counts);
    //  a's 2 tests, b (a file with a failed try), b's test, c (still pending)
    assert_int_equal(counts.total, 5);
    assert_int_equal(counts.done, 4);
    zlistx_destroy(&next);
    zlistx_destroy(&work);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_abandon_and_cancel(void **state)
{
    (void)state;
    const char *ids[] = {"a::1", "a::2"};
    tsr_testrun_t *tests = s_listed("cargo", 1, 3, ids, 2);
    tsr_testrun_expect(tests, (char **)&ids[0], 1);
    tsr_testrun_expect(tests, (char **)&ids[1], 1);
    //  Infrastructure gave up on a::1's shard: an ERROR try, no retry
    tsr_testrun_abandon(tests, (char **)&ids[0], 1, TESSERA__OUTCOME__ERROR,
                        "gave up after 4 infrastructure failures", KEY_A, "agent-a");
    tsr_test_t *test = tsr_testrun_find(tests, "a::1");
    assert_int_equal(test->pending, 0);
    assert_int_equal(s_outcome(tests, "a::1", NULL), TESSERA__OUTCOME__ERROR);
    //  The run is cancelled: a::2 never ran
    tsr_testrun_cancel(tests);
    tsr_testrun_abandon(tests, (char **)&ids[1], 1, TESSERA__OUTCOME__CANCELLED, "cancelled", NULL,
                        NULL);
    assert_int_equal(zlistx_size(tsr_testrun_find(tests, "a::2")->tries), 0);
    assert_int_equal(s_outcome(tests, "a::2", NULL), TESSERA__OUTCOME__CANCELLED);
    assert_int_equal(tsr_testrun_job_outcome(tests, false), TESSERA__OUTCOME__CANCELLED);
    tsr_testrun_set_failure(tests, "listing failed: boom");
    assert_string_equal(tsr_testrun_failure(tests), "listing failed: boom");
    assert_int_equal(tsr_testrun_job_outcome(tests, false), TESSERA__OUTCOME__ERROR);
    tsr_testrun_destroy(&tests);
}

static void
test_testrun_long_messages_are_bounded(void **state)
{
    (void)state;
    tsr_testrun_t *tests = tsr_testrun_new("pytest", 1, 0);
    tsr_test_t *test = tsr_testrun_add(tests, "a::1", "a", "a::1", true);
    assert_non_null(test);
    assert_null(tsr_testrun_add(tests, "a::1", "a", "a::1", true));
    size_t size = TSR_TESTRUN_MESSAGE_MAX + 100;
    char *message = (char *)zmalloc(size + 1);
    memset(message, 'x', size);
    //  A two-byte character across the limit is not cut in half
    message[TSR_TESTRUN_MESSAGE_MAX - 1] = (char)0xC3;
    message[TSR_TESTRUN_MESSAGE_MAX] = (char)0xA9;
    tsr_testrun_add_try(test, F, 1, NULL, NULL, message, TSR_TRY_RESULT);
    const tsr_test_try_t *try = tsr_testrun_last_try(test);
    assert_int_equal(strlen(try->message), TSR_TESTRUN_MESSAGE_MAX - 1);
    assert_null(try->agent_name);
    free(message);
    tsr_testrun_destroy(&tests);
}

static void
test_run_summary_of_many_failures_fits_one_message(void **state)
{
    (void)state;
    tsr_digest_t workspace = {{0}, 0};
    tsr_run_t *run = tsr_run_new("run-1", 1, "u", "demo", &workspace, 0);
    Tessera__JobSpec spec = TESSERA__JOB_SPEC__INIT;
    spec.name = (char *)"py";
    spec.framework = (char *)"pytest";
    tsr_job_t *job = tsr_run_add_job(run, &spec, 1);
    assert_non_null(job->tests);
    char *message = (char *)zmalloc(TSR_TESTRUN_MESSAGE_MAX + 1);
    memset(message, 'm', TSR_TESTRUN_MESSAGE_MAX);
    for (int index = 0; index < 2000; index++) {
        char id[32];
        snprintf(id, sizeof id, "t.py::test_%d", index);
        tsr_test_t *test = tsr_testrun_add(job->tests, id, "t.py", id, true);
        tsr_testrun_add_try(test, F, 1, NULL, "a", message, TSR_TRY_RESULT);
    }
    free(message);
    Tessera__RunSummary summary;
    tsr_run_summary(run, 0, true, &summary);
    assert_int_equal(summary.n_results, 2000);
    assert_int_equal(summary.failed, 2000);
    size_t total = 0;
    for (size_t index = 0; index < summary.n_results; index++)
        total += strlen(summary.results[index]->tries[0]->message);
    assert_true(total <= TSR_RUN_SUMMARY_TEXT_BYTES);
    assert_true(strlen(summary.results[0]->tries[0]->message) >= 256);
    Tessera__WatchReply reply = TESSERA__WATCH_REPLY__INIT;
    reply.summary = &summary;
    assert_true(tessera__watch_reply__get_packed_size(&reply) < (6u << 20));
    tsr_run_summary_clear(&summary);
    tsr_run_destroy(&run);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_testrun_listing_keeps_order_and_drops_duplicates),
        cmocka_unit_test(test_testrun_every_listed_test_is_reported_once),
        cmocka_unit_test(test_testrun_unreported_tests_are_requeued_not_counted),
        cmocka_unit_test(test_testrun_not_run_is_bounded),
        cmocka_unit_test(test_testrun_unlisted_result_is_added),
        cmocka_unit_test(test_testrun_failed_test_is_retried_elsewhere_and_flaky),
        cmocka_unit_test(test_testrun_retries_are_bounded),
        cmocka_unit_test(test_testrun_repeat_runs_copies_and_finds_flaky),
        cmocka_unit_test(test_testrun_listed_files_are_covered_by_their_tests),
        cmocka_unit_test(test_testrun_abandon_and_cancel),
        cmocka_unit_test(test_testrun_long_messages_are_bounded),
        cmocka_unit_test(test_run_summary_of_many_failures_fits_one_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
