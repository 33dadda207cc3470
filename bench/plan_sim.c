/*  plan_sim - simulate the test planner's shards under dynamic pull
    Generates a suite (default 2,000 tests in ~200 files, log-normal
    durations with a per-file factor, fixed seed), plans it with
    tsr_testplan and replays the shards on S slots: each free slot takes the
    next shard in queue order; a shard takes the start-up cost plus its
    tests' true durations. Prints makespan / lower bound, where the bound is
    max(total test time / S, longest test), for the timing-based plan with
    exact history, with noisy history (each estimate off by up to +-N%), with
    no history, and for the count-based split into S shards (jest --shard,
    nextest --partition). Validates the policy only; the end-to-end benchmark
    runs the embedded cluster. Exit status 1 if the timing-based plan with
    exact history misses the target ratio (1.10). Not a ctest.                  */
#include "tsr_testplan.h"
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_TARGET_RATIO 1.10

//  The generated suite and the simulation's settings
typedef struct {
    size_t test_count;    //  tests generated
    size_t file_count;    //  groups (files) they are spread over
    double startup_ms;    //  per-process start-up, ms, paid by every shard
    double noise;         //  relative error of a noisy estimate (0.3 = +-30%)
    unsigned trials;      //  noisy plans per row (different noise draws)
    uint64_t seed;        //  generator seed
    uint32_t shards;      //  --shards for the timing plan; 0: automatic
    double *durations_ms; //  owned; true duration of each test, ms
    size_t *file_of;      //  owned; file number of each test
    char **test_ids;      //  owned; "tests/test_F.py::test_N"
    char **file_names;    //  owned; "tests/test_F.py"
    double total_ms;      //  sum of the true durations, ms
    double longest_ms;    //  longest single test, ms
} sim_t;

//  splitmix64: a small generator whose output is the same on every platform
static uint64_t
s_next(uint64_t *state)
{
    uint64_t mixed = (*state += 0x9E3779B97F4A7C15ULL);
    mixed = (mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9ULL;
    mixed = (mixed ^ (mixed >> 27)) * 0x94D049BB133111EBULL;
    return mixed ^ (mixed >> 31);
}

//  Uniform in (0, 1)
static double
s_uniform(uint64_t *state)
{
    return ((double)(s_next(state) >> 11) + 0.5) / 9007199254740992.0;
}

//  Standard normal (Box-Muller)
static double
s_normal(uint64_t *state)
{
    double radius = sqrt(-2.0 * log(s_uniform(state)));
    return radius * cos(2.0 * M_PI * s_uniform(state));
}

//  A new string, like "tests/test_007.py::test_3" (file, index)
static char *
s_test_name(size_t file, const size_t *index)
{
    char buffer[96];
    if (index)
        snprintf(buffer, sizeof buffer, "tests/test_%03zu.py::test_%zu", file, *index);
    else
        snprintf(buffer, sizeof buffer, "tests/test_%03zu.py", file);
    char *copy = strdup(buffer);
    if (!copy)
        abort();
    return copy;
}

//  Files get log-normal sizes (at least one test); tests log-normal times:
//  median 30 ms, a per-file factor (sigma 0.8) and a per-test one (sigma 1.0)
static void
s_generate(sim_t *sim)
{
    uint64_t state = sim->seed;
    double *file_weight = calloc(sim->file_count, sizeof *file_weight);
    double *file_factor = calloc(sim->file_count, sizeof *file_factor);
    size_t *file_size = calloc(sim->file_count, sizeof *file_size);
    sim->durations_ms = calloc(sim->test_count, sizeof *sim->durations_ms);
    sim->file_of = calloc(sim->test_count, sizeof *sim->file_of);
    sim->test_ids = calloc(sim->test_count, sizeof *sim->test_ids);
    sim->file_names = calloc(sim->file_count, sizeof *sim->file_names);
    if (!file_weight || !file_factor || !file_size || !sim->durations_ms || !sim->file_of ||
        !sim->test_ids || !sim->file_names)
        abort();
    double weight_sum = 0;
    for (size_t file = 0; file < sim->file_count; file++) {
        file_weight[file] = exp(0.7 * s_normal(&state));
        file_factor[file] = exp(0.8 * s_normal(&state));
        weight_sum += file_weight[file];
        sim->file_names[file] = s_test_name(file, NULL);
    }
    //  Sizes proportional to the weights, one test each at least, rest by
    //  largest share
    size_t assigned = 0;
    for (size_t file = 0; file < sim->file_count; file++) {
        double share = file_weight[file] / weight_sum * (double)(sim->test_count - sim->file_count);
        file_size[file] = 1 + (size_t)share;
        assigned += file_size[file];
    }
    for (size_t file = 0; assigned < sim->test_count; file = (file + 1) % sim->file_count) {
        file_size[file]++;
        assigned++;
    }
    size_t position = 0;
    for (size_t file = 0; file < sim->file_count; file++)
        for (size_t index = 0; index < file_size[file]; index++, position++) {
            double duration_ms = 30.0 * file_factor[file] * exp(s_normal(&state));
            sim->durations_ms[position] = duration_ms;
            sim->file_of[position] = file;
            sim->test_ids[position] = s_test_name(file, &index);
            sim->total_ms += duration_ms;
            if (duration_ms > sim->longest_ms)
                sim->longest_ms = duration_ms;
        }
    free(file_weight);
    free(file_factor);
    free(file_size);
}

static void
s_free(sim_t *sim)
{
    for (size_t position = 0; position < sim->test_count; position++)
        free(sim->test_ids[position]);
    for (size_t file = 0; file < sim->file_count; file++)
        free(sim->file_names[file]);
    free(sim->test_ids);
    free(sim->file_names);
    free(sim->durations_ms);
    free(sim->file_of);
}

//  Estimates the planner sees
typedef enum {
    SIM_EXACT, //  history = truth
    SIM_NOISY, //  history off by up to +-noise
    SIM_COLD,  //  no history
} sim_history_t;

static tsr_testplan_t *
s_plan_new(const sim_t *sim, sim_history_t history, uint64_t *noise_state)
{
    tsr_testplan_t *plan = tsr_testplan_new();
    for (size_t position = 0; position < sim->test_count; position++) {
        double estimate_ms = sim->durations_ms[position];
        if (history == SIM_NOISY)
            estimate_ms *= 1.0 + sim->noise * (2.0 * s_uniform(noise_state) - 1.0);
        tsr_testplan_add(plan, sim->test_ids[position], sim->file_names[sim->file_of[position]],
                         history != SIM_COLD, estimate_ms);
    }
    return plan;
}

//  Dynamic pull: each shard, in queue order, goes to the slot free first
static double
s_makespan(const sim_t *sim, tsr_testplan_t *plan, uint32_t slots)
{
    double *free_at_ms = calloc(slots, sizeof *free_at_ms);
    if (!free_at_ms)
        abort();
    for (size_t shard = 0; shard < tsr_testplan_shard_count(plan); shard++) {
        double run_ms = sim->startup_ms;
        for (size_t index = 0; index < tsr_testplan_shard_size(plan, shard); index++)
            run_ms += sim->durations_ms[tsr_testplan_shard_test_at(plan, shard, index)];
        uint32_t first_free = 0;
        for (uint32_t slot = 1; slot < slots; slot++)
            if (free_at_ms[slot] < free_at_ms[first_free])
                first_free = slot;
        free_at_ms[first_free] += run_ms;
    }
    double makespan_ms = 0;
    for (uint32_t slot = 0; slot < slots; slot++)
        if (free_at_ms[slot] > makespan_ms)
            makespan_ms = free_at_ms[slot];
    free(free_at_ms);
    return makespan_ms;
}

//  One plan, simulated: its shard count and makespan
static void
s_run(const sim_t *sim, sim_history_t history, bool by_count, uint32_t slots, uint64_t *noise_state,
      size_t *shards_out, double *makespan_ms_out)
{
    tsr_testplan_t *plan = s_plan_new(sim, history, noise_state);
    tsr_testplan_opts_t opts = {
        .shards = by_count ? slots : sim->shards,
        .slots = slots,
        .startup_ms = sim->startup_ms,
    };
    int rc = by_count ? tsr_testplan_build_by_count(plan, &opts) : tsr_testplan_build(plan, &opts);
    if (rc != TSR_OK) {
        fprintf(stderr, "plan_sim: build failed: %s\n", tsr_strerror(rc));
        exit(3);
    }
    *shards_out = tsr_testplan_shard_count(plan);
    *makespan_ms_out = s_makespan(sim, plan, slots);
    tsr_testplan_destroy(&plan);
}

//  One table row; `worst_ms` > 0 adds the worst of the noisy plans
static void
s_row(const sim_t *sim, uint32_t slots, const char *name, size_t shards, double makespan_ms,
      double worst_ms, double bound_ms)
{
    printf("%5u  %-28s %6zu  %10.2f  %7.2f  %5.3f  %8.3f", slots, name, shards, makespan_ms / 1000,
           bound_ms / 1000, makespan_ms / bound_ms, makespan_ms / (bound_ms + sim->startup_ms));
    if (worst_ms > 0)
        printf("  (worst %5.3f)", worst_ms / bound_ms);
    printf("\n");
}

//  All rows for one slot count; returns whether the plan with exact history
//  met the target
static bool
s_report(const sim_t *sim, uint32_t slots)
{
    double bound_ms = sim->total_ms / slots;
    if (sim->longest_ms > bound_ms)
        bound_ms = sim->longest_ms;
    bool met = true;
    size_t shards;
    double makespan_ms;
    uint64_t noise_state = sim->seed ^ 0xA5A5A5A5ULL;

    s_run(sim, SIM_EXACT, false, slots, &noise_state, &shards, &makespan_ms);
    s_row(sim, slots, "timing, exact history", shards, makespan_ms, 0, bound_ms);
    met &= makespan_ms / bound_ms <= SIM_TARGET_RATIO;

    double sum_ms = 0, worst_ms = 0;
    for (unsigned trial = 0; trial < sim->trials; trial++) {
        s_run(sim, SIM_NOISY, false, slots, &noise_state, &shards, &makespan_ms);
        sum_ms += makespan_ms;
        if (makespan_ms > worst_ms)
            worst_ms = makespan_ms;
    }
    char name[64];
    snprintf(name, sizeof name, "timing, history +-%.0f%%", sim->noise * 100);
    s_row(sim, slots, name, shards, sum_ms / sim->trials, worst_ms, bound_ms);

    s_run(sim, SIM_COLD, false, slots, &noise_state, &shards, &makespan_ms);
    s_row(sim, slots, "timing, no history (groups)", shards, makespan_ms, 0, bound_ms);

    s_run(sim, SIM_EXACT, true, slots, &noise_state, &shards, &makespan_ms);
    s_row(sim, slots, "count-based, S chunks", shards, makespan_ms, 0, bound_ms);
    return met;
}

static void
s_usage(FILE *stream)
{
    fprintf(stream, "usage: plan_sim [--tests N] [--files N] [--slots S[,S...]] [--startup-ms MS]\n"
                    "                [--noise FRACTION] [--trials N] [--seed N] [--shards N]\n");
}

int
main(int argc, char **argv)
{
    sim_t sim = {
        .test_count = 2000,
        .file_count = 200,
        .startup_ms = 200,
        .noise = 0.3,
        .trials = 20,
        .seed = 42,
    };
    const char *slot_list = "2,16";
    static const struct option options[] = {
        {"tests", required_argument, NULL, 't'}, {"files", required_argument, NULL, 'f'},
        {"slots", required_argument, NULL, 's'}, {"startup-ms", required_argument, NULL, 'u'},
        {"noise", required_argument, NULL, 'n'}, {"trials", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 'x'},  {"shards", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 't':
            sim.test_count = strtoul(optarg, NULL, 10);
            break;
        case 'f':
            sim.file_count = strtoul(optarg, NULL, 10);
            break;
        case 's':
            slot_list = optarg;
            break;
        case 'u':
            sim.startup_ms = strtod(optarg, NULL);
            break;
        case 'n':
            sim.noise = strtod(optarg, NULL);
            break;
        case 'r':
            sim.trials = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'x':
            sim.seed = strtoull(optarg, NULL, 10);
            break;
        case 'k':
            sim.shards = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (sim.file_count == 0 || sim.test_count < sim.file_count || sim.trials == 0 ||
        !(sim.startup_ms >= 0) || !(sim.noise >= 0 && sim.noise < 1)) {
        s_usage(stderr);
        return 2;
    }
    s_generate(&sim);
    printf("plan_sim: %zu tests in %zu files, %.1f s of tests, longest %.2f s, "
           "start-up %.0f ms per shard, seed %llu\n",
           sim.test_count, sim.file_count, sim.total_ms / 1000, sim.longest_ms / 1000,
           sim.startup_ms, (unsigned long long)sim.seed);
    printf("ratio = makespan / bound, bound = max(total / slots, longest test); ratio_su =\n"
           "makespan / (bound + one start-up); noisy rows: mean of %u plans (and worst)\n\n",
           sim.trials);
    printf("%5s  %-28s %6s  %10s  %7s  %5s  %8s\n", "slots", "plan", "shards", "makespan_s",
           "bound_s", "ratio", "ratio_su");
    bool met = true;
    char *slots_copy = strdup(slot_list);
    char *cursor = slots_copy, *token;
    while ((token = strsep(&cursor, ",")) != NULL) {
        uint32_t slots = (uint32_t)strtoul(token, NULL, 10);
        if (slots == 0)
            continue;
        met &= s_report(&sim, slots);
    }
    free(slots_copy);
    s_free(&sim);
    printf("\ntarget: timing-based with exact history <= %.2f: %s\n", SIM_TARGET_RATIO,
           met ? "met" : "MISSED");
    return met ? 0 : 1;
}
