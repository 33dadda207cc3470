/*  Unit tests for tsr_local_plan: cache directory and CPU split.          */
#define _GNU_SOURCE //  cpu_set_t (tsr_cpuset.h)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_local_plan.h"

static void
test_local_plan_cache_dir_prefers_absolute_xdg(void **state)
{
    (void)state;
    char *dir = tsr_local_plan_cache_dir("/x/cache", "/home/u");
    assert_string_equal(dir, "/x/cache/tessera");
    free(dir);
    dir = tsr_local_plan_cache_dir("relative", "/home/u");
    assert_string_equal(dir, "/home/u/.cache/tessera");
    free(dir);
    dir = tsr_local_plan_cache_dir(NULL, "/home/u");
    assert_string_equal(dir, "/home/u/.cache/tessera");
    free(dir);
    assert_null(tsr_local_plan_cache_dir(NULL, NULL));
    assert_null(tsr_local_plan_cache_dir("", ""));
}

//  The cpulist of agent `index` of `count` over `allowed`.
static void
s_expect(const char *allowed_text, unsigned count, unsigned index, const char *expected)
{
    tsr_cpuset_t allowed, cpus;
    assert_int_equal(tsr_cpuset_parse(allowed_text, &allowed), TSR_OK);
    tsr_local_plan_cpus(&allowed, count, index, &cpus);
    char text[256];
    assert_int_equal(tsr_cpuset_format(&cpus, text, sizeof text), TSR_OK);
    assert_string_equal(text, expected);
}

static void
test_local_plan_cpus_split_contiguously(void **state)
{
    (void)state;
    s_expect("0-15", 1, 0, "0-15");
    s_expect("0-15", 2, 0, "0-7");
    s_expect("0-15", 2, 1, "8-15");
    s_expect("0-9", 3, 0, "0-3"); //  10 = 4 + 3 + 3
    s_expect("0-9", 3, 1, "4-6");
    s_expect("0-9", 3, 2, "7-9");
    s_expect("2,4,6,8", 2, 1, "6,8"); //  the allowed CPUs, not 0..n-1
}

static void
test_local_plan_more_agents_than_cpus_share(void **state)
{
    (void)state;
    s_expect("0-1", 4, 0, "0");
    s_expect("0-1", 4, 1, "1");
    s_expect("0-1", 4, 2, "0");
    s_expect("0-1", 4, 3, "1");
    s_expect("5", 2, 1, "5");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_plan_cache_dir_prefers_absolute_xdg),
        cmocka_unit_test(test_local_plan_cpus_split_contiguously),
        cmocka_unit_test(test_local_plan_more_agents_than_cpus_share),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
