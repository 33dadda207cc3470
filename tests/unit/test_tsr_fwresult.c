/*  Unit tests for tsr_fwresult: which test a dead runner was in, and how
    it is marked (TIMED_OUT, CRASHED) for pytest-like and npm-like ids.    */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>

#include "tsr_fwresult.h"

static zlistx_t *
s_ids(const char *const *ids)
{
    zlistx_t *list = zlistx_new(); //  borrowed strings
    for (size_t index = 0; ids[index]; index++)
        zlistx_add_end(list, (void *)ids[index]);
    return list;
}

static const char *const s_pytest_ids[] = {"t/test_a.py::test_1", "t/test_a.py::test_2",
                                           "t/test_b.py::test_3", "t/test_b.py::test_4", NULL};

static void
test_fwresult_unfinished_is_the_first_id_without_result(void **state)
{
    (void)state;
    const tsr_framework_t *pytest = tsr_framework_find("pytest");
    zlistx_t *ids = s_ids(s_pytest_ids);
    tsr_results_t *results = tsr_results_new();
    assert_string_equal(tsr_fwresult_unfinished(pytest, ids, results), "t/test_a.py::test_1");
    tsr_results_add(results, "t/test_a.py::test_1", TESSERA__OUTCOME__PASSED, 3, NULL);
    //  A result for a test that was not asked for covers nothing here
    tsr_results_add(results, "t/test_c.py", TESSERA__OUTCOME__SKIPPED, 0, NULL);
    assert_string_equal(tsr_fwresult_unfinished(pytest, ids, results), "t/test_a.py::test_2");
    tsr_results_add(results, "t/test_a.py::test_2", TESSERA__OUTCOME__FAILED, 3, "boom");
    tsr_results_add(results, "t/test_b.py::test_3", TESSERA__OUTCOME__PASSED, 3, NULL);
    tsr_results_add(results, "t/test_b.py::test_4", TESSERA__OUTCOME__PASSED, 3, NULL);
    assert_null(tsr_fwresult_unfinished(pytest, ids, results));
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
}

static void
test_fwresult_interrupted_by_timeout_signal_or_early_error_exit(void **state)
{
    (void)state;
    tsr_fwresult_end_t end = {.exit_code = 0};
    assert_false(tsr_fwresult_interrupted(&end, false));
    assert_false(tsr_fwresult_interrupted(&end, true)); //  exit 0: the ids just did not run
    end.exit_code = 1;
    assert_false(tsr_fwresult_interrupted(&end, false)); //  tests failed, all reported
    assert_true(tsr_fwresult_interrupted(&end, true));   //  exited before reporting all
    end = (tsr_fwresult_end_t){.exit_code = -1, .term_signal = SIGSEGV};
    assert_true(tsr_fwresult_interrupted(&end, false));
    end = (tsr_fwresult_end_t){.exit_code = -1};
    assert_true(tsr_fwresult_interrupted(&end, false));
    end = (tsr_fwresult_end_t){.timed_out = true, .exit_code = -1, .term_signal = SIGTERM};
    assert_true(tsr_fwresult_interrupted(&end, false));
}

static void
test_fwresult_marks_the_hung_test_timed_out_and_leaves_the_rest(void **state)
{
    (void)state;
    const tsr_framework_t *pytest = tsr_framework_find("pytest");
    zlistx_t *ids = s_ids(s_pytest_ids);
    tsr_results_t *results = tsr_results_new();
    tsr_results_add(results, "t/test_a.py::test_1", TESSERA__OUTCOME__PASSED, 3, NULL);
    tsr_fwresult_end_t end = {.timed_out = true,
                              .exit_code = -1,
                              .term_signal = SIGTERM,
                              .silence_ms = 2500,
                              .output_tail = "collected 4 items\nt/test_a.py ."};
    const char *marked = tsr_fwresult_mark(pytest, ids, results, &end);
    assert_string_equal(marked, "t/test_a.py::test_2");
    assert_int_equal(tsr_results_size(results), 2);
    const tsr_test_result_t *hung = tsr_results_find(results, "t/test_a.py::test_2");
    assert_int_equal(hung->outcome, TESSERA__OUTCOME__TIMED_OUT);
    assert_int_equal(hung->duration_ms, 2500);
    assert_non_null(strstr(hung->message, "no output for 2.5 s"));
    assert_non_null(strstr(hung->message, "collected 4 items"));
    assert_null(tsr_results_find(results, "t/test_b.py::test_3"));
    //  Marking again changes nothing: one marked test per run
    assert_null(tsr_fwresult_mark(pytest, ids, results, &end));
    assert_int_equal(tsr_results_size(results), 2);
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
}

static void
test_fwresult_marks_a_crash_by_signal_or_early_exit(void **state)
{
    (void)state;
    const tsr_framework_t *pytest = tsr_framework_find("pytest");
    zlistx_t *ids = s_ids(s_pytest_ids);
    tsr_results_t *results = tsr_results_new();
    tsr_results_add(results, "t/test_a.py::test_1", TESSERA__OUTCOME__PASSED, 3, NULL);
    tsr_results_add(results, "t/test_a.py::test_2", TESSERA__OUTCOME__PASSED, 3, NULL);
    tsr_fwresult_end_t end = {.exit_code = -1, .term_signal = SIGSEGV};
    assert_string_equal(tsr_fwresult_mark(pytest, ids, results, &end), "t/test_b.py::test_3");
    const tsr_test_result_t *crashed = tsr_results_find(results, "t/test_b.py::test_3");
    assert_int_equal(crashed->outcome, TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(crashed->message, "signal 11"));
    tsr_results_destroy(&results);

    //  os._exit(3) in a test: an error exit with tests unreported
    results = tsr_results_new();
    end = (tsr_fwresult_end_t){.exit_code = 3};
    assert_string_equal(tsr_fwresult_mark(pytest, ids, results, &end), "t/test_a.py::test_1");
    crashed = tsr_results_find(results, "t/test_a.py::test_1");
    assert_int_equal(crashed->outcome, TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(crashed->message, "exited with code 3"));
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
}

static void
test_fwresult_leaves_finished_or_self_marked_runs_alone(void **state)
{
    (void)state;
    const tsr_framework_t *pytest = tsr_framework_find("pytest");
    zlistx_t *ids = s_ids(s_pytest_ids);
    tsr_results_t *results = tsr_results_new();
    //  Exit 0 with ids unreported: nothing crashed (the coordinator re-runs them)
    tsr_fwresult_end_t end = {.exit_code = 0};
    assert_null(tsr_fwresult_mark(pytest, ids, results, &end));
    //  Tests failed, every one reported
    for (size_t index = 0; s_pytest_ids[index]; index++)
        tsr_results_add(results, s_pytest_ids[index], TESSERA__OUTCOME__FAILED, 1, "x");
    end.exit_code = 1;
    assert_null(tsr_fwresult_mark(pytest, ids, results, &end));
    tsr_results_destroy(&results);
    //  An adapter that marked the test itself
    results = tsr_results_new();
    tsr_results_add(results, "t/test_a.py::test_1", TESSERA__OUTCOME__CRASHED, 1, "segv");
    end = (tsr_fwresult_end_t){.exit_code = -1, .term_signal = SIGSEGV};
    assert_null(tsr_fwresult_mark(pytest, ids, results, &end));
    assert_int_equal(tsr_results_size(results), 1);
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
}

static void
test_fwresult_files_are_covered_by_their_tests_and_marked_by_file(void **state)
{
    (void)state;
    const tsr_framework_t *npm = tsr_framework_find("npm");
    static const char *const files[] = {"test/a.test.js", "test/b.test.js", "test/c.test.js", NULL};
    zlistx_t *ids = s_ids(files);
    tsr_results_t *results = tsr_results_new();
    tsr_results_add(results, "test/a.test.js::suite > one", TESSERA__OUTCOME__PASSED, 1, NULL);
    assert_string_equal(tsr_fwresult_unfinished(npm, ids, results), "test/b.test.js");
    //  Hung in b after one of its tests: b is the running file
    tsr_results_add(results, "test/b.test.js::suite > one", TESSERA__OUTCOME__PASSED, 1, NULL);
    tsr_fwresult_end_t end = {.timed_out = true, .exit_code = -1, .silence_ms = 1000};
    assert_string_equal(tsr_fwresult_mark(npm, ids, results, &end), "test/b.test.js");
    assert_int_equal(tsr_results_find(results, "test/b.test.js")->outcome,
                     TESSERA__OUTCOME__TIMED_OUT);
    assert_null(tsr_results_find(results, "test/c.test.js"));
    tsr_results_destroy(&results);

    //  Hung in the last file after some of its tests: every file is covered
    results = tsr_results_new();
    for (size_t index = 0; files[index]; index++) {
        char *id = zsys_sprintf("%s::suite > one", files[index]);
        tsr_results_add(results, id, TESSERA__OUTCOME__PASSED, 1, NULL);
        free(id);
    }
    assert_null(tsr_fwresult_unfinished(npm, ids, results));
    assert_string_equal(tsr_fwresult_mark(npm, ids, results, &end), "test/c.test.js");
    tsr_results_destroy(&results);
    //  ... but a run that merely failed a test marks nothing
    results = tsr_results_new();
    tsr_results_add(results, "test/a.test.js::x", TESSERA__OUTCOME__FAILED, 1, NULL);
    tsr_results_add(results, "test/b.test.js::x", TESSERA__OUTCOME__PASSED, 1, NULL);
    tsr_results_add(results, "test/c.test.js::x", TESSERA__OUTCOME__PASSED, 1, NULL);
    tsr_fwresult_end_t failed = {.exit_code = 1};
    assert_null(tsr_fwresult_mark(npm, ids, results, &failed));
    tsr_results_destroy(&results);

    //  Nothing reported: the first file was running
    results = tsr_results_new();
    assert_string_equal(tsr_fwresult_mark(npm, ids, results, &end), "test/a.test.js");
    tsr_results_destroy(&results);

    //  The adapter already gave the running file a result of its own
    results = tsr_results_new();
    tsr_results_add(results, "test/a.test.js", TESSERA__OUTCOME__ERROR, 1, "did not load");
    end = (tsr_fwresult_end_t){.exit_code = -1, .term_signal = SIGKILL};
    assert_null(tsr_fwresult_mark(npm, ids, results, &end));
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
}

static void
test_fwresult_quotes_only_the_end_of_a_long_output(void **state)
{
    (void)state;
    const tsr_framework_t *pytest = tsr_framework_find("pytest");
    zlistx_t *ids = s_ids(s_pytest_ids);
    tsr_results_t *results = tsr_results_new();
    char tail[4097];
    for (size_t index = 0; index < sizeof tail - 1; index++)
        tail[index] = index % 64 == 63 ? '\n' : '0' + (char)(index / 1024);
    tail[sizeof tail - 1] = 0;
    tsr_fwresult_end_t end = {.exit_code = -1, .term_signal = SIGABRT, .output_tail = tail};
    assert_non_null(tsr_fwresult_mark(pytest, ids, results, &end));
    const char *message = tsr_results_at(results, 0)->message;
    assert_true(strlen(message) < 2048);
    assert_null(strchr(message, '0')); //  the start of the output is not quoted
    assert_non_null(strstr(message, "\n333"));
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fwresult_unfinished_is_the_first_id_without_result),
        cmocka_unit_test(test_fwresult_interrupted_by_timeout_signal_or_early_error_exit),
        cmocka_unit_test(test_fwresult_marks_the_hung_test_timed_out_and_leaves_the_rest),
        cmocka_unit_test(test_fwresult_marks_a_crash_by_signal_or_early_exit),
        cmocka_unit_test(test_fwresult_leaves_finished_or_self_marked_runs_alone),
        cmocka_unit_test(test_fwresult_files_are_covered_by_their_tests_and_marked_by_file),
        cmocka_unit_test(test_fwresult_quotes_only_the_end_of_a_long_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
