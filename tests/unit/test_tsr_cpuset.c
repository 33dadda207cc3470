/*  Unit tests for tsr_cpuset: Linux cpulist parsing and formatting, nth,
    and this process's affinity.                                            */
#define _GNU_SOURCE //  cpu_set_t
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_cpuset.h"

static void
test_cpuset_parse_single(void **state)
{
    (void)state;
    tsr_cpuset_t set;
    assert_int_equal(tsr_cpuset_parse("0", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_count(&set), 1);
    assert_true(tsr_cpuset_has(&set, 0));
    assert_false(tsr_cpuset_has(&set, 1));
}

static void
test_cpuset_parse_ranges_and_singles(void **state)
{
    (void)state;
    tsr_cpuset_t set;
    assert_int_equal(tsr_cpuset_parse("0-3,8,10-11", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_count(&set), 7);
    for (unsigned cpu = 0; cpu <= 3; cpu++)
        assert_true(tsr_cpuset_has(&set, cpu));
    assert_false(tsr_cpuset_has(&set, 4));
    assert_true(tsr_cpuset_has(&set, 8));
    assert_false(tsr_cpuset_has(&set, 9));
    assert_true(tsr_cpuset_has(&set, 10));
    assert_true(tsr_cpuset_has(&set, 11));
    assert_false(tsr_cpuset_has(&set, 12));
    assert_false(tsr_cpuset_has(&set, CPU_SETSIZE + 5)); //  out of range is just absent

    //  Overlaps and a one-CPU range are fine; the largest CPU fits
    assert_int_equal(tsr_cpuset_parse("2-2,1-3,1023", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_count(&set), 4);
    assert_true(tsr_cpuset_has(&set, 1023));
}

static void
test_cpuset_parse_tolerates_outer_whitespace(void **state)
{
    (void)state;
    tsr_cpuset_t set;
    //  As read from /sys/devices/system/cpu/online
    assert_int_equal(tsr_cpuset_parse("0-7\n", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_count(&set), 8);
    assert_int_equal(tsr_cpuset_parse(" \t4,6 \n", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_count(&set), 2);
    assert_true(tsr_cpuset_has(&set, 4));
    assert_true(tsr_cpuset_has(&set, 6));
}

static void
test_cpuset_parse_rejects_bad_syntax(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",       "   \n", "3-1",  "a",     "1,",
        ",1",     "-1",    "1-",   "99999", "1024",
        "0-1024", "1,,2",  "1 ,2", "1, 2",  "1-2-3",
        "0x1",    "+1",    "1-a",  "0-3:2", "18446744073709551617",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        tsr_cpuset_t set;
        tsr_cpuset_clear(&set);
        tsr_cpuset_add(&set, 5);
        if (tsr_cpuset_parse(bad[index], &set) != TSR_EINVAL)
            fail_msg("accepted '%s'", bad[index]);
        //  *out unchanged on failure
        assert_int_equal(tsr_cpuset_count(&set), 1);
        assert_true(tsr_cpuset_has(&set, 5));
    }
}

static void
test_cpuset_format_round_trips(void **state)
{
    (void)state;
    static const char *lists[] = {"0", "0-3,8,10-11", "1,3,5", "0-1023", "7,1023"};
    for (size_t index = 0; index < sizeof lists / sizeof lists[0]; index++) {
        tsr_cpuset_t set;
        char text[8192];
        assert_int_equal(tsr_cpuset_parse(lists[index], &set), TSR_OK);
        assert_int_equal(tsr_cpuset_format(&set, text, sizeof text), TSR_OK);
        assert_string_equal(text, lists[index]);
    }
    //  Formatting normalises
    tsr_cpuset_t set;
    char text[64];
    assert_int_equal(tsr_cpuset_parse("3,2,1,0,9-10,5", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_format(&set, text, sizeof text), TSR_OK);
    assert_string_equal(text, "0-3,5,9-10");
    tsr_cpuset_clear(&set);
    assert_int_equal(tsr_cpuset_format(&set, text, sizeof text), TSR_OK);
    assert_string_equal(text, "");
}

static void
test_cpuset_format_reports_too_small(void **state)
{
    (void)state;
    tsr_cpuset_t set;
    assert_int_equal(tsr_cpuset_parse("0-3,8,10-11", &set), TSR_OK);
    char text[12]; //  "0-3,8,10-11" needs 12 with the NUL
    assert_int_equal(tsr_cpuset_format(&set, text, sizeof text), TSR_OK);
    assert_string_equal(text, "0-3,8,10-11");
    assert_int_equal(tsr_cpuset_format(&set, text, 11), TSR_ETOOBIG);
    assert_string_equal(text, ""); //  never a truncated list
    assert_int_equal(tsr_cpuset_format(&set, text, 2), TSR_ETOOBIG);
    assert_int_equal(tsr_cpuset_format(&set, text, 0), TSR_ETOOBIG);
}

static void
test_cpuset_nth_in_ascending_order(void **state)
{
    (void)state;
    tsr_cpuset_t set;
    assert_int_equal(tsr_cpuset_parse("10-11,3,0", &set), TSR_OK);
    assert_int_equal(tsr_cpuset_nth(&set, 0), 0);
    assert_int_equal(tsr_cpuset_nth(&set, 1), 3);
    assert_int_equal(tsr_cpuset_nth(&set, 2), 10);
    assert_int_equal(tsr_cpuset_nth(&set, 3), 11);
    assert_int_equal(tsr_cpuset_nth(&set, 4), -1);
    tsr_cpuset_clear(&set);
    assert_int_equal(tsr_cpuset_nth(&set, 0), -1);
    assert_int_equal(tsr_cpuset_count(&set), 0);
}

static void
test_cpuset_self_matches_affinity(void **state)
{
    (void)state;
    tsr_cpuset_t set;
    assert_int_equal(tsr_cpuset_self(&set), TSR_OK);
    assert_true(tsr_cpuset_count(&set) >= 1);
    cpu_set_t expected;
    assert_int_equal(sched_getaffinity(0, sizeof expected, &expected), 0);
    assert_int_equal(tsr_cpuset_count(&set), (size_t)CPU_COUNT(&expected));
    int first = tsr_cpuset_nth(&set, 0);
    assert_true(first >= 0);
    assert_true(CPU_ISSET((unsigned)first, &expected));

    //  Its cpulist text parses back to the same set
    char text[8192];
    tsr_cpuset_t again;
    assert_int_equal(tsr_cpuset_format(&set, text, sizeof text), TSR_OK);
    assert_int_equal(tsr_cpuset_parse(text, &again), TSR_OK);
    assert_true(CPU_EQUAL(&set.set, &again.set));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuset_parse_single),
        cmocka_unit_test(test_cpuset_parse_ranges_and_singles),
        cmocka_unit_test(test_cpuset_parse_tolerates_outer_whitespace),
        cmocka_unit_test(test_cpuset_parse_rejects_bad_syntax),
        cmocka_unit_test(test_cpuset_format_round_trips),
        cmocka_unit_test(test_cpuset_format_reports_too_small),
        cmocka_unit_test(test_cpuset_nth_in_ascending_order),
        cmocka_unit_test(test_cpuset_self_matches_affinity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
