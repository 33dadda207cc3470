/*  Unit tests for tsr_report's terminal output: the failures and flaky
    tests (tsr_report_print_failures) with their limits and with terminal
    escapes removed, the totals line (tsr_report_print_totals), and write
    errors. Shared fixtures: tests/support/tsr_report_fixture.              */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_report_fixture.h"

//  What `print` writes for `report`, as a new string
static char *
s_capture_failures(tsr_report_t *report, size_t max_failures, size_t max_lines)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(tsr_report_print_failures(report, out, max_failures, max_lines), TSR_OK);
    fclose(out);
    return text;
}

static void
test_report_print_failures_shows_the_first_failures(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    char *text = s_capture_failures(report, 2, 1);
    const char *expected = "FAILED tests/unit/test_a.py::test_fail (job py, 0.030 s, agent a2, "
                           "2 attempts)\n"
                           "    assert 1 == 3\n"
                           "TIMED_OUT tests/test_b.py::test_hang (job py, 5.000 s, agent a2, "
                           "2 attempts)\n"
                           "    timed out after 5 s (second)\n"
                           "... and 3 more failed tests\n"
                           "FLAKY tests/unit/test_a.py::test_flaky (job py, 1 of 2 attempts "
                           "failed)\n"
                           "    boom first\n"
                           "FLAKY unit_bin::parser::tests::flaky_io (job rs, 1 of 2 attempts "
                           "failed)\n"
                           "    test timed out\n";
    assert_string_equal(text, expected);
    free(text);

    //  Everything, with more lines of each message
    text = s_capture_failures(report, 10, 5);
    assert_non_null(strstr(text, "    assert 1 == 3\n    E second\n"));
    assert_non_null(strstr(text, "CRASHED tests/test_b.py::test_segv (job py, 0.001 s, agent a1)"));
    assert_non_null(strstr(text, "ERROR integration::smoke (job rs, 0.000 s)\n"));
    assert_non_null(strstr(text, "FAILED shard-0 (job sh, 1.500 s, agent a1)\n    exit code 1\n"));
    assert_null(strstr(text, "more failed"));
    free(text);
    tsr_report_destroy(&report);
}

static void
test_report_print_failures_cleans_terminal_escapes(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r");
    tsr_report_test_t *test =
        tsr_report_add_test(report, "evil\x1b]0;owned\x07", "j", NULL, FAILED, 0, NULL);
    tsr_report_test_add_attempt(test, FAILED, 0, NULL, "\x1b[2J\x1b[31mred\x1b[0m\n\n\nsecond");
    char *text = s_capture_failures(report, 5, 5);
    assert_null(strchr(text, 0x1b));
    assert_null(strchr(text, 0x07));
    assert_string_equal(text, "FAILED evil (job j, 0.000 s)\n    red\n    second\n");
    free(text);
    tsr_report_destroy(&report);
}

static void
test_report_print_failures_is_silent_when_nothing_failed(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r");
    tsr_report_test_t *test = tsr_report_add_test(report, "t", "j", NULL, PASSED, 0, NULL);
    tsr_report_test_add_attempt(test, PASSED, 0, NULL, NULL);
    test = tsr_report_add_test(report, "s", "j", NULL, SKIPPED, 0, NULL);
    char *text = s_capture_failures(report, 5, 5);
    assert_string_equal(text, "");
    free(text);
    tsr_report_destroy(&report);
}

static void
test_report_print_totals_sums_up_the_run(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_int_equal(tsr_report_print_totals(report, out), TSR_OK);
    fclose(out);
    assert_string_equal(text, "14 tests: 6 passed (2 flaky), 5 failed, 3 skipped; "
                              "6 shards (2 cached); 12.345 s\n");
    free(text);
    tsr_report_destroy(&report);

    report = tsr_report_new("r");
    tsr_report_set_shards(report, 1, 0);
    out = open_memstream(&text, &size);
    assert_int_equal(tsr_report_print_totals(report, out), TSR_OK);
    fclose(out);
    assert_string_equal(text, "0 tests: 0 passed, 0 failed, 0 skipped; 1 shard; 0.000 s\n");
    free(text);
    tsr_report_destroy(&report);
}

static void
test_report_print_reports_write_errors(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    FILE *full = fopen("/dev/full", "w");
    if (!full) {
        tsr_report_destroy(&report);
        skip();
    }
    setvbuf(full, NULL, _IONBF, 0);
    assert_int_equal(tsr_report_print_failures(report, full, 10, 10), -EIO);
    fclose(full);
    tsr_report_destroy(&report);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_print_failures_shows_the_first_failures),
        cmocka_unit_test(test_report_print_failures_cleans_terminal_escapes),
        cmocka_unit_test(test_report_print_failures_is_silent_when_nothing_failed),
        cmocka_unit_test(test_report_print_totals_sums_up_the_run),
        cmocka_unit_test(test_report_print_reports_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
