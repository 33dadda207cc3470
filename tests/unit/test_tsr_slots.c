/*  Unit tests for tsr_slots: one slot per CPU, allocation and release.     */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tsr_slots.h"

static void
test_slots_sorts_and_dedups_cpus(void **state)
{
    (void)state;
    const unsigned cpus[] = {7, 2, 5, 2};
    tsr_slots_t *slots = tsr_slots_new(cpus, 4);
    assert_int_equal(tsr_slots_count(slots), 3);
    assert_int_equal(tsr_slots_free(slots), 3);
    assert_int_equal(tsr_slots_cpu(slots, 0), 2);
    assert_int_equal(tsr_slots_cpu(slots, 1), 5);
    assert_int_equal(tsr_slots_cpu(slots, 2), 7);
    tsr_slots_destroy(&slots);
    assert_null(slots);
    tsr_slots_destroy(&slots); //  NULL-safe
}

static void
test_slots_take_gives_lowest_free_cpus(void **state)
{
    (void)state;
    const unsigned cpus[] = {0, 1, 2, 3};
    tsr_slots_t *slots = tsr_slots_new(cpus, 4);
    unsigned got[4];
    assert_int_equal(tsr_slots_take(slots, 10, 1, got), TSR_OK);
    assert_int_equal(got[0], 0);
    assert_int_equal(tsr_slots_take(slots, 11, 2, got), TSR_OK);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 2);
    assert_int_equal(tsr_slots_free(slots), 1);
    assert_int_equal(tsr_slots_held(slots, 11), 2);
    //  Freed slots are reused, lowest first
    assert_int_equal(tsr_slots_release(slots, 10), 1);
    assert_int_equal(tsr_slots_take(slots, 12, 2, got), TSR_OK);
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 3);
    assert_int_equal(tsr_slots_free(slots), 0);
    tsr_slots_destroy(&slots);
}

static void
test_slots_take_refuses_when_not_enough_free(void **state)
{
    (void)state;
    const unsigned cpus[] = {4, 5};
    tsr_slots_t *slots = tsr_slots_new(cpus, 2);
    unsigned got[3] = {99, 99, 99};
    assert_int_equal(tsr_slots_take(slots, 1, 3, got), TSR_EFULL);
    assert_int_equal(got[0], 99); //  nothing taken
    assert_int_equal(tsr_slots_free(slots), 2);
    assert_int_equal(tsr_slots_take(slots, 1, 1, got), TSR_OK);
    assert_int_equal(tsr_slots_take(slots, 2, 2, got), TSR_EFULL);
    assert_int_equal(tsr_slots_held(slots, 2), 0);
    tsr_slots_destroy(&slots);
}

static void
test_slots_take_rejects_bad_requests(void **state)
{
    (void)state;
    const unsigned cpus[] = {0, 1};
    tsr_slots_t *slots = tsr_slots_new(cpus, 2);
    unsigned got[2];
    assert_int_equal(tsr_slots_take(slots, 1, 0, got), TSR_EINVAL); //  no threads
    assert_int_equal(tsr_slots_take(slots, 0, 1, got), TSR_EINVAL); //  no attempt id
    assert_int_equal(tsr_slots_take(slots, 1, 1, got), TSR_OK);
    assert_int_equal(tsr_slots_take(slots, 1, 1, got), TSR_EINVAL); //  holds already
    assert_int_equal(tsr_slots_free(slots), 1);
    tsr_slots_destroy(&slots);
}

static void
test_slots_release_unknown_attempt_frees_nothing(void **state)
{
    (void)state;
    const unsigned cpus[] = {0};
    tsr_slots_t *slots = tsr_slots_new(cpus, 1);
    unsigned got[1];
    assert_int_equal(tsr_slots_take(slots, 5, 1, got), TSR_OK);
    assert_int_equal(tsr_slots_release(slots, 6), 0);
    assert_int_equal(tsr_slots_release(slots, 0), 0);
    assert_int_equal(tsr_slots_free(slots), 0);
    assert_int_equal(tsr_slots_release(slots, 5), 1);
    assert_int_equal(tsr_slots_release(slots, 5), 0); //  twice is harmless
    assert_int_equal(tsr_slots_free(slots), 1);
    tsr_slots_destroy(&slots);
}

static void
test_slots_empty_set_has_no_slots(void **state)
{
    (void)state;
    tsr_slots_t *slots = tsr_slots_new(NULL, 0);
    unsigned got[1];
    assert_int_equal(tsr_slots_count(slots), 0);
    assert_int_equal(tsr_slots_take(slots, 1, 1, got), TSR_EFULL);
    tsr_slots_destroy(&slots);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_sorts_and_dedups_cpus),
        cmocka_unit_test(test_slots_take_gives_lowest_free_cpus),
        cmocka_unit_test(test_slots_take_refuses_when_not_enough_free),
        cmocka_unit_test(test_slots_take_rejects_bad_requests),
        cmocka_unit_test(test_slots_release_unknown_attempt_frees_nothing),
        cmocka_unit_test(test_slots_empty_set_has_no_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
