/*  tsr_testplan - split a test suite into shards by estimated time
    Owns copies of the test ids and the last build's shards. Caller: the
    coordinator's planner, on its loop thread (and bench/plan_sim).

    Layout: tests in an array in the order added; groups are numbered in
    order of first appearance (zhashx from name to number). A build lays the
    tests out group by group (CSR arrays: offsets per group, positions in
    the order added inside), makes units (a whole group, or a contiguous
    piece of one), sorts them longest first, sets the smallest aside for the
    tail shards (up to the split's tail_ms), packs the rest longest first
    into the least loaded core shard and the set-aside ones likewise into
    the tail shards, then walks the tests in the order added to fill each
    shard, so a shard lists its tests in the framework's order whatever
    pieces it got. Build cost: O(tests log tests + units * shards).        */
#include "tsr_testplan.h" //  own header first: proves it self-contained
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  One test as added
typedef struct {
    char *id;           //  owned; the framework's test id
    size_t group;       //  group number (order of first appearance)
    bool known;         //  history_ms is the history's mean
    double history_ms;  //  history's mean duration, ms; valid if known
    double estimate_ms; //  estimate of the last build, ms
} plan_test_t;

//  A unit of packing: a group or a contiguous piece of one
typedef struct {
    size_t first;   //  index into the group-ordered layout
    size_t count;   //  tests in it
    double cost_ms; //  sum of their estimates, ms
} plan_unit_t;

struct _tsr_testplan_t {
    plan_test_t *tests;    //  owned array, in the order added
    size_t test_count;     //  tests used
    size_t test_capacity;  //  tests allocated
    zhashx_t *group_names; //  owned; group name -> number + 1 (keys copied)
    size_t group_count;    //  groups numbered so far
    size_t shard_count;    //  shards of the last build
    size_t *shard_offsets; //  owned; shard_count + 1 offsets into shard_tests
    size_t *shard_tests;   //  owned; positions of tests, shard by shard
    double *shard_costs;   //  owned; estimated cost per shard, ms
};

static void *
s_alloc(size_t count, size_t size)
{
    void *block = calloc(count ? count : 1, size);
    if (!block)
        abort(); //  OOM, as zmalloc
    return block;
}

static void
s_shards_clear(tsr_testplan_t *self)
{
    free(self->shard_offsets);
    free(self->shard_tests);
    free(self->shard_costs);
    self->shard_offsets = NULL;
    self->shard_tests = NULL;
    self->shard_costs = NULL;
    self->shard_count = 0;
}

tsr_testplan_t *
tsr_testplan_new(void)
{
    tsr_testplan_t *self = s_alloc(1, sizeof *self);
    self->group_names = zhashx_new();
    assert(self->group_names);
    return self;
}

void
tsr_testplan_destroy(tsr_testplan_t **self_p)
{
    assert(self_p);
    tsr_testplan_t *self = *self_p;
    if (self) {
        for (size_t position = 0; position < self->test_count; position++)
            free(self->tests[position].id);
        free(self->tests);
        zhashx_destroy(&self->group_names);
        s_shards_clear(self);
        free(self);
        *self_p = NULL;
    }
}

void
tsr_testplan_add(tsr_testplan_t *self, const char *test_id, const char *group, bool known,
                 double mean_ms)
{
    assert(self);
    assert(test_id);
    s_shards_clear(self);
    if (self->test_count == self->test_capacity) {
        self->test_capacity = self->test_capacity ? self->test_capacity * 2 : 64;
        self->tests = realloc(self->tests, self->test_capacity * sizeof *self->tests);
        if (!self->tests)
            abort();
    }
    size_t group_number;
    if (!group)
        group_number = self->group_count++;
    else {
        void *found = zhashx_lookup(self->group_names, group);
        if (found)
            group_number = (size_t)(uintptr_t)found - 1;
        else {
            group_number = self->group_count++;
            int rc = zhashx_insert(self->group_names, group, (void *)(uintptr_t)(group_number + 1));
            assert(rc == 0); //  absent: just looked up
            (void)rc;
        }
    }
    bool usable = known && isfinite(mean_ms) && mean_ms >= 0;
    self->tests[self->test_count++] = (plan_test_t){
        .id = strdup(test_id),
        .group = group_number,
        .known = usable,
        .history_ms = usable ? mean_ms : 0,
    };
    if (!self->tests[self->test_count - 1].id)
        abort();
}

size_t
tsr_testplan_size(tsr_testplan_t *self)
{
    assert(self);
    return self->test_count;
}

tsr_testplan_split_t
tsr_testplan_auto_split(double work_ms, double error_ms, double startup_ms, uint32_t slots,
                        size_t tests)
{
    tsr_testplan_split_t split = {0, 0, 0};
    if (tests == 0)
        return split;
    double core = slots ? slots : 1;
    if (startup_ms > 0 && floor(work_ms / startup_ms) < core)
        core = floor(work_ms / startup_ms); //  each core shard carries its start-up
    if (core < 1)
        core = 1;
    if (core > (double)tests)
        core = (double)tests;
    //  Imbalance to expect at the end: the worst of `core` slots, each off by
    //  error / sqrt(core) (independent errors), about sqrt(2 ln core) of those
    double imbalance_ms = core > 1 ? sqrt(2 * log(core)) * error_ms / sqrt(core) : 0;
    if (imbalance_ms > work_ms / core / 2)
        imbalance_ms = work_ms / core / 2; //  keep most of the work in the core
    //  Tail shards per slot: each costs a start-up and leaves up to its own
    //  size of imbalance; TSR_TESTPLAN_TAIL_COST weighs the start-up higher,
    //  as the tail's start-ups are certain and its gain is not
    double per_slot = TSR_TESTPLAN_MAX_TAIL_PER_SLOT;
    if (startup_ms > 0)
        per_slot =
            fmin(per_slot, floor(sqrt(imbalance_ms / (TSR_TESTPLAN_TAIL_COST * startup_ms))));
    if (!(imbalance_ms > 0))
        per_slot = 0;
    double tail = per_slot * core;
    if (tail > (double)tests - core)
        tail = (double)tests - core;
    split.core = (uint32_t)core;
    split.tail = (uint32_t)tail;
    split.tail_ms = split.tail ? imbalance_ms * core : 0;
    return split;
}

//  Estimate every test: its history, else its group's known mean, else the
//  suite's, else the default. Returns the sum, ms; *error_ms_out (may be
//  NULL) gets the expected error of that sum, ms: independent errors of
//  TSR_TESTPLAN_KNOWN_ERROR per known test and TSR_TESTPLAN_UNKNOWN_ERROR
//  per test estimated from its group; tests estimated from the suite share
//  one error per group (a file of slow tests is slow as a whole: with no
//  history the error is the groups', not the tests').
static double
s_estimate(tsr_testplan_t *self, double default_ms, double *error_ms_out)
{
    double *group_sum_ms = s_alloc(self->group_count, sizeof *group_sum_ms);
    size_t *group_known = s_alloc(self->group_count, sizeof *group_known);
    double suite_sum_ms = 0;
    size_t suite_known = 0;
    for (size_t position = 0; position < self->test_count; position++) {
        const plan_test_t *test = &self->tests[position];
        if (test->known) {
            group_sum_ms[test->group] += test->history_ms;
            group_known[test->group]++;
            suite_sum_ms += test->history_ms;
            suite_known++;
        }
    }
    double suite_mean_ms = suite_known ? suite_sum_ms / (double)suite_known : default_ms;
    double total_ms = 0, variance = 0;
    //  Per group: the estimates taken from the suite (their error is shared)
    double *group_guess_ms = s_alloc(self->group_count, sizeof *group_guess_ms);
    for (size_t position = 0; position < self->test_count; position++) {
        plan_test_t *test = &self->tests[position];
        double error_ms;
        if (test->known) {
            test->estimate_ms = test->history_ms;
            error_ms = test->estimate_ms * TSR_TESTPLAN_KNOWN_ERROR;
        } else if (group_known[test->group]) {
            test->estimate_ms = group_sum_ms[test->group] / (double)group_known[test->group];
            error_ms = test->estimate_ms * TSR_TESTPLAN_UNKNOWN_ERROR;
        } else {
            test->estimate_ms = suite_mean_ms;
            group_guess_ms[test->group] += test->estimate_ms;
            error_ms = 0;
        }
        total_ms += test->estimate_ms;
        variance += error_ms * error_ms;
    }
    for (size_t group = 0; group < self->group_count; group++) {
        double error_ms = group_guess_ms[group] * TSR_TESTPLAN_UNKNOWN_ERROR;
        variance += error_ms * error_ms;
    }
    free(group_guess_ms);
    free(group_sum_ms);
    free(group_known);
    if (error_ms_out)
        *error_ms_out = sqrt(variance);
    return total_ms;
}

//  Lay the tests out group by group, order added inside: *offsets_out gets
//  group_count + 1 offsets into *layout_out (positions)
static void
s_layout_groups(tsr_testplan_t *self, size_t **offsets_out, size_t **layout_out)
{
    size_t *offsets = s_alloc(self->group_count + 1, sizeof *offsets);
    size_t *layout = s_alloc(self->test_count, sizeof *layout);
    for (size_t position = 0; position < self->test_count; position++)
        offsets[self->tests[position].group + 1]++;
    for (size_t group = 0; group < self->group_count; group++)
        offsets[group + 1] += offsets[group];
    size_t *fill = s_alloc(self->group_count, sizeof *fill);
    for (size_t position = 0; position < self->test_count; position++) {
        size_t group = self->tests[position].group;
        layout[offsets[group] + fill[group]++] = position;
    }
    free(fill);
    *offsets_out = offsets;
    *layout_out = layout;
}

//  Units: each group whole, or, if it costs more than `target_ms` and has
//  several tests, cut into contiguous pieces: a piece closes before the test
//  that would take it past cost / ceil(cost / target), so a piece exceeds
//  that only when it is a single test (a long test never drags neighbours
//  along). *units_out is allocated for the worst case (one unit per test).
static size_t
s_make_units(tsr_testplan_t *self, const size_t *offsets, const size_t *layout, double target_ms,
             plan_unit_t **units_out)
{
    plan_unit_t *units = s_alloc(self->test_count, sizeof *units);
    size_t unit_count = 0;
    for (size_t group = 0; group < self->group_count; group++) {
        size_t first = offsets[group];
        size_t count = offsets[group + 1] - first;
        double cost_ms = 0;
        for (size_t index = first; index < first + count; index++)
            cost_ms += self->tests[layout[index]].estimate_ms;
        if (count <= 1 || !(cost_ms > target_ms)) {
            units[unit_count++] = (plan_unit_t){first, count, cost_ms};
            continue;
        }
        //  A hair over the even share, so rounding never makes a sliver piece
        double limit_ms = cost_ms / ceil(cost_ms / target_ms) * (1 + 1e-9);
        plan_unit_t *unit = &units[unit_count++];
        *unit = (plan_unit_t){first, 0, 0};
        for (size_t index = first; index < first + count; index++) {
            double test_ms = self->tests[layout[index]].estimate_ms;
            if (unit->count > 0 && unit->cost_ms + test_ms > limit_ms) {
                unit = &units[unit_count++];
                *unit = (plan_unit_t){index, 0, 0};
            }
            unit->count++;
            unit->cost_ms += test_ms;
        }
    }
    *units_out = units;
    return unit_count;
}

//  Longest first; equal costs in layout order, so plans are reproducible
static int
s_unit_compare(const void *left_p, const void *right_p)
{
    const plan_unit_t *left = left_p;
    const plan_unit_t *right = right_p;
    if (left->cost_ms != right->cost_ms)
        return left->cost_ms > right->cost_ms ? -1 : 1;
    return left->first < right->first ? -1 : left->first > right->first;
}

//  Shard numbers by cost, longest first; equal costs by first test
typedef struct {
    size_t bin;        //  bin number during packing
    double cost_ms;    //  start-up + tests, ms
    size_t first_test; //  smallest position in it
} plan_bin_order_t;

static int
s_bin_compare(const void *left_p, const void *right_p)
{
    const plan_bin_order_t *left = left_p;
    const plan_bin_order_t *right = right_p;
    if (left->cost_ms != right->cost_ms)
        return left->cost_ms > right->cost_ms ? -1 : 1;
    return left->first_test < right->first_test ? -1 : left->first_test > right->first_test;
}

//  Fill the shard arrays from each test's bin (SIZE_MAX: none); bins with
//  no tests are dropped, the rest ordered by `order` (bins, costs filled)
static void
s_shards_from_bins(tsr_testplan_t *self, const size_t *test_bin, size_t bin_count,
                   plan_bin_order_t *order, bool by_cost)
{
    size_t *bin_tests = s_alloc(bin_count, sizeof *bin_tests);
    for (size_t bin = 0; bin < bin_count; bin++)
        order[bin].first_test = SIZE_MAX;
    for (size_t position = 0; position < self->test_count; position++) {
        size_t bin = test_bin[position];
        if (bin_tests[bin]++ == 0)
            order[bin].first_test = position;
    }
    if (by_cost)
        qsort(order, bin_count, sizeof *order, s_bin_compare);
    size_t *shard_of_bin = s_alloc(bin_count, sizeof *shard_of_bin);
    self->shard_offsets = s_alloc(bin_count + 1, sizeof *self->shard_offsets);
    self->shard_costs = s_alloc(bin_count, sizeof *self->shard_costs);
    self->shard_tests = s_alloc(self->test_count, sizeof *self->shard_tests);
    size_t shard = 0;
    for (size_t rank = 0; rank < bin_count; rank++) {
        size_t bin = order[rank].bin;
        if (bin_tests[bin] == 0)
            continue;
        shard_of_bin[bin] = shard;
        self->shard_costs[shard] = order[rank].cost_ms;
        self->shard_offsets[shard + 1] = self->shard_offsets[shard] + bin_tests[bin];
        shard++;
    }
    self->shard_count = shard;
    size_t *fill = s_alloc(shard ? shard : 1, sizeof *fill);
    for (size_t position = 0; position < self->test_count; position++) {
        size_t at = shard_of_bin[test_bin[position]];
        self->shard_tests[self->shard_offsets[at] + fill[at]++] = position;
    }
    free(fill);
    free(shard_of_bin);
    free(bin_tests);
}

static bool
s_opts_valid(const tsr_testplan_opts_t *opts)
{
    return isfinite(opts->startup_ms) && opts->startup_ms >= 0 && isfinite(opts->default_ms) &&
           opts->default_ms >= 0;
}

//  Longest first into the least loaded of bins [first_bin, first_bin +
//  bin_count); on equal load the one with fewer tests, so tests estimated
//  at 0 ms still spread
static void
s_pack(const plan_unit_t *units, size_t unit_count, const size_t *layout, plan_bin_order_t *bins,
       size_t *bin_size, size_t first_bin, size_t bin_count, size_t *test_bin)
{
    for (size_t unit_index = 0; unit_index < unit_count; unit_index++) {
        const plan_unit_t *unit = &units[unit_index];
        size_t best = first_bin;
        for (size_t bin = first_bin + 1; bin < first_bin + bin_count; bin++)
            if (bins[bin].cost_ms < bins[best].cost_ms ||
                (bins[bin].cost_ms == bins[best].cost_ms && bin_size[bin] < bin_size[best]))
                best = bin;
        bins[best].cost_ms += unit->cost_ms;
        bin_size[best] += unit->count;
        for (size_t index = unit->first; index < unit->first + unit->count; index++)
            test_bin[layout[index]] = best;
    }
}

int
tsr_testplan_build(tsr_testplan_t *self, const tsr_testplan_opts_t *opts)
{
    assert(self);
    assert(opts);
    if (!s_opts_valid(opts))
        return TSR_EINVAL;
    s_shards_clear(self);
    if (self->test_count == 0)
        return TSR_OK;
    double default_ms = opts->default_ms > 0 ? opts->default_ms : TSR_TESTPLAN_DEFAULT_MS;
    double error_ms;
    double work_ms = s_estimate(self, default_ms, &error_ms);
    size_t core_count, tail_count = 0;
    double tail_ms = 0;
    if (opts->shards)
        core_count = opts->shards;
    else {
        tsr_testplan_split_t split = tsr_testplan_auto_split(work_ms, error_ms, opts->startup_ms,
                                                             opts->slots, self->test_count);
        core_count = split.core;
        tail_count = split.tail;
        tail_ms = split.tail_ms;
    }
    if (core_count > self->test_count)
        core_count = self->test_count;
    size_t bin_count = core_count + tail_count;

    size_t *offsets, *layout;
    s_layout_groups(self, &offsets, &layout);
    plan_unit_t *units;
    size_t unit_count =
        s_make_units(self, offsets, layout, (work_ms - tail_ms) / (double)core_count, &units);
    qsort(units, unit_count, sizeof *units, s_unit_compare);
    size_t core_units = unit_count;
    double in_tail_ms = 0;
    while (tail_count && core_units > core_count &&
           in_tail_ms + units[core_units - 1].cost_ms <= tail_ms)
        in_tail_ms += units[--core_units].cost_ms;
    if (core_units == unit_count)
        bin_count = core_count;

    plan_bin_order_t *bins = s_alloc(bin_count, sizeof *bins);
    size_t *bin_size = s_alloc(bin_count, sizeof *bin_size);
    size_t *test_bin = s_alloc(self->test_count, sizeof *test_bin);
    for (size_t bin = 0; bin < bin_count; bin++)
        bins[bin] = (plan_bin_order_t){.bin = bin, .cost_ms = opts->startup_ms};
    s_pack(units, core_units, layout, bins, bin_size, 0, core_count, test_bin);
    if (bin_count > core_count)
        s_pack(units + core_units, unit_count - core_units, layout, bins, bin_size, core_count,
               bin_count - core_count, test_bin);
    s_shards_from_bins(self, test_bin, bin_count, bins, true);

    free(test_bin);
    free(bin_size);
    free(bins);
    free(units);
    free(layout);
    free(offsets);
    return TSR_OK;
}

int
tsr_testplan_build_by_count(tsr_testplan_t *self, const tsr_testplan_opts_t *opts)
{
    assert(self);
    assert(opts);
    if (!s_opts_valid(opts))
        return TSR_EINVAL;
    s_shards_clear(self);
    if (self->test_count == 0)
        return TSR_OK;
    double default_ms = opts->default_ms > 0 ? opts->default_ms : TSR_TESTPLAN_DEFAULT_MS;
    s_estimate(self, default_ms, NULL);
    size_t bin_count = opts->shards ? opts->shards : (opts->slots ? opts->slots : 1);
    if (bin_count > self->test_count)
        bin_count = self->test_count;

    plan_bin_order_t *bins = s_alloc(bin_count, sizeof *bins);
    size_t *test_bin = s_alloc(self->test_count, sizeof *test_bin);
    for (size_t bin = 0; bin < bin_count; bin++)
        bins[bin] = (plan_bin_order_t){.bin = bin, .cost_ms = opts->startup_ms};
    for (size_t bin = 0; bin < bin_count; bin++) {
        //  chunk b holds positions [b * n / K, (b + 1) * n / K)
        size_t end = (bin + 1) * self->test_count / bin_count;
        for (size_t position = bin * self->test_count / bin_count; position < end; position++) {
            test_bin[position] = bin;
            bins[bin].cost_ms += self->tests[position].estimate_ms;
        }
    }
    s_shards_from_bins(self, test_bin, bin_count, bins, false);
    free(test_bin);
    free(bins);
    return TSR_OK;
}

size_t
tsr_testplan_shard_count(tsr_testplan_t *self)
{
    assert(self);
    return self->shard_count;
}

size_t
tsr_testplan_shard_size(tsr_testplan_t *self, size_t shard)
{
    assert(self);
    assert(shard < self->shard_count);
    return self->shard_offsets[shard + 1] - self->shard_offsets[shard];
}

double
tsr_testplan_shard_cost_ms(tsr_testplan_t *self, size_t shard)
{
    assert(self);
    assert(shard < self->shard_count);
    return self->shard_costs[shard];
}

size_t
tsr_testplan_shard_test_at(tsr_testplan_t *self, size_t shard, size_t index)
{
    assert(index < tsr_testplan_shard_size(self, shard));
    return self->shard_tests[self->shard_offsets[shard] + index];
}

const char *
tsr_testplan_shard_test(tsr_testplan_t *self, size_t shard, size_t index)
{
    return self->tests[tsr_testplan_shard_test_at(self, shard, index)].id;
}

zlistx_t *
tsr_testplan_shard_ids(tsr_testplan_t *self, size_t shard)
{
    size_t size = tsr_testplan_shard_size(self, shard);
    zlistx_t *ids = zlistx_new();
    assert(ids);
    zlistx_set_duplicator(ids, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(ids, (zlistx_destructor_fn *)zstr_free);
    for (size_t index = 0; index < size; index++)
        zlistx_add_end(ids, (void *)tsr_testplan_shard_test(self, shard, index));
    return ids;
}

double
tsr_testplan_estimate_ms(tsr_testplan_t *self, size_t position)
{
    assert(self);
    assert(position < self->test_count);
    assert(self->shard_count > 0); //  estimates exist after a build
    return self->tests[position].estimate_ms;
}
