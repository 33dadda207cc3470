/*  Unit tests for test jobs in tsr_sched: LIST first (or the listing
    cache), RUN shards planned from the history, every test accounted
    exactly once across shards, unreported tests requeued, retries on
    another agent (but not waiting forever), --repeat copies spread over
    agents, flaky and fail_on_flaky, listing failures and collection
    errors, cancel, the history written at job end, and a restart from the
    run store in the middle of a job. A real LMDB environment (tsr_cas) in
    a scratch directory holds the history, the listing cache and the runs;
    no sockets; time is an argument.                                       */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsr_cas.h"
#include "tsr_planner.h"
#include "tsr_sched.h"
#include "tsr_store.h"
#include "tsr_testdir.h"

#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define MAX_RETRIES 2
#define P TESSERA__OUTCOME__PASSED
#define F TESSERA__OUTCOME__FAILED

typedef struct {
    char *dir;                //  owned scratch directory (tsr_testdir)
    tsr_cas_t *cas;           //  owned; its environment holds the stores
    tsr_history_t *history;   //  owned
    tsr_listings_t *listings; //  owned
    tsr_registry_t *registry; //  owned
    tsr_sched_t *sched;       //  owned
    zlistx_t *attempts;       //  borrowed attempts from the last fill
} fixture_t;

//  A test job spec on the test's own storage
typedef struct {
    Tessera__JobSpec spec;
    char *argv[4];
} test_job_t;

static void
s_job_init(test_job_t *job, const char *name, uint32_t retries, uint32_t repeat)
{
    memset(job, 0, sizeof *job);
    tessera__job_spec__init(&job->spec);
    job->spec.name = (char *)name;
    job->spec.framework = (char *)"pytest";
    job->argv[0] = (char *)"/usr/bin/python3";
    job->argv[1] = (char *)"-m";
    job->argv[2] = (char *)"pytest";
    job->spec.argv = job->argv;
    job->spec.n_argv = 3;
    job->spec.retries = retries;
    job->spec.repeat = repeat;
}

static void
s_open(fixture_t *fixture)
{
    char cas_dir[4200];
    snprintf(cas_dir, sizeof cas_dir, "%s/store", fixture->dir);
    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, cas_dir, 32u << 20), TSR_OK);
    fixture->history = tsr_history_new(tsr_cas_env(fixture->cas));
    assert_int_equal(tsr_history_open(fixture->history), TSR_OK);
    fixture->listings = tsr_listings_new(tsr_cas_env(fixture->cas));
    assert_int_equal(tsr_listings_open(fixture->listings), TSR_OK);
    fixture->registry = tsr_registry_new(3000);
    fixture->sched = tsr_sched_new(fixture->registry, MAX_RETRIES);
    tsr_sched_set_stores(fixture->sched, fixture->history, fixture->listings);
}

static void
s_close(fixture_t *fixture)
{
    tsr_sched_destroy(&fixture->sched);
    tsr_registry_destroy(&fixture->registry);
    tsr_listings_destroy(&fixture->listings);
    tsr_history_destroy(&fixture->history);
    tsr_cas_destroy(&fixture->cas);
}

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->dir = tsr_testdir_new("test_tsr_sched_tests");
    s_open(fixture);
    fixture->attempts = zlistx_new();
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zlistx_destroy(&fixture->attempts);
    s_close(fixture);
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

static tsr_run_t *
s_submit(fixture_t *fixture, test_job_t *job, const char *uuid, bool fail_on_flaky, uint64_t now_ms)
{
    Tessera__Submit submit = TESSERA__SUBMIT__INIT;
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    uint8_t hash[32] = {7, 7, 7};
    workspace.hash.data = hash;
    workspace.hash.len = sizeof hash;
    workspace.size = 100;
    Tessera__JobSpec *specs[1] = {&job->spec};
    submit.client_uuid = (char *)uuid;
    submit.project = (char *)"demo";
    submit.workspace = &workspace;
    submit.jobs = specs;
    submit.n_jobs = 1;
    submit.fail_on_flaky = fail_on_flaky;
    char *error = NULL;
    tsr_run_t *run = NULL;
    assert_int_equal(tsr_sched_submit(fixture->sched, &submit, now_ms, &run, &error), TSR_OK);
    assert_null(error);
    return run;
}

static tsr_registry_agent_t *
s_agent(fixture_t *fixture, const char *key, const char *name, size_t slots)
{
    Tessera__Hello hello = TESSERA__HELLO__INIT;
    uint32_t cpus[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    hello.name = (char *)name;
    hello.cpus = cpus;
    hello.n_cpus = slots;
    return tsr_registry_hello(fixture->registry, key, NULL, &hello, 0, NULL);
}

static size_t
s_fill(fixture_t *fixture, tsr_registry_agent_t *agent, uint64_t now_ms)
{
    zlistx_purge(fixture->attempts);
    return tsr_sched_fill(fixture->sched, agent, now_ms, fixture->attempts);
}

static tsr_attempt_t *
s_attempt(fixture_t *fixture, size_t position)
{
    tsr_attempt_t *attempt = (tsr_attempt_t *)zlistx_first(fixture->attempts);
    while (attempt && position--)
        attempt = (tsr_attempt_t *)zlistx_next(fixture->attempts);
    assert_non_null(attempt);
    return attempt;
}

//  A LIST result naming `ids` (and collection `errors`)
static int
s_listed(fixture_t *fixture, const char *key, uint64_t attempt_id, const char *const *ids,
         size_t count, const char *const *errors, size_t error_count, uint64_t now_ms)
{
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = attempt_id;
    result.duration_ms = 700;
    result.listed = (char **)ids;
    result.n_listed = count;
    result.list_errors = (char **)errors;
    result.n_list_errors = error_count;
    return tsr_sched_result(fixture->sched, key, &result, now_ms);
}

//  A RUN result: ids[i] ended outcomes[i] after durations[i] ms (NULL: 100 ms each)
static int s_ran_timed(fixture_t *fixture, const char *key, uint64_t attempt_id,
                       const char *const *ids, const Tessera__Outcome *outcomes,
                       const uint64_t *durations, size_t count, uint64_t now_ms);

static int
s_ran(fixture_t *fixture, const char *key, uint64_t attempt_id, const char *const *ids,
      const Tessera__Outcome *outcomes, size_t count, uint64_t now_ms)
{
    return s_ran_timed(fixture, key, attempt_id, ids, outcomes, NULL, count, now_ms);
}

static int
s_ran_timed(fixture_t *fixture, const char *key, uint64_t attempt_id, const char *const *ids,
            const Tessera__Outcome *outcomes, const uint64_t *durations, size_t count,
            uint64_t now_ms)
{
    Tessera__Result result = TESSERA__RESULT__INIT;
    Tessera__TestResult tests[16];
    Tessera__TestResult *pointers[16];
    assert_true(count <= 16);
    for (size_t index = 0; index < count; index++) {
        tessera__test_result__init(&tests[index]);
        tests[index].id = (char *)ids[index];
        tests[index].outcome = outcomes[index];
        tests[index].duration_ms = durations ? durations[index] : 100;
        tests[index].message = (char *)(outcomes[index] == F ? "assert False" : "");
        pointers[index] = &tests[index];
    }
    result.attempt_id = attempt_id;
    result.duration_ms = 400 + 100 * count; //  a 400 ms start-up
    result.exit_code = 0;
    result.tests = pointers;
    result.n_tests = count;
    return tsr_sched_result(fixture->sched, key, &result, now_ms);
}

//  The units of an attempt's shard, joined by spaces
static const char *
s_units(tsr_attempt_t *attempt, char *text, size_t size)
{
    text[0] = '\0';
    for (size_t index = 0; index < attempt->shard->unit_count; index++) {
        if (index)
            strncat(text, " ", size - strlen(text) - 1);
        strncat(text, attempt->shard->units[index], size - strlen(text) - 1);
    }
    return text;
}

static const Tessera__Event *
s_last_event(tsr_run_t *run, Tessera__Event__Kind kind)
{
    const Tessera__Event *found = NULL;
    for (Tessera__Event *event = (Tessera__Event *)zlistx_first(run->events); event;
         event = (Tessera__Event *)zlistx_next(run->events))
        if (event->kind == kind)
            found = event;
    return found;
}

static const Tessera__ShardSummary *
s_result_of(const Tessera__RunSummary *summary, const char *id)
{
    for (size_t index = 0; index < summary->n_results; index++)
        if (strcmp(summary->results[index]->id, id) == 0)
            return summary->results[index];
    return NULL;
}

static const char *const s_ids[] = {"t/a.py::1", "t/a.py::2", "t/b.py::1", "t/c.py::1"};

//  The listing: `agent` takes it at 1001 and lists the first `count` of s_ids at 1002
static void
s_list(fixture_t *fixture, tsr_registry_agent_t *agent, size_t count)
{
    assert_int_equal(s_fill(fixture, agent, 1001), 1);
    assert_int_equal(
        s_listed(fixture, agent->key, s_attempt(fixture, 0)->id, s_ids, count, NULL, 0, 1002),
        TSR_OK);
}

static void
test_sched_test_job_lists_then_runs_every_test_once(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    job.spec.threads = 2;
    job.spec.shards = 2;
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    assert_non_null(run->jobs[0]->tests);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 4);

    //  The listing takes one slot, whatever the job's threads
    assert_int_equal(s_fill(fixture, agent, 1001), 1);
    tsr_attempt_t *list = s_attempt(fixture, 0);
    assert_int_equal(list->shard->kind, TESSERA__ASSIGN__KIND__LIST);
    assert_int_equal(list->threads, 1);
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    tsr_planner_assign(list->shard, &assign);
    assert_int_equal(assign.kind, TESSERA__ASSIGN__KIND__LIST);
    assert_string_equal(assign.framework, "pytest");
    assert_string_equal(assign.project, "demo");
    assert_int_equal(assign.threads, 1);
    char id[64];
    tsr_shard_id(list->shard, id, sizeof id);
    assert_string_equal(id, "py/list");
    assert_int_equal(s_listed(fixture, KEY_A, list->id, s_ids, 4, NULL, 0, 1002), TSR_OK);
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);
    const Tessera__Event *listed = s_last_event(run, TESSERA__EVENT__KIND__SHARD_FINISHED);
    assert_int_equal(listed->tests_total, 4);
    assert_int_equal(listed->tests_done, 0);

    //  Two RUN shards of 2 threads each; groups (files) stay together
    assert_int_equal(s_fill(fixture, agent, 1003), 2);
    char units[2][256];
    s_units(s_attempt(fixture, 0), units[0], sizeof units[0]);
    s_units(s_attempt(fixture, 1), units[1], sizeof units[1]);
    assert_non_null(strstr(units[0], "t/a.py::1 t/a.py::2")
                        ? units[0]
                        : strstr(units[1], "t/a.py::1 t/a.py::2"));
    tsr_planner_assign(s_attempt(fixture, 0)->shard, &assign);
    assert_int_equal(assign.kind, TESSERA__ASSIGN__KIND__RUN);
    assert_int_equal(assign.threads, 2);
    assert_int_equal(assign.n_test_ids, s_attempt(fixture, 0)->shard->unit_count);
    Tessera__Outcome outcomes[4] = {P, P, P, P};
    tsr_attempt_t *first = s_attempt(fixture, 0), *second = s_attempt(fixture, 1);
    size_t first_count = first->shard->unit_count, second_count = second->shard->unit_count;
    assert_int_equal(first_count + second_count, 4);
    assert_int_equal(s_ran(fixture, KEY_A, first->id, (const char *const *)first->shard->units,
                           outcomes, first_count, 1500),
                     TSR_OK);
    assert_false(run->finished);
    const Tessera__Event *progress = s_last_event(run, TESSERA__EVENT__KIND__SHARD_FINISHED);
    assert_int_equal(progress->tests_done, first_count);
    assert_int_equal(progress->tests_total, 4);
    assert_int_equal(s_ran(fixture, KEY_A, second->id, (const char *const *)second->shard->units,
                           outcomes, second_count, 2000),
                     TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "passed");
    assert_int_equal(s_last_event(run, TESSERA__EVENT__KIND__RUN_FINISHED)->tests_done, 4);

    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_string_equal(summary.status, "passed");
    assert_int_equal(summary.total, 4);
    assert_int_equal(summary.passed, 4);
    assert_int_equal(summary.shards, 2); //  the listing is no shard of the summary
    assert_int_equal(summary.n_results, 4);
    assert_string_equal(summary.results[0]->id, "t/a.py::1");
    assert_string_equal(summary.results[0]->job, "py");
    assert_string_equal(summary.results[0]->group, "t/a.py");
    assert_int_equal(summary.results[0]->attempts, 1);
    assert_int_equal(summary.results[0]->n_tries, 1);
    assert_string_equal(summary.results[0]->agent, "a");
    tsr_run_summary_clear(&summary);
}

static void
test_sched_unreported_tests_run_in_a_new_shard(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    job.spec.shards = 1;
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    s_list(fixture, agent, 4);
    assert_int_equal(s_fill(fixture, agent, 1003), 1);
    //  The runner crashed in t/a.py::2: the other two got no result
    Tessera__Outcome outcomes[2] = {P, TESSERA__OUTCOME__CRASHED};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, outcomes, 2, 1100),
                     TSR_OK);
    assert_false(run->finished);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    assert_non_null(strstr(s_last_event(run, TESSERA__EVENT__KIND__SHARD_REQUEUED)->text,
                           "unreported: 2 tests"));
    assert_int_equal(s_fill(fixture, agent, 1200), 1);
    char units[256];
    assert_string_equal(s_units(s_attempt(fixture, 0), units, sizeof units), "t/b.py::1 t/c.py::1");
    Tessera__Outcome rest[2] = {P, F};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, &s_ids[2], rest, 2, 1300),
                     TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "failed");

    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.total, 4);
    assert_int_equal(summary.passed, 2);
    assert_int_equal(summary.failed, 2);
    assert_int_equal(summary.n_results, 4);
    for (size_t index = 0; index < 4; index++)
        assert_int_equal(summary.results[index]->n_tries, 1); //  exactly once each
    assert_int_equal(s_result_of(&summary, "t/a.py::2")->outcome, TESSERA__OUTCOME__CRASHED);
    tsr_run_summary_clear(&summary);
}

static void
test_sched_retry_prefers_another_agent(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 1, 0);
    job.spec.shards = 1;
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent_a = s_agent(fixture, KEY_A, "a", 1);
    tsr_registry_agent_t *agent_b = s_agent(fixture, KEY_B, "b", 1);
    s_list(fixture, agent_a, 2);
    assert_int_equal(s_fill(fixture, agent_a, 1003), 1);
    Tessera__Outcome outcomes[2] = {P, F};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, outcomes, 2, 1100),
                     TSR_OK);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    //  a is free, but b can take it: a leaves the retry to b
    assert_int_equal(s_fill(fixture, agent_a, 1200), 0);
    assert_int_equal(s_fill(fixture, agent_b, 1201), 1);
    assert_string_equal(s_attempt(fixture, 0)->agent_key, KEY_B);
    Tessera__Outcome passed[1] = {P};
    assert_int_equal(s_ran(fixture, KEY_B, s_attempt(fixture, 0)->id, &s_ids[1], passed, 1, 1300),
                     TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "passed"); //  flaky passes without fail_on_flaky

    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.flaky, 1);
    const Tessera__ShardSummary *flaky = s_result_of(&summary, "t/a.py::2");
    assert_true(flaky->flaky);
    assert_int_equal(flaky->outcome, P);
    assert_int_equal(flaky->n_tries, 2);
    assert_string_equal(flaky->tries[0]->agent, "a");
    assert_string_equal(flaky->tries[0]->message, "assert False");
    assert_string_equal(flaky->tries[1]->agent, "b");
    assert_string_equal(flaky->agent, "b");
    tsr_run_summary_clear(&summary);
}

static void
test_sched_retry_does_not_wait_forever(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 1, 0);
    job.spec.shards = 1;
    (void)s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent_a = s_agent(fixture, KEY_A, "a", 1);
    s_list(fixture, agent_a, 1);
    assert_int_equal(s_fill(fixture, agent_a, 1003), 1);
    Tessera__Outcome failed[1] = {F};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, failed, 1, 1100),
                     TSR_OK);
    //  Alone: a takes its own retry at once
    assert_int_equal(s_fill(fixture, agent_a, 1101), 1);
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, failed, 1, 1200),
                     TSR_OK);

    //  Another run, with a busy second agent: a waits, then takes it
    (void)s_submit(fixture, &job, "u2", false, 2000);
    tsr_registry_agent_t *agent_b = s_agent(fixture, KEY_B, "b", 1);
    assert_int_equal(s_fill(fixture, agent_a, 2001), 1); //  the listing is cached: a RUN
    assert_int_equal(s_attempt(fixture, 0)->shard->kind, TESSERA__ASSIGN__KIND__RUN);
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, failed, 1, 2100),
                     TSR_OK);
    tsr_registry_lease(fixture->registry, agent_b, 1, 1); //  b is busy with something else
    assert_int_equal(s_fill(fixture, agent_a, 2200), 0);
    assert_int_equal(s_fill(fixture, agent_a, 2100 + TSR_SCHED_AVOID_WAIT_MS - 1), 0);
    assert_int_equal(s_fill(fixture, agent_a, 2100 + TSR_SCHED_AVOID_WAIT_MS), 1);
}

static void
test_sched_repeat_spreads_copies_over_agents(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 2);
    job.spec.shards = 1;
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent_a = s_agent(fixture, KEY_A, "a", 2);
    tsr_registry_agent_t *agent_b = s_agent(fixture, KEY_B, "b", 2);
    s_list(fixture, agent_a, 2);
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);
    //  a takes one copy and leaves the other to b
    assert_int_equal(s_fill(fixture, agent_a, 1003), 1);
    tsr_attempt_t *on_a = s_attempt(fixture, 0);
    assert_int_equal(s_fill(fixture, agent_b, 1004), 1);
    tsr_attempt_t *on_b = s_attempt(fixture, 0);
    assert_int_equal(on_a->shard->sibling, on_b->shard->sibling);
    Tessera__Outcome first[2] = {P, P}, second[2] = {P, F};
    assert_int_equal(s_ran(fixture, KEY_A, on_a->id, s_ids, first, 2, 1100), TSR_OK);
    assert_int_equal(s_ran(fixture, KEY_B, on_b->id, s_ids, second, 2, 1200), TSR_OK);
    assert_true(run->finished);
    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.total, 2);
    assert_int_equal(summary.flaky, 1);
    assert_int_equal(s_result_of(&summary, "t/a.py::1")->n_tries, 2);
    assert_true(s_result_of(&summary, "t/a.py::2")->flaky);
    tsr_run_summary_clear(&summary);
}

static void
test_sched_fail_on_flaky_fails_the_run(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 1, 0);
    job.spec.shards = 1;
    tsr_run_t *run = s_submit(fixture, &job, "u1", true, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    s_list(fixture, agent, 1);
    Tessera__Outcome failed[1] = {F}, passed[1] = {P};
    assert_int_equal(s_fill(fixture, agent, 1003), 1);
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, failed, 1, 1100),
                     TSR_OK);
    assert_int_equal(s_fill(fixture, agent, 1101), 1);
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, passed, 1, 1200),
                     TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "failed");
}

static void
test_sched_listing_failure_is_retried_then_errors(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    for (uint32_t attempt = 0; attempt <= MAX_RETRIES; attempt++) {
        assert_int_equal(s_fill(fixture, agent, 1001 + attempt), 1);
        Tessera__Result result = TESSERA__RESULT__INIT;
        result.attempt_id = s_attempt(fixture, 0)->id;
        result.error = (char *)"cannot parse pytest's listing";
        assert_int_equal(tsr_sched_result(fixture->sched, KEY_A, &result, 1100), TSR_OK);
    }
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "error");
    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.errors, 1);
    assert_int_equal(summary.n_messages, 1);
    assert_non_null(strstr(summary.messages[0], "listing failed"));
    assert_non_null(strstr(summary.messages[0], "cannot parse pytest's listing"));
    assert_int_equal(summary.total, 0);
    tsr_run_summary_clear(&summary);
}

static void
test_sched_hung_listing_is_listed_again(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    assert_int_equal(s_fill(fixture, agent, 1001), 1);
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = s_attempt(fixture, 0)->id;
    result.timed_out = true;
    result.exit_code = -1;
    result.term_signal = 9;
    assert_int_equal(tsr_sched_result(fixture->sched, KEY_A, &result, 1100), TSR_OK);
    tsr_shard_t *listing = run->jobs[0]->shards[0];
    assert_int_equal(listing->state, TSR_SHARD_QUEUED);
    assert_int_equal(listing->infra_failures, 1);
    assert_non_null(strstr(s_last_event(run, TESSERA__EVENT__KIND__SHARD_REQUEUED)->text,
                           "listing on a timed out"));
    assert_false(tsr_testrun_is_listed(run->jobs[0]->tests));
}

static void
test_sched_collection_errors_fail_the_run(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    assert_int_equal(s_fill(fixture, agent, 1001), 1);
    const char *errors[] = {"t/broken.py: SyntaxError: invalid syntax"};
    assert_int_equal(s_listed(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, 1, errors, 1, 1002),
                     TSR_OK);
    assert_int_equal(s_fill(fixture, agent, 1003), 1);
    Tessera__Outcome passed[1] = {P};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, passed, 1, 1100),
                     TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "failed");
    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.errors, 1);
    assert_non_null(strstr(summary.messages[0], "collection error: t/broken.py"));
    assert_int_equal(summary.passed, 1);
    tsr_run_summary_clear(&summary);

    //  A listing with errors is not cached: the next run lists again
    (void)s_submit(fixture, &job, "u2", false, 2000);
    assert_int_equal(s_fill(fixture, agent, 2001), 1);
    assert_int_equal(s_attempt(fixture, 0)->shard->kind, TESSERA__ASSIGN__KIND__LIST);
}

static void
test_sched_cancel_ends_test_job(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    job.spec.shards = 2;
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    s_list(fixture, agent, 4);
    assert_int_equal(s_fill(fixture, agent, 1003), 1);
    zlistx_t *refs = tsr_lease_refs_new();
    assert_int_equal(tsr_sched_cancel(fixture->sched, run->id, 1100, refs), TSR_OK);
    assert_int_equal(zlistx_size(refs), 1);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "cancelled");
    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.total, 4);
    assert_int_equal(summary.skipped, 4); //  cancelled tests count as skipped (tsr_report)
    assert_int_equal(summary.results[0]->outcome, TESSERA__OUTCOME__CANCELLED);
    tsr_run_summary_clear(&summary);
    zlistx_destroy(&refs);
}

static void
test_sched_history_is_recorded_and_plans_the_next_run(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 1, 0);
    job.spec.shards = 1;
    (void)s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    s_list(fixture, agent, 2);
    assert_int_equal(s_fill(fixture, agent, 1003), 1);
    Tessera__Outcome outcomes[2] = {P, F};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, outcomes, 2, 1100),
                     TSR_OK);
    tsr_history_entry_t entry;
    //  Nothing is written before the job ends
    assert_int_equal(tsr_history_lookup(fixture->history, "demo", "py", "t/a.py::1", &entry),
                     TSR_ENOTFOUND);
    assert_int_equal(s_fill(fixture, agent, 1101), 1);
    Tessera__Outcome passed[1] = {P};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, &s_ids[1], passed, 1, 1200),
                     TSR_OK);
    assert_int_equal(tsr_history_lookup(fixture->history, "demo", "py", "t/a.py::1", &entry),
                     TSR_OK);
    assert_int_equal(entry.runs, 1);
    assert_int_equal((int)entry.mean_ms, 100);
    assert_int_equal(tsr_history_lookup(fixture->history, "demo", "py", "t/a.py::2", &entry),
                     TSR_OK);
    assert_int_equal(entry.runs, 2); //  every try
    assert_int_equal(entry.failures, 1);
    assert_int_equal(entry.flaky, 1);
    tsr_history_startup_t startup;
    assert_int_equal(tsr_history_startup(fixture->history, "demo", "py", &startup), TSR_OK);
    assert_int_equal(startup.samples, 2);
    assert_int_equal((int)startup.startup_ms, 400);
}

//  The ids one attempt runs, as a string
static void
s_units_of(fixture_t *fixture, size_t position, char *text, size_t size)
{
    s_units(s_attempt(fixture, position), text, size);
}

static void
test_sched_second_run_is_planned_from_recorded_timings(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    const char *ids[] = {"t/a.py::1", "t/b.py::1", "t/c.py::1", "t/d.py::1"};
    test_job_t job;
    s_job_init(&job, "py", 0, 0);
    job.spec.shards = 2;
    (void)s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 2);
    assert_int_equal(s_fill(fixture, agent, 1001), 1);
    assert_int_equal(s_listed(fixture, KEY_A, s_attempt(fixture, 0)->id, ids, 4, NULL, 0, 1002),
                     TSR_OK);
    //  Without history every test weighs the same: two tests per shard
    assert_int_equal(s_fill(fixture, agent, 1003), 2);
    Tessera__Outcome passed[4] = {P, P, P, P};
    for (size_t position = 0; position < 2; position++) {
        tsr_attempt_t *attempt = s_attempt(fixture, position);
        assert_int_equal(attempt->shard->unit_count, 2);
        uint64_t durations[2];
        for (size_t index = 0; index < 2; index++)
            durations[index] = strcmp(attempt->shard->units[index], "t/c.py::1") == 0 ? 3000 : 100;
        assert_int_equal(s_ran_timed(fixture, KEY_A, attempt->id,
                                     (const char *const *)attempt->shard->units, passed, durations,
                                     2, 5000),
                         TSR_OK);
    }
    //  The next run (listing cached) gives the slow test a shard of its own, first
    tsr_run_t *run = s_submit(fixture, &job, "u2", false, 6000);
    assert_int_equal(s_fill(fixture, agent, 6001), 2);
    char units[2][256];
    s_units_of(fixture, 0, units[0], sizeof units[0]);
    s_units_of(fixture, 1, units[1], sizeof units[1]);
    assert_string_equal(units[0], "t/c.py::1");
    assert_string_equal(units[1], "t/a.py::1 t/b.py::1 t/d.py::1");
    assert_int_equal(run->jobs[0]->shards[0]->state, TSR_SHARD_DONE); //  no LIST ran
}

static void
test_sched_restart_in_the_middle_of_a_test_job(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "py", 1, 0);
    job.spec.shards = 1;
    tsr_run_t *run = s_submit(fixture, &job, "u1", false, 1000);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1);
    s_list(fixture, agent, 3);
    assert_int_equal(s_fill(fixture, agent, 1003), 1);
    Tessera__Outcome outcomes[1] = {F};
    assert_int_equal(s_ran(fixture, KEY_A, s_attempt(fixture, 0)->id, s_ids, outcomes, 1, 1100),
                     TSR_OK);
    //  Queued now: the unreported two and the retry of the failed one
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);

    tsr_store_t *store = tsr_store_new();
    assert_int_equal(tsr_store_open(store, tsr_cas_env(fixture->cas)), TSR_OK);
    zlistx_t *runs = zlistx_new();
    zlistx_add_end(runs, run);
    assert_int_equal(tsr_store_save(store, runs, NULL, 2, 100), TSR_OK);
    zlistx_destroy(&runs);
    tsr_store_destroy(&store);

    //  A new coordinator life
    s_close(fixture);
    s_open(fixture);
    store = tsr_store_new();
    assert_int_equal(tsr_store_open(store, tsr_cas_env(fixture->cas)), TSR_OK);
    runs = zlistx_new();
    uint64_t next_run = 0, next_attempt = 0;
    assert_int_equal(tsr_store_load(store, runs, &next_run, &next_attempt), TSR_OK);
    assert_int_equal(zlistx_size(runs), 1);
    tsr_run_t *restored = (tsr_run_t *)zlistx_first(runs);
    tsr_sched_set_counters(fixture->sched, next_run, next_attempt);
    tsr_sched_adopt(fixture->sched, &restored, 2000, 3000);
    zlistx_destroy(&runs);
    tsr_store_destroy(&store);
    run = tsr_sched_run(fixture->sched, "run-1");
    assert_non_null(run);
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);
    tsr_test_t *failed = tsr_testrun_find(run->jobs[0]->tests, "t/a.py::1");
    assert_int_equal(zlistx_size(failed->tries), 1);
    assert_int_equal(failed->pending, 1);
    assert_int_equal(failed->retries_used, 1);

    agent = s_agent(fixture, KEY_A, "a", 2);
    assert_int_equal(s_fill(fixture, agent, 2001), 2);
    for (size_t index = 0; index < 2; index++) {
        tsr_attempt_t *attempt = s_attempt(fixture, index);
        Tessera__Outcome passed[2] = {P, P};
        assert_int_equal(s_ran(fixture, KEY_A, attempt->id,
                               (const char *const *)attempt->shard->expect, passed,
                               attempt->shard->expect_count, 2100),
                         TSR_OK);
    }
    assert_true(run->finished);
    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_int_equal(summary.total, 3);
    assert_int_equal(summary.passed, 3);
    assert_int_equal(summary.flaky, 1);
    tsr_run_summary_clear(&summary);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sched_test_job_lists_then_runs_every_test_once,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_unreported_tests_run_in_a_new_shard, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_retry_prefers_another_agent, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_retry_does_not_wait_forever, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_repeat_spreads_copies_over_agents, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_fail_on_flaky_fails_the_run, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_listing_failure_is_retried_then_errors, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_hung_listing_is_listed_again, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_collection_errors_fail_the_run, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_cancel_ends_test_job, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_history_is_recorded_and_plans_the_next_run,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_second_run_is_planned_from_recorded_timings,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_sched_restart_in_the_middle_of_a_test_job, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
