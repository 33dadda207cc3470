/*  Unit tests for tsr_backoff: 1 s doubling to 32 s, jitter within +-25%. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsr_backoff.h"

static void
test_backoff_doubles_from_one_second(void **state)
{
    (void)state;
    const uint32_t middle = UINT32_MAX / 2 + 1; //  no jitter
    assert_int_equal(tsr_backoff_delay_ms(1, middle), 1000);
    assert_int_equal(tsr_backoff_delay_ms(2, middle), 2000);
    assert_int_equal(tsr_backoff_delay_ms(3, middle), 4000);
    assert_int_equal(tsr_backoff_delay_ms(6, middle), 32000);
}

static void
test_backoff_is_capped_at_32_seconds(void **state)
{
    (void)state;
    const uint32_t middle = UINT32_MAX / 2 + 1;
    assert_int_equal(tsr_backoff_delay_ms(7, middle), 32000);
    assert_int_equal(tsr_backoff_delay_ms(1000, middle), 32000);
    assert_true(tsr_backoff_delay_ms(UINT32_MAX, UINT32_MAX) < 40000);
}

static void
test_backoff_jitter_stays_within_a_quarter(void **state)
{
    (void)state;
    for (unsigned failures = 1; failures <= 8; failures++) {
        uint64_t low = tsr_backoff_delay_ms(failures, 0);
        uint64_t high = tsr_backoff_delay_ms(failures, UINT32_MAX);
        uint64_t nominal = tsr_backoff_delay_ms(failures, UINT32_MAX / 2 + 1);
        assert_int_equal(low, nominal - nominal / 4);
        assert_true(high < nominal + nominal / 4);
        assert_true(high > low);
    }
}

static void
test_backoff_without_failures_is_zero(void **state)
{
    (void)state;
    assert_int_equal(tsr_backoff_delay_ms(0, 12345), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_from_one_second),
        cmocka_unit_test(test_backoff_is_capped_at_32_seconds),
        cmocka_unit_test(test_backoff_jitter_stays_within_a_quarter),
        cmocka_unit_test(test_backoff_without_failures_is_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
