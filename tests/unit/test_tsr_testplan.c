/*  Unit tests for tsr_testplan: groups kept together, oversized groups cut
    into contiguous pieces, LPT balance on a known case, estimates for tests
    without history, the automatic shard count, the order inside shards,
    longest-first output, the count-based split and bad options. Pure: no
    files, no clock.                                                      */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_testplan.h"

//  Which shard holds the test added at each position; every test exactly once
static void
s_shard_of_each(tsr_testplan_t *plan, size_t *shard_of)
{
    size_t tests = tsr_testplan_size(plan);
    for (size_t position = 0; position < tests; position++)
        shard_of[position] = SIZE_MAX;
    size_t seen = 0;
    for (size_t shard = 0; shard < tsr_testplan_shard_count(plan); shard++) {
        assert_true(tsr_testplan_shard_size(plan, shard) > 0); //  never empty
        for (size_t index = 0; index < tsr_testplan_shard_size(plan, shard); index++) {
            size_t position = tsr_testplan_shard_test_at(plan, shard, index);
            assert_true(position < tests);
            assert_int_equal(shard_of[position], SIZE_MAX);
            shard_of[position] = shard;
            seen++;
        }
    }
    assert_int_equal(seen, tests);
}

//  Inside every shard, positions ascend (the order added)
static void
s_assert_order_kept(tsr_testplan_t *plan)
{
    for (size_t shard = 0; shard < tsr_testplan_shard_count(plan); shard++)
        for (size_t index = 1; index < tsr_testplan_shard_size(plan, shard); index++)
            assert_true(tsr_testplan_shard_test_at(plan, shard, index - 1) <
                        tsr_testplan_shard_test_at(plan, shard, index));
}

static double
s_makespan(tsr_testplan_t *plan)
{
    double longest_ms = 0;
    for (size_t shard = 0; shard < tsr_testplan_shard_count(plan); shard++)
        if (tsr_testplan_shard_cost_ms(plan, shard) > longest_ms)
            longest_ms = tsr_testplan_shard_cost_ms(plan, shard);
    return longest_ms;
}

static void
test_plan_keeps_groups_together(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[64], group[32];
    for (int index = 0; index < 20; index++) {
        snprintf(group, sizeof group, "tests/test_%d.py", index / 5);
        snprintf(test_id, sizeof test_id, "%s::test_%d", group, index);
        tsr_testplan_add(plan, test_id, group, true, 100.0 + index);
    }
    tsr_testplan_opts_t opts = {.shards = 3};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 3);
    size_t shard_of[20];
    s_shard_of_each(plan, shard_of);
    for (int index = 0; index < 20; index++)
        assert_int_equal(shard_of[index], shard_of[index / 5 * 5]);
    s_assert_order_kept(plan);
    tsr_testplan_destroy(&plan);
    assert_null(plan);
}

static void
test_plan_cuts_an_oversized_group_into_contiguous_pieces(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[32];
    for (int index = 0; index < 10; index++) {
        snprintf(test_id, sizeof test_id, "big::%d", index);
        tsr_testplan_add(plan, test_id, "big", true, 100.0);
    }
    tsr_testplan_add(plan, "small_b::0", "small_b", true, 100.0);
    tsr_testplan_add(plan, "small_c::0", "small_c", true, 100.0);
    //  1200 ms into 2: target 600, "big" (1000) becomes two pieces of 500
    tsr_testplan_opts_t opts = {.shards = 2, .startup_ms = 50.0};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 2);
    size_t shard_of[12];
    s_shard_of_each(plan, shard_of);
    for (int index = 0; index < 5; index++) {
        assert_int_equal(shard_of[index], shard_of[0]);
        assert_int_equal(shard_of[5 + index], shard_of[5]);
    }
    assert_int_not_equal(shard_of[0], shard_of[5]);
    assert_int_not_equal(shard_of[10], shard_of[11]);
    assert_true(tsr_testplan_shard_cost_ms(plan, 0) == 650.0);
    assert_true(tsr_testplan_shard_cost_ms(plan, 1) == 650.0);
    s_assert_order_kept(plan);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_single_test_group_is_never_cut(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_add(plan, "huge", "g_huge", true, 9000.0);
    tsr_testplan_add(plan, "a", "g_small", true, 10.0);
    tsr_testplan_add(plan, "b", "g_small", true, 10.0);
    //  Four wanted, but only two units: no empty shards
    tsr_testplan_opts_t opts = {.shards = 4};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 2);
    assert_string_equal(tsr_testplan_shard_test(plan, 0, 0), "huge");
    assert_int_equal(tsr_testplan_shard_size(plan, 1), 2);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_lpt_balances_known_case(void **state)
{
    (void)state;
    //  7,5,4,3,3,2 into 2 shards: LPT reaches the optimum, 12 and 12
    double durations_ms[] = {7, 5, 4, 3, 3, 2};
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[16];
    for (int index = 0; index < 6; index++) {
        snprintf(test_id, sizeof test_id, "t%d", index);
        tsr_testplan_add(plan, test_id, test_id, true, durations_ms[index]);
    }
    tsr_testplan_opts_t opts = {.shards = 2};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 2);
    assert_true(s_makespan(plan) == 12.0);
    assert_true(tsr_testplan_shard_cost_ms(plan, 1) == 12.0);
    s_assert_order_kept(plan);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_estimates_unknown_tests_from_neighbours(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_add(plan, "g1::known_a", "g1", true, 100.0);
    tsr_testplan_add(plan, "g1::new", "g1", false, 0);
    tsr_testplan_add(plan, "g1::known_b", "g1", true, 300.0);
    tsr_testplan_add(plan, "g2::known", "g2", true, 50.0);
    tsr_testplan_add(plan, "g3::new", "g3", false, 0);
    tsr_testplan_add(plan, "g3::bad", "g3", true, -4.0); //  unusable: unknown
    tsr_testplan_add(plan, "g3::nan", "g3", true, NAN);
    tsr_testplan_opts_t opts = {.shards = 1};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_true(tsr_testplan_estimate_ms(plan, 0) == 100.0);
    assert_true(tsr_testplan_estimate_ms(plan, 1) == 200.0); //  its group's mean
    assert_true(tsr_testplan_estimate_ms(plan, 2) == 300.0);
    assert_true(tsr_testplan_estimate_ms(plan, 3) == 50.0);
    assert_true(tsr_testplan_estimate_ms(plan, 4) == 150.0); //  the suite's mean
    assert_true(tsr_testplan_estimate_ms(plan, 5) == 150.0);
    assert_true(tsr_testplan_estimate_ms(plan, 6) == 150.0);
    assert_true(tsr_testplan_shard_cost_ms(plan, 0) == 1100.0);
    tsr_testplan_destroy(&plan);

    //  Nothing known: the default, or the caller's
    plan = tsr_testplan_new();
    tsr_testplan_add(plan, "a", "g", false, 0);
    tsr_testplan_add(plan, "b", NULL, false, 0);
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_true(tsr_testplan_estimate_ms(plan, 0) == TSR_TESTPLAN_DEFAULT_MS);
    opts.default_ms = 40.0;
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_true(tsr_testplan_estimate_ms(plan, 1) == 40.0);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_auto_split_stays_within_bounds(void **state)
{
    (void)state;
    tsr_testplan_split_t split = tsr_testplan_auto_split(1e6, 1e4, 100, 4, 0);
    assert_int_equal(split.core + split.tail, 0); //  no tests
    //  Exact estimates: one shard per slot, no tail
    split = tsr_testplan_auto_split(1e6, 0, 0, 4, 1000);
    assert_int_equal(split.core, 4);
    assert_int_equal(split.tail, 0);
    assert_true(split.tail_ms == 0);
    //  Free start-up: the most tail shards
    split = tsr_testplan_auto_split(1e6, 1e4, 0, 4, 1000);
    assert_int_equal(split.core, 4);
    assert_int_equal(split.tail, 4 * TSR_TESTPLAN_MAX_TAIL_PER_SLOT);
    //  One slot (or 0, counted as 1): nothing to balance
    split = tsr_testplan_auto_split(1e6, 1e4, 0, 0, 1000);
    assert_int_equal(split.core, 1);
    assert_int_equal(split.tail, 0);
    //  Never more shards than tests
    split = tsr_testplan_auto_split(1e6, 1e4, 0, 16, 5);
    assert_int_equal(split.core + split.tail, 5);
    split = tsr_testplan_auto_split(1e6, 1e4, 0, 4, 10);
    assert_int_equal(split.core, 4);
    assert_int_equal(split.tail, 6);
    //  Tail shards per slot fall as start-up grows against the imbalance
    //  (sqrt(2 ln 16) * 8000 / 4 = 4710 ms per slot)
    split = tsr_testplan_auto_split(160000, 8000, 100, 16, 10000);
    assert_int_equal(split.tail, 48);
    assert_true(fabs(split.tail_ms - 16 * sqrt(2 * log(16)) * 2000) < 1e-6);
    split = tsr_testplan_auto_split(160000, 8000, 400, 16, 10000);
    assert_int_equal(split.tail, 16);
    split = tsr_testplan_auto_split(160000, 8000, 2000, 16, 10000);
    assert_int_equal(split.core, 16);
    assert_int_equal(split.tail, 0);
    //  A core shard carries at least its start-up, so fewer than the slots...
    split = tsr_testplan_auto_split(10000, 0, 1000, 16, 10000);
    assert_int_equal(split.core, 10);
    //  ...and at least one
    split = tsr_testplan_auto_split(10, 0, 1000, 16, 10000);
    assert_int_equal(split.core, 1);
    //  Wild uncertainty: the tail holds at most half the work
    split = tsr_testplan_auto_split(1000, 1e9, 0, 8, 10000);
    assert_true(split.tail_ms <= 500.0 + 1e-9);
    //  Whatever the inputs, within bounds
    for (uint32_t slots = 0; slots < 40; slots += 3)
        for (double work_ms = 0; work_ms < 1e7; work_ms = work_ms * 7 + 1)
            for (size_t tests = 1; tests < 500; tests = tests * 3 + 1) {
                split = tsr_testplan_auto_split(work_ms, work_ms / 10, 250, slots, tests);
                assert_true(split.core >= 1 && split.core <= (slots ? slots : 1));
                assert_true(split.core + split.tail <= tests);
                assert_true(split.tail <= split.core * TSR_TESTPLAN_MAX_TAIL_PER_SLOT);
                assert_true(split.tail_ms <= work_ms / 2 + 1e-9);
            }
}

static void
test_plan_automatic_build_pays_start_up_once_per_shard(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[32], group[16];
    for (int index = 0; index < 400; index++) {
        snprintf(group, sizeof group, "f%d", index / 4);
        snprintf(test_id, sizeof test_id, "%s::t%d", group, index);
        tsr_testplan_add(plan, test_id, group, true, 50.0);
    }
    //  20 s of work on 2 slots, 1 s start-up: no tail shard is worth it
    tsr_testplan_opts_t opts = {.slots = 2, .startup_ms = 1000.0};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 2);
    assert_true(tsr_testplan_shard_cost_ms(plan, 0) == 11000.0);
    assert_true(tsr_testplan_shard_cost_ms(plan, 1) == 11000.0);
    //  15 s of start-up per shard would not be carried: one shard
    opts.startup_ms = 15000.0;
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 1);
    assert_true(tsr_testplan_shard_cost_ms(plan, 0) == 35000.0);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_automatic_split_adds_tail_shards_of_the_smallest_groups(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[32], group[16];
    //  Group g<i> holds i + 1 tests of 100 ms: 100 ms to 2 s, 21 s in all
    for (int group_number = 0; group_number < 20; group_number++)
        for (int index = 0; index <= group_number; index++) {
            snprintf(group, sizeof group, "g%d", group_number);
            snprintf(test_id, sizeof test_id, "%s::t%d", group, index);
            tsr_testplan_add(plan, test_id, group, true, 100.0);
        }
    //  Free start-up: two core shards, then the smallest groups that fit the
    //  expected imbalance (about 480 ms: g0 and g1) as tail shards
    tsr_testplan_opts_t opts = {.slots = 2};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 4);
    assert_true(tsr_testplan_shard_cost_ms(plan, 0) + tsr_testplan_shard_cost_ms(plan, 1) ==
                20700.0);
    assert_true(fabs(tsr_testplan_shard_cost_ms(plan, 0) - tsr_testplan_shard_cost_ms(plan, 1)) <=
                100.0);
    assert_string_equal(tsr_testplan_shard_test(plan, 2, 0), "g1::t0");
    assert_int_equal(tsr_testplan_shard_size(plan, 2), 2);
    assert_string_equal(tsr_testplan_shard_test(plan, 3, 0), "g0::t0");
    assert_int_equal(tsr_testplan_shard_size(plan, 3), 1);
    size_t shard_of[210];
    s_shard_of_each(plan, shard_of);
    s_assert_order_kept(plan);
    //  An explicit count has no tail
    opts.shards = 2;
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 2);
    tsr_testplan_destroy(&plan);
}

//  Work in the shards after the first `core` (the tail), ms
static double
s_tail_ms(tsr_testplan_t *plan, size_t core)
{
    double tail_ms = 0;
    for (size_t shard = core; shard < tsr_testplan_shard_count(plan); shard++)
        tail_ms += tsr_testplan_shard_cost_ms(plan, shard);
    return tail_ms;
}

static void
test_plan_without_history_keeps_a_bigger_tail(void **state)
{
    (void)state;
    //  Group g<i> holds i + 1 tests: 210 tests, 21 s at the 100 ms default
    tsr_testplan_t *cold = tsr_testplan_new();
    tsr_testplan_t *known = tsr_testplan_new();
    char test_id[32], group[16];
    for (int group_number = 0; group_number < 20; group_number++)
        for (int index = 0; index <= group_number; index++) {
            snprintf(group, sizeof group, "g%d", group_number);
            snprintf(test_id, sizeof test_id, "%s::t%d", group, index);
            tsr_testplan_add(cold, test_id, group, false, 0.0);
            tsr_testplan_add(known, test_id, group, true, 100.0);
        }
    tsr_testplan_opts_t opts = {.slots = 2, .startup_ms = 300.0};
    assert_int_equal(tsr_testplan_build(cold, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_build(known, &opts), TSR_OK);
    //  With history the estimates are good: a tail of a few small groups at
    //  most. With none, a whole file may be slow or fast, so the groups' error
    //  counts (about 4.5 s of imbalance to expect here, not the 1.2 s that
    //  210 independent errors would give): the slots that finish first get
    //  several seconds of small groups to even out the end
    double cold_start_ms = 300.0 * (double)(tsr_testplan_shard_count(cold) - 2);
    assert_true(s_tail_ms(known, 2) - 300.0 * (double)(tsr_testplan_shard_count(known) - 2) <
                1000.0);
    assert_true(tsr_testplan_shard_count(cold) > 2);
    assert_true(s_tail_ms(cold, 2) - cold_start_ms > 5000.0);
    assert_true(s_tail_ms(cold, 2) - cold_start_ms <= 21000.0 / 2);
    size_t shard_of[210];
    s_shard_of_each(cold, shard_of);
    s_assert_order_kept(cold);
    tsr_testplan_destroy(&cold);
    tsr_testplan_destroy(&known);
}

static void
test_plan_keeps_the_order_added_inside_shards(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[32], group[16];
    //  Groups interleaved, varied durations, some unknown
    for (int index = 0; index < 300; index++) {
        snprintf(group, sizeof group, "g%d", (index * 7) % 13);
        snprintf(test_id, sizeof test_id, "t%d", index);
        tsr_testplan_add(plan, test_id, group, index % 5 != 0, (double)((index * 37) % 101));
    }
    for (uint32_t shards = 1; shards <= 40; shards += 3) {
        tsr_testplan_opts_t opts = {.shards = shards, .startup_ms = 5.0};
        assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
        size_t shard_of[300];
        s_shard_of_each(plan, shard_of);
        s_assert_order_kept(plan);
        //  Names follow positions
        for (size_t index = 0; index < tsr_testplan_shard_size(plan, 0); index++) {
            snprintf(test_id, sizeof test_id, "t%zu", tsr_testplan_shard_test_at(plan, 0, index));
            assert_string_equal(tsr_testplan_shard_test(plan, 0, index), test_id);
        }
    }
    tsr_testplan_destroy(&plan);
}

static void
test_plan_shards_come_out_longest_first(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[32];
    for (int index = 0; index < 50; index++) {
        snprintf(test_id, sizeof test_id, "t%d", index);
        tsr_testplan_add(plan, test_id, test_id, true, (double)(index * index % 97) + 1);
    }
    tsr_testplan_add(plan, "giant", "giant", true, 5000.0);
    tsr_testplan_opts_t opts = {.shards = 7, .startup_ms = 3.0};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 7);
    assert_string_equal(tsr_testplan_shard_test(plan, 0, 0), "giant");
    for (size_t shard = 1; shard < 7; shard++)
        assert_true(tsr_testplan_shard_cost_ms(plan, shard - 1) >=
                    tsr_testplan_shard_cost_ms(plan, shard));
    tsr_testplan_destroy(&plan);
}

static void
test_plan_more_shards_than_tests_gives_one_test_each(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_add(plan, "a", "g", true, 1.0);
    tsr_testplan_add(plan, "b", "g", true, 1.0);
    tsr_testplan_add(plan, "c", "g", true, 1.0);
    tsr_testplan_opts_t opts = {.shards = 10};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 3);
    for (size_t shard = 0; shard < 3; shard++)
        assert_int_equal(tsr_testplan_shard_size(plan, shard), 1);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_zero_cost_tests_still_spread(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[16];
    for (int index = 0; index < 8; index++) {
        snprintf(test_id, sizeof test_id, "t%d", index);
        tsr_testplan_add(plan, test_id, NULL, true, 0.0);
    }
    tsr_testplan_opts_t opts = {.shards = 4};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 4);
    for (size_t shard = 0; shard < 4; shard++)
        assert_int_equal(tsr_testplan_shard_size(plan, shard), 2);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_of_no_tests_has_no_shards(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_opts_t opts = {.slots = 4, .startup_ms = 100.0};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 0);
    assert_int_equal(tsr_testplan_build_by_count(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 0);
    assert_int_equal(tsr_testplan_size(plan), 0);
    tsr_testplan_destroy(&plan);
    tsr_testplan_destroy(&plan); //  NULL-safe
}

static void
test_plan_adding_drops_earlier_shards(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_add(plan, "a", "g", true, 1.0);
    tsr_testplan_opts_t opts = {.shards = 1};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 1);
    tsr_testplan_add(plan, "b", "g", true, 1.0);
    assert_int_equal(tsr_testplan_shard_count(plan), 0);
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_size(plan, 0), 2);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_count_split_makes_equal_contiguous_chunks(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    char test_id[16];
    for (int index = 0; index < 10; index++) {
        snprintf(test_id, sizeof test_id, "t%d", index);
        //  times and groups are ignored by this split
        tsr_testplan_add(plan, test_id, index < 5 ? "first" : "second", true, index ? 1.0 : 1e6);
    }
    tsr_testplan_opts_t opts = {.shards = 3};
    assert_int_equal(tsr_testplan_build_by_count(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 3);
    size_t sizes[3] = {3, 3, 4};
    size_t position = 0;
    for (size_t shard = 0; shard < 3; shard++) {
        assert_int_equal(tsr_testplan_shard_size(plan, shard), sizes[shard]);
        for (size_t index = 0; index < sizes[shard]; index++)
            assert_int_equal(tsr_testplan_shard_test_at(plan, shard, index), position++);
    }
    assert_true(tsr_testplan_shard_cost_ms(plan, 0) == 1e6 + 2.0);
    //  Slots when no count is given; never more chunks than tests
    opts = (tsr_testplan_opts_t){.slots = 2};
    assert_int_equal(tsr_testplan_build_by_count(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 2);
    opts = (tsr_testplan_opts_t){.shards = 50};
    assert_int_equal(tsr_testplan_build_by_count(plan, &opts), TSR_OK);
    assert_int_equal(tsr_testplan_shard_count(plan), 10);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_rejects_bad_options(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_add(plan, "a", "g", true, 1.0);
    tsr_testplan_opts_t opts = {.shards = 1, .startup_ms = -1.0};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_EINVAL);
    assert_int_equal(tsr_testplan_shard_count(plan), 0);
    opts.startup_ms = INFINITY;
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_EINVAL);
    opts.startup_ms = 0;
    opts.default_ms = NAN;
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_EINVAL);
    assert_int_equal(tsr_testplan_build_by_count(plan, &opts), TSR_EINVAL);
    tsr_testplan_destroy(&plan);
}

static void
test_plan_shard_ids_are_copies_in_order(void **state)
{
    (void)state;
    tsr_testplan_t *plan = tsr_testplan_new();
    tsr_testplan_add(plan, "mod/a.py::one", "mod/a.py", true, 5.0);
    tsr_testplan_add(plan, "mod/a.py::two", "mod/a.py", true, 5.0);
    tsr_testplan_add(plan, "mod/b.py::one", "mod/b.py", true, 5.0);
    tsr_testplan_opts_t opts = {.shards = 1};
    assert_int_equal(tsr_testplan_build(plan, &opts), TSR_OK);
    zlistx_t *ids = tsr_testplan_shard_ids(plan, 0);
    tsr_testplan_destroy(&plan); //  the copies outlive the plan
    assert_int_equal(zlistx_size(ids), 3);
    assert_string_equal(zlistx_first(ids), "mod/a.py::one");
    assert_string_equal(zlistx_next(ids), "mod/a.py::two");
    assert_string_equal(zlistx_next(ids), "mod/b.py::one");
    zlistx_destroy(&ids);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_keeps_groups_together),
        cmocka_unit_test(test_plan_cuts_an_oversized_group_into_contiguous_pieces),
        cmocka_unit_test(test_plan_single_test_group_is_never_cut),
        cmocka_unit_test(test_plan_lpt_balances_known_case),
        cmocka_unit_test(test_plan_estimates_unknown_tests_from_neighbours),
        cmocka_unit_test(test_plan_auto_split_stays_within_bounds),
        cmocka_unit_test(test_plan_automatic_build_pays_start_up_once_per_shard),
        cmocka_unit_test(test_plan_automatic_split_adds_tail_shards_of_the_smallest_groups),
        cmocka_unit_test(test_plan_without_history_keeps_a_bigger_tail),
        cmocka_unit_test(test_plan_keeps_the_order_added_inside_shards),
        cmocka_unit_test(test_plan_shards_come_out_longest_first),
        cmocka_unit_test(test_plan_more_shards_than_tests_gives_one_test_each),
        cmocka_unit_test(test_plan_zero_cost_tests_still_spread),
        cmocka_unit_test(test_plan_of_no_tests_has_no_shards),
        cmocka_unit_test(test_plan_adding_drops_earlier_shards),
        cmocka_unit_test(test_plan_count_split_makes_equal_contiguous_chunks),
        cmocka_unit_test(test_plan_rejects_bad_options),
        cmocka_unit_test(test_plan_shard_ids_are_copies_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
