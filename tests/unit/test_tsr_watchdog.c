/*  Unit tests for tsr_watchdog: the "no progress" limit of a test runner
    as a pure function of output sizes and time.                           */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsr_watchdog.h"

static void
test_watchdog_expires_after_limit_without_output(void **state)
{
    (void)state;
    tsr_watchdog_t watchdog;
    tsr_watchdog_start(&watchdog, 1000, 0, 5000);
    assert_false(tsr_watchdog_update(&watchdog, 0, 5000));
    assert_false(tsr_watchdog_update(&watchdog, 0, 5999));
    assert_int_equal(tsr_watchdog_remaining_ms(&watchdog, 5999), 1);
    assert_true(tsr_watchdog_update(&watchdog, 0, 6000));
    assert_int_equal(tsr_watchdog_remaining_ms(&watchdog, 6000), 0);
    assert_true(tsr_watchdog_update(&watchdog, 0, 9000));
}

static void
test_watchdog_growth_restarts_the_limit(void **state)
{
    (void)state;
    tsr_watchdog_t watchdog;
    tsr_watchdog_start(&watchdog, 1000, 100, 0);
    assert_false(tsr_watchdog_update(&watchdog, 150, 900));
    //  Silent since 900, not since the start
    assert_false(tsr_watchdog_update(&watchdog, 150, 1500));
    assert_int_equal(tsr_watchdog_remaining_ms(&watchdog, 1500), 400);
    assert_false(tsr_watchdog_update(&watchdog, 200, 1899));
    assert_false(tsr_watchdog_update(&watchdog, 200, 2800));
    assert_true(tsr_watchdog_update(&watchdog, 200, 2899));
}

static void
test_watchdog_counts_a_shrinking_output_as_progress(void **state)
{
    (void)state;
    //  A new command truncates its report: a change, not silence
    tsr_watchdog_t watchdog;
    tsr_watchdog_start(&watchdog, 500, 4096, 0);
    assert_false(tsr_watchdog_update(&watchdog, 10, 499));
    assert_false(tsr_watchdog_update(&watchdog, 10, 998));
    assert_true(tsr_watchdog_update(&watchdog, 10, 999));
}

static void
test_watchdog_without_limit_never_expires(void **state)
{
    (void)state;
    tsr_watchdog_t watchdog;
    tsr_watchdog_start(&watchdog, 0, 0, 0);
    assert_false(tsr_watchdog_update(&watchdog, 0, INT64_MAX / 2));
    assert_int_equal(tsr_watchdog_remaining_ms(&watchdog, 123456), -1);
}

static void
test_watchdog_tolerates_time_going_back(void **state)
{
    (void)state;
    tsr_watchdog_t watchdog;
    tsr_watchdog_start(&watchdog, 100, 0, 1000);
    assert_false(tsr_watchdog_update(&watchdog, 0, 500));
    assert_int_equal(tsr_watchdog_remaining_ms(&watchdog, 500), 100);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watchdog_expires_after_limit_without_output),
        cmocka_unit_test(test_watchdog_growth_restarts_the_limit),
        cmocka_unit_test(test_watchdog_counts_a_shrinking_output_as_progress),
        cmocka_unit_test(test_watchdog_without_limit_never_expires),
        cmocka_unit_test(test_watchdog_tolerates_time_going_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
