/*  Unit tests for tsr_sched: queue, leases, expiry requeue, stale results,
    bounded retries, needs gating, cancel, restore. No sockets; time is an
    argument.                                                               */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_sched.h"

#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define MAX_RETRIES 2

typedef struct {
    tsr_registry_t *registry;
    tsr_sched_t *sched;
    zlistx_t *attempts; //  borrowed attempts from the last fill
    zlistx_t *refs;     //  lease refs (owned)
} fixture_t;

//  A job spec built on the test's own storage (submit copies it)
typedef struct {
    Tessera__JobSpec spec;
    char *argv[1];
    char *needs[4];
    Tessera__Label label;
    Tessera__Label *labels[1];
} test_job_t;

static void
s_job_init(test_job_t *job, const char *name, uint32_t shards)
{
    memset(job, 0, sizeof *job);
    tessera__job_spec__init(&job->spec);
    job->spec.name = (char *)name;
    job->argv[0] = (char *)"true";
    job->spec.argv = job->argv;
    job->spec.n_argv = 1;
    job->spec.shards = shards;
    job->spec.needs = job->needs;
}

static void
s_job_need(test_job_t *job, const char *need)
{
    job->needs[job->spec.n_needs++] = (char *)need;
}

static void
s_job_label(test_job_t *job, const char *key, const char *value)
{
    tessera__label__init(&job->label);
    job->label.key = (char *)key;
    job->label.value = (char *)value;
    job->labels[0] = &job->label;
    job->spec.labels = job->labels;
    job->spec.n_labels = 1;
}

static int
s_submit(fixture_t *fixture, test_job_t *jobs, size_t count, const char *uuid, uint64_t now_ms,
         tsr_run_t **run_out)
{
    Tessera__Submit submit = TESSERA__SUBMIT__INIT;
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    uint8_t hash[32] = {1, 2, 3};
    workspace.hash.data = hash;
    workspace.hash.len = sizeof hash;
    workspace.size = 100;
    Tessera__JobSpec *specs[8];
    assert_true(count <= 8);
    for (size_t index = 0; index < count; index++)
        specs[index] = &jobs[index].spec;
    submit.client_uuid = (char *)(uuid ? uuid : "");
    submit.project = (char *)"demo";
    submit.workspace = &workspace;
    submit.jobs = specs;
    submit.n_jobs = count;
    submit.uploaded_bytes = 42;
    char *error = NULL;
    tsr_run_t *run = NULL;
    int rc = tsr_sched_submit(fixture->sched, &submit, now_ms, &run, &error);
    if (rc == TSR_OK)
        assert_null(error);
    else
        assert_non_null(error);
    free(error);
    if (run_out)
        *run_out = run;
    return rc;
}

static tsr_registry_agent_t *
s_agent(fixture_t *fixture, const char *key, const char *name, size_t slots, const char *os)
{
    Tessera__Hello hello = TESSERA__HELLO__INIT;
    uint32_t cpus[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    Tessera__Label label = TESSERA__LABEL__INIT;
    Tessera__Label *labels[1] = {&label};
    hello.name = (char *)name;
    hello.cpus = cpus;
    hello.n_cpus = slots;
    label.key = (char *)"os";
    label.value = (char *)os;
    hello.labels = labels;
    hello.n_labels = 1;
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

static int
s_result(fixture_t *fixture, const char *key, uint64_t attempt_id, int exit_code, uint64_t now_ms)
{
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = attempt_id;
    result.exit_code = exit_code;
    result.duration_ms = 5;
    result.output_tail.data = (uint8_t *)"out\n";
    result.output_tail.len = 4;
    return tsr_sched_result(fixture->sched, key, &result, now_ms);
}

static size_t
s_events(tsr_run_t *run, Tessera__Event__Kind kind)
{
    size_t count = 0;
    for (Tessera__Event *event = (Tessera__Event *)zlistx_first(run->events); event;
         event = (Tessera__Event *)zlistx_next(run->events))
        count += event->kind == kind;
    return count;
}

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->registry = tsr_registry_new(3000);
    fixture->sched = tsr_sched_new(fixture->registry, MAX_RETRIES);
    fixture->attempts = zlistx_new();
    fixture->refs = tsr_lease_refs_new();
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zlistx_destroy(&fixture->attempts);
    zlistx_destroy(&fixture->refs);
    tsr_sched_destroy(&fixture->sched);
    tsr_registry_destroy(&fixture->registry);
    free(fixture);
    return 0;
}

static void
test_sched_fill_uses_free_slots_in_queue_order(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 4);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, "u1", 1000, &run), TSR_OK);
    assert_string_equal(run->id, "run-1");
    assert_int_equal(tsr_sched_queued(fixture->sched), 4);
    assert_string_equal(tsr_run_status(run), "queued");

    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 3, "linux");
    assert_int_equal(s_fill(fixture, agent, 1001), 3);
    assert_int_equal(tsr_registry_agent_free_slots(agent), 0);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    for (size_t index = 0; index < 3; index++) {
        tsr_attempt_t *attempt = s_attempt(fixture, index);
        assert_int_equal(attempt->shard->index, index);
        assert_string_equal(attempt->agent_key, KEY_A);
        assert_int_equal(attempt->shard->state, TSR_SHARD_RUNNING);
    }
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__SHARD_STARTED), 3);
    assert_string_equal(tsr_run_status(run), "running");
    uint64_t first = s_attempt(fixture, 0)->id;
    assert_int_equal(s_fill(fixture, agent, 1002), 0); //  no free slot left

    //  A result frees the slot: the last shard goes to it
    assert_int_equal(s_result(fixture, KEY_A, first, 0, 1003), TSR_OK);
    assert_int_equal(tsr_registry_agent_free_slots(agent), 1);
    assert_int_equal(s_fill(fixture, agent, 1004), 1);
    assert_int_equal(s_attempt(fixture, 0)->shard->index, 3);
}

static void
test_sched_run_passes_when_all_shards_pass(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 2);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 1000, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 2, "linux");
    assert_int_equal(s_fill(fixture, agent, 1000), 2);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 0, 1500), TSR_OK);
    assert_false(run->finished);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 1)->id, 0, 2000), TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "passed");
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__SHARD_FINISHED), 2);
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__JOB_FINISHED), 1);
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__RUN_FINISHED), 1);
    assert_int_equal(agent->running, 0);

    Tessera__RunSummary summary;
    tsr_run_summary(run, 9999, true, &summary);
    assert_string_equal(summary.status, "passed");
    assert_int_equal(summary.total, 2);
    assert_int_equal(summary.passed, 2);
    assert_int_equal(summary.shards, 2);
    assert_int_equal(summary.wall_ms, 1000); //  finished at 2000, created at 1000
    assert_int_equal(summary.uploaded_bytes, 42);
    assert_int_equal(summary.n_results, 2);
    assert_string_equal(summary.results[1]->id, "unit/1");
    assert_string_equal(summary.results[1]->agent, "a");
    assert_int_equal(summary.results[1]->attempts, 1);
    assert_int_equal(summary.results[1]->outcome, TESSERA__OUTCOME__PASSED);
    tsr_run_summary_clear(&summary);
}

static void
test_sched_single_shard_id_is_job_name(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "build", 0); //  0 = auto: one shard for a command
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    assert_int_equal(run->jobs[0]->shard_count, 1);
    char id[64];
    tsr_shard_id(run->jobs[0]->shards[0], id, sizeof id);
    assert_string_equal(id, "build");
}

static void
test_sched_failed_command_fails_run(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 1);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 1, 10), TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "failed");
    assert_int_equal(run->jobs[0]->shards[0]->outcome, TESSERA__OUTCOME__FAILED);
    assert_string_equal(run->jobs[0]->shards[0]->text, "exit code 1");
}

static void
test_sched_outcome_maps_timeout_signal_and_error(void **state)
{
    (void)state;
    Tessera__Result result = TESSERA__RESULT__INIT;
    assert_int_equal(tsr_sched_outcome(&result), TESSERA__OUTCOME__PASSED);
    result.exit_code = 3;
    assert_int_equal(tsr_sched_outcome(&result), TESSERA__OUTCOME__FAILED);
    result.exit_code = -1;
    result.term_signal = 9;
    assert_int_equal(tsr_sched_outcome(&result), TESSERA__OUTCOME__CRASHED);
    result.timed_out = true;
    assert_int_equal(tsr_sched_outcome(&result), TESSERA__OUTCOME__TIMED_OUT);
    result.error = (char *)"materialise failed";
    assert_int_equal(tsr_sched_outcome(&result), TESSERA__OUTCOME__ERROR);
}

static void
test_sched_labels_must_match(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "mac", 1);
    s_job_label(&job, "os", "darwin");
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, NULL), TSR_OK);
    tsr_registry_agent_t *linux_agent = s_agent(fixture, KEY_A, "a", 4, "linux");
    assert_int_equal(s_fill(fixture, linux_agent, 0), 0);
    tsr_registry_agent_t *mac_agent = s_agent(fixture, KEY_B, "b", 1, "darwin");
    assert_int_equal(s_fill(fixture, mac_agent, 0), 1);
}

static void
test_sched_threads_must_fit(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t wide;
    s_job_init(&wide, "wide", 1);
    wide.spec.threads = 2;
    assert_int_equal(s_submit(fixture, &wide, 1, NULL, 0, NULL), TSR_OK);
    tsr_registry_agent_t *small = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, small, 0), 0);
    tsr_registry_agent_t *big = s_agent(fixture, KEY_B, "b", 3, "linux");
    assert_int_equal(s_fill(fixture, big, 0), 1);
    assert_int_equal(s_attempt(fixture, 0)->threads, 2);
    assert_int_equal(big->used_slots, 2);
    assert_int_equal(tsr_registry_agent_free_slots(big), 1);
}

static void
test_sched_draining_agent_gets_no_work(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, NULL), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 2, "linux");
    tsr_registry_set_drain(fixture->registry, agent, true);
    assert_int_equal(s_fill(fixture, agent, 0), 0);
    tsr_registry_set_drain(fixture->registry, agent, false);
    assert_int_equal(s_fill(fixture, agent, 0), 1);
}

static void
test_sched_lost_agent_requeues_and_stale_result_is_ignored(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *first = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, first, 0), 1);
    uint64_t stale_id = s_attempt(fixture, 0)->id;

    //  The agent stops heartbeating: its lease ends, the shard is queued again
    assert_int_equal(tsr_sched_agent_lost(fixture->sched, KEY_A, "agent a lost", 4000), 1);
    tsr_registry_remove(fixture->registry, KEY_A);
    assert_null(tsr_sched_attempt(fixture->sched, stale_id));
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__SHARD_REQUEUED), 1);

    tsr_registry_agent_t *second = s_agent(fixture, KEY_B, "b", 1, "linux");
    assert_int_equal(s_fill(fixture, second, 4100), 1);
    uint64_t new_id = s_attempt(fixture, 0)->id;
    assert_true(new_id != stale_id);

    //  The first agent is continued (SIGCONT): its late result changes nothing
    assert_int_equal(s_result(fixture, KEY_A, stale_id, 0, 4200), TSR_ENOTFOUND);
    //  Nor may another agent report an attempt that is not its own
    assert_int_equal(s_result(fixture, KEY_A, new_id, 0, 4200), TSR_ENOTFOUND);
    Tessera__Progress progress = TESSERA__PROGRESS__INIT;
    progress.attempt_id = stale_id;
    assert_int_equal(tsr_sched_progress(fixture->sched, KEY_A, &progress, 4200), TSR_ENOTFOUND);
    progress.attempt_id = new_id;
    assert_int_equal(tsr_sched_progress(fixture->sched, KEY_B, &progress, 4200), TSR_OK);
    assert_false(run->finished);
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__SHARD_FINISHED), 0);

    assert_int_equal(s_result(fixture, KEY_B, new_id, 0, 4300), TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "passed");
    assert_int_equal(run->jobs[0]->shards[0]->attempts, 2);
    assert_string_equal(run->jobs[0]->shards[0]->agent_name, "b");
    assert_int_equal(s_events(run, TESSERA__EVENT__KIND__SHARD_FINISHED), 1); //  reported once
}

static void
test_sched_infra_retries_are_bounded(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    for (int lost = 0; lost <= MAX_RETRIES; lost++) {
        tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
        assert_int_equal(s_fill(fixture, agent, 0), 1);
        tsr_sched_agent_lost(fixture->sched, KEY_A, "agent lost", 10);
        tsr_registry_remove(fixture->registry, KEY_A);
    }
    //  MAX_RETRIES requeues, then the next failure ends the shard as ERROR
    assert_true(run->finished);
    assert_int_equal(run->jobs[0]->shards[0]->outcome, TESSERA__OUTCOME__ERROR);
    assert_int_equal(run->jobs[0]->shards[0]->attempts, MAX_RETRIES + 1);
    assert_non_null(strstr(run->jobs[0]->shards[0]->text, "gave up"));
    assert_string_equal(tsr_run_status(run), "error");
    assert_int_equal(tsr_sched_queued(fixture->sched), 0);
}

static void
test_sched_result_error_counts_as_infra_failure(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 1);
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = s_attempt(fixture, 0)->id;
    result.error = (char *)"cannot materialise";
    assert_int_equal(tsr_sched_result(fixture->sched, KEY_A, &result, 10), TSR_OK);
    assert_int_equal(run->jobs[0]->shards[0]->infra_failures, 1);
    assert_int_equal(run->jobs[0]->shards[0]->state, TSR_SHARD_QUEUED);
    assert_int_equal(agent->running, 0);
}

static void
test_sched_hand_back_requeues_without_counting(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    for (int round = 0; round < MAX_RETRIES + 3; round++) {
        tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
        assert_int_equal(s_fill(fixture, agent, 0), 1);
        uint64_t id = s_attempt(fixture, 0)->id;
        tsr_sched_hand_back(fixture->sched, KEY_A, &id, 1, 10);
        assert_int_equal(agent->running, 0);
    }
    assert_false(run->finished);
    assert_int_equal(run->jobs[0]->shards[0]->infra_failures, 0);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    //  Ids that are not current on the agent are ignored
    uint64_t bogus = 999;
    tsr_sched_hand_back(fixture->sched, KEY_A, &bogus, 1, 10);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
}

static void
test_sched_command_retries_mark_flaky(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    job.spec.retries = 1;
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 1);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 1, 10), TSR_OK);
    assert_false(run->finished); //  retried, not failed
    assert_int_equal(s_fill(fixture, agent, 20), 1);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 0, 30), TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "passed");
    Tessera__RunSummary summary;
    tsr_run_summary(run, 30, false, &summary);
    assert_int_equal(summary.flaky, 1);
    assert_int_equal(summary.passed, 1);
    assert_int_equal(summary.n_results, 0);
    tsr_run_summary_clear(&summary);
}

static void
test_sched_command_retries_are_bounded(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    job.spec.retries = 1;
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    for (int round = 0; round < 2; round++) {
        assert_int_equal(s_fill(fixture, agent, 0), 1);
        assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 2, 10), TSR_OK);
    }
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "failed");
    assert_int_equal(run->jobs[0]->shards[0]->attempts, 2);
}

static void
test_sched_needs_gate_and_skip(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t jobs[3];
    s_job_init(&jobs[0], "build", 1);
    s_job_init(&jobs[1], "test", 2);
    s_job_need(&jobs[1], "build");
    s_job_init(&jobs[2], "deploy", 1);
    s_job_need(&jobs[2], "test");
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, jobs, 3, NULL, 0, &run), TSR_OK);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1); //  only build
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 4, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 1);
    assert_string_equal(s_attempt(fixture, 0)->shard->job->spec->name, "build");
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 0, 10), TSR_OK);

    //  build passed: test is queued, deploy still waits
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);
    assert_int_equal(s_fill(fixture, agent, 20), 2);
    assert_int_equal(run->jobs[2]->shards[0]->state, TSR_SHARD_WAITING);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 1, 30), TSR_OK);
    assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 1)->id, 0, 30), TSR_OK);

    //  test failed: deploy is skipped, never queued
    assert_true(run->finished);
    assert_int_equal(run->jobs[2]->shards[0]->state, TSR_SHARD_DONE);
    assert_int_equal(run->jobs[2]->shards[0]->outcome, TESSERA__OUTCOME__SKIPPED);
    assert_non_null(strstr(run->jobs[2]->shards[0]->text, "needs 'test'"));
    assert_string_equal(tsr_run_status(run), "failed");
    Tessera__RunSummary summary;
    tsr_run_summary(run, 30, false, &summary);
    assert_int_equal(summary.total, 4);
    assert_int_equal(summary.passed, 2);
    assert_int_equal(summary.failed, 1);
    assert_int_equal(summary.skipped, 1);
    tsr_run_summary_clear(&summary);
}

static void
test_sched_submit_rejects_bad_specs(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t jobs[2];
    //  needs a job that does not exist
    s_job_init(&jobs[0], "test", 1);
    s_job_need(&jobs[0], "build");
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_EINVAL);
    //  needs itself
    s_job_init(&jobs[0], "test", 1);
    s_job_need(&jobs[0], "test");
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_EINVAL);
    //  a cycle
    s_job_init(&jobs[0], "a", 1);
    s_job_need(&jobs[0], "b");
    s_job_init(&jobs[1], "b", 1);
    s_job_need(&jobs[1], "a");
    assert_int_equal(s_submit(fixture, jobs, 2, NULL, 0, NULL), TSR_EINVAL);
    //  the same name twice
    s_job_init(&jobs[0], "a", 1);
    s_job_init(&jobs[1], "a", 1);
    assert_int_equal(s_submit(fixture, jobs, 2, NULL, 0, NULL), TSR_EINVAL);
    //  no command
    s_job_init(&jobs[0], "a", 1);
    jobs[0].spec.n_argv = 0;
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_EINVAL);
    //  a workdir outside the workspace
    s_job_init(&jobs[0], "a", 1);
    jobs[0].spec.workdir = (char *)"sub/../../etc";
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_EINVAL);
    jobs[0].spec.workdir = (char *)"/etc";
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_EINVAL);
    jobs[0].spec.workdir = (char *)"sub/..dir/x";
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_OK);
    //  too many shards
    s_job_init(&jobs[0], "a", 1000000);
    assert_int_equal(s_submit(fixture, jobs, 1, NULL, 0, NULL), TSR_EINVAL);
    //  no jobs at all
    assert_int_equal(s_submit(fixture, jobs, 0, NULL, 0, NULL), TSR_EINVAL);
    //  no workspace digest
    Tessera__Submit submit = TESSERA__SUBMIT__INIT;
    Tessera__JobSpec *specs[1] = {&jobs[0].spec};
    s_job_init(&jobs[0], "a", 1);
    submit.jobs = specs;
    submit.n_jobs = 1;
    tsr_run_t *run = NULL;
    char *error = NULL;
    assert_int_equal(tsr_sched_submit(fixture->sched, &submit, 0, &run, &error), TSR_EINVAL);
    assert_non_null(error);
    free(error);
    assert_null(run);
    //  Only the run with the safe workdir was taken
    assert_int_equal(zlistx_size(tsr_sched_runs(fixture->sched)), 1);
}

static void
test_sched_submit_is_idempotent_by_client_uuid(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 2);
    tsr_run_t *first = NULL, *second = NULL, *third = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, "uuid-1", 0, &first), TSR_OK);
    assert_int_equal(s_submit(fixture, &job, 1, "uuid-1", 5, &second), TSR_OK);
    assert_ptr_equal(first, second);
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);
    assert_int_equal(s_submit(fixture, &job, 1, "uuid-2", 5, &third), TSR_OK);
    assert_ptr_not_equal(first, third);
    assert_string_equal(third->id, "run-2");
    assert_ptr_equal(tsr_sched_run(fixture->sched, "run-2"), third);
    assert_null(tsr_sched_run(fixture->sched, "run-9"));
}

static void
test_sched_queue_is_ordered_by_run(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *older = NULL, *newer = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &older), TSR_OK);
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &newer), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 1);
    assert_ptr_equal(s_attempt(fixture, 0)->shard->job->run, older);
    //  A requeued shard of the older run goes before the newer run's shards
    tsr_sched_agent_lost(fixture->sched, KEY_A, "lost", 10);
    assert_int_equal(s_fill(fixture, agent, 20), 1);
    assert_ptr_equal(s_attempt(fixture, 0)->shard->job->run, older);
}

static void
test_sched_hello_reattaches_and_cancels(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 2);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 2, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 2);
    uint64_t kept = s_attempt(fixture, 0)->id;
    uint64_t forgotten = s_attempt(fixture, 1)->id;

    //  The agent reconnects listing one attempt it still runs and one unknown id
    uint64_t in_flight[2] = {kept, 777};
    agent = s_agent(fixture, KEY_A, "a", 2, "linux");
    tsr_sched_hello(fixture->sched, KEY_A, in_flight, 2, 10, fixture->refs);
    assert_non_null(tsr_sched_attempt(fixture->sched, kept));
    assert_null(tsr_sched_attempt(fixture->sched, forgotten)); //  requeued
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    assert_int_equal(agent->running, 1);
    assert_int_equal(zlistx_size(fixture->refs), 1);
    tsr_lease_ref_t *ref = (tsr_lease_ref_t *)zlistx_first(fixture->refs);
    assert_int_equal(ref->attempt_id, 777);
    assert_string_equal(ref->agent_key, KEY_A);
}

static void
test_sched_cancel_ends_run_and_lists_running_attempts(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t jobs[2];
    s_job_init(&jobs[0], "unit", 3);
    s_job_init(&jobs[1], "after", 1);
    s_job_need(&jobs[1], "unit");
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, jobs, 2, NULL, 0, &run), TSR_OK);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 2, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 2);
    uint64_t running_id = s_attempt(fixture, 0)->id;
    assert_int_equal(tsr_sched_cancel(fixture->sched, run->id, 10, fixture->refs), TSR_OK);
    assert_true(run->finished);
    assert_string_equal(tsr_run_status(run), "cancelled");
    assert_int_equal(zlistx_size(fixture->refs), 2);
    assert_int_equal(agent->running, 0);
    assert_int_equal(tsr_sched_queued(fixture->sched), 0);
    assert_int_equal(run->jobs[1]->shards[0]->outcome, TESSERA__OUTCOME__CANCELLED);
    //  A result that arrives after the cancel is stale
    assert_int_equal(s_result(fixture, KEY_A, running_id, 0, 20), TSR_ENOTFOUND);
    assert_int_equal(tsr_sched_cancel(fixture->sched, "run-404", 10, fixture->refs), TSR_ENOTFOUND);
    assert_int_equal(tsr_sched_cancel(fixture->sched, run->id, 30, fixture->refs), TSR_OK);
}

//  A run as the store would give it back after a restart: one shard running
//  attempt 7 on agent A, one queued
static tsr_run_t *
s_restored_run(void)
{
    test_job_t job;
    s_job_init(&job, "unit", 2);
    tsr_digest_t workspace = {{0}, 1};
    tsr_run_t *run = tsr_run_new("run-5", 5, "uuid-5", "demo", &workspace, 100);
    tsr_job_t *restored = tsr_run_add_job(run, &job.spec, 2);
    restored->shards[0]->state = TSR_SHARD_RUNNING;
    restored->shards[0]->attempt_id = 7;
    restored->shards[0]->attempts = 1;
    restored->shards[0]->agent_key = strdup(KEY_A);
    restored->shards[0]->agent_name = strdup("a");
    restored->shards[1]->state = TSR_SHARD_QUEUED;
    run->event_seq = 3;
    return run;
}

static void
test_sched_restore_reattaches_orphan_on_hello(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_run_t *run = s_restored_run();
    tsr_run_t *borrowed = run;
    tsr_sched_adopt(fixture->sched, &run, 1000, 3000);
    assert_null(run);
    uint64_t next_run = 0, next_attempt = 0;
    tsr_sched_counters(fixture->sched, &next_run, &next_attempt);
    assert_int_equal(next_run, 6);
    assert_int_equal(next_attempt, 8);
    assert_int_equal(tsr_sched_queued(fixture->sched), 1);
    tsr_attempt_t *orphan = tsr_sched_attempt(fixture->sched, 7);
    assert_non_null(orphan);
    assert_int_equal(orphan->orphan_deadline_ms, 4000);

    //  The agent comes back within the grace period and lists attempt 7
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    uint64_t in_flight[1] = {7};
    tsr_sched_hello(fixture->sched, KEY_A, in_flight, 1, 2000, fixture->refs);
    assert_int_equal(zlistx_size(fixture->refs), 0);
    assert_int_equal(orphan->orphan_deadline_ms, 0);
    assert_int_equal(agent->running, 1);
    assert_int_equal(tsr_registry_agent_free_slots(agent), 0);
    tsr_sched_tick(fixture->sched, 5000); //  attached: the deadline no longer applies
    assert_non_null(tsr_sched_attempt(fixture->sched, 7));
    assert_int_equal(s_result(fixture, KEY_A, 7, 0, 5100), TSR_OK);
    assert_int_equal(borrowed->jobs[0]->shards[0]->outcome, TESSERA__OUTCOME__PASSED);
    //  Event numbers continue after the restored ones
    Tessera__Event *event = (Tessera__Event *)zlistx_last(borrowed->events);
    assert_true(event->seq > 3);
}

static void
test_sched_restore_requeues_orphan_after_grace(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_run_t *run = s_restored_run();
    tsr_run_t *borrowed = run;
    tsr_sched_adopt(fixture->sched, &run, 1000, 3000);
    tsr_sched_tick(fixture->sched, 3999);
    assert_non_null(tsr_sched_attempt(fixture->sched, 7));
    tsr_sched_tick(fixture->sched, 4000);
    assert_null(tsr_sched_attempt(fixture->sched, 7));
    assert_int_equal(tsr_sched_queued(fixture->sched), 2);
    assert_int_equal(borrowed->jobs[0]->shards[0]->infra_failures, 1);
    //  The agent shows up late: its attempt is no longer current, so it is cancelled
    s_agent(fixture, KEY_A, "a", 1, "linux");
    uint64_t in_flight[1] = {7};
    tsr_sched_hello(fixture->sched, KEY_A, in_flight, 1, 4100, fixture->refs);
    assert_int_equal(zlistx_size(fixture->refs), 1);
}

static void
test_sched_dirty_runs_are_taken_once(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_run_t *run = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &run), TSR_OK);
    zlistx_t *dirty = zlistx_new();
    tsr_sched_take_dirty(fixture->sched, dirty);
    assert_int_equal(zlistx_size(dirty), 1);
    zlistx_purge(dirty);
    tsr_sched_take_dirty(fixture->sched, dirty);
    assert_int_equal(zlistx_size(dirty), 0);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    assert_int_equal(s_fill(fixture, agent, 0), 1);
    tsr_sched_take_dirty(fixture->sched, dirty);
    assert_int_equal(zlistx_size(dirty), 1);
    zlistx_destroy(&dirty);
}

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void
test_sched_prune_keeps_newest_finished_runs(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    test_job_t job;
    s_job_init(&job, "unit", 1);
    tsr_registry_agent_t *agent = s_agent(fixture, KEY_A, "a", 1, "linux");
    for (int index = 0; index < TSR_SCHED_KEEP_RUNS + 3; index++) {
        assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, NULL), TSR_OK);
        assert_int_equal(s_fill(fixture, agent, 0), 1);
        assert_int_equal(s_result(fixture, KEY_A, s_attempt(fixture, 0)->id, 0, 1), TSR_OK);
    }
    tsr_run_t *unfinished = NULL;
    assert_int_equal(s_submit(fixture, &job, 1, NULL, 0, &unfinished), TSR_OK);
    zlistx_t *pruned = zlistx_new();
    zlistx_set_destructor(pruned, s_string_free);
    tsr_sched_prune(fixture->sched, pruned);
    assert_int_equal(zlistx_size(pruned), 3);
    assert_string_equal((char *)zlistx_first(pruned), "run-3");
    assert_null(tsr_sched_run(fixture->sched, "run-1"));
    assert_non_null(tsr_sched_run(fixture->sched, "run-4"));
    assert_ptr_equal(tsr_sched_run(fixture->sched, unfinished->id), unfinished);
    assert_int_equal(zlistx_size(tsr_sched_runs(fixture->sched)), TSR_SCHED_KEEP_RUNS + 1);
    //  Old finished runs also drop their events; recent ones keep them
    assert_int_equal(zlistx_size(tsr_sched_run(fixture->sched, "run-4")->events), 0);
    assert_true(zlistx_size(tsr_sched_run(fixture->sched, "run-103")->events) > 0);
    zlistx_destroy(&pruned);
}

static void
test_run_events_after_returns_newer_events(void **state)
{
    (void)state;
    tsr_run_t *run = tsr_run_new("run-1", 1, NULL, NULL, NULL, 0);
    for (int index = 0; index < 5; index++)
        tsr_run_event(run, TESSERA__EVENT__KIND__SHARD_REQUEUED, NULL,
                      TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, NULL, NULL, 0, "x");
    zlistx_t *events = zlistx_new();
    tsr_run_events_after(run, 2, 100, events);
    assert_int_equal(zlistx_size(events), 3);
    assert_int_equal(((Tessera__Event *)zlistx_first(events))->seq, 3);
    zlistx_purge(events);
    tsr_run_events_after(run, 0, 2, events);
    assert_int_equal(zlistx_size(events), 2);
    assert_int_equal(((Tessera__Event *)zlistx_first(events))->seq, 1);
    zlistx_purge(events);
    tsr_run_events_after(run, 5, 100, events);
    assert_int_equal(zlistx_size(events), 0);
    //  A long tail is cut to its end
    uint8_t tail[TSR_RUN_TAIL_BYTES + 10];
    memset(tail, 'a', sizeof tail);
    tail[sizeof tail - 1] = 'z';
    tsr_run_event(run, TESSERA__EVENT__KIND__SHARD_FINISHED, NULL, TESSERA__OUTCOME__PASSED, 1,
                  "agent", tail, sizeof tail, NULL);
    tsr_run_events_after(run, 5, 100, events);
    Tessera__Event *event = (Tessera__Event *)zlistx_first(events);
    assert_int_equal(event->output_tail.len, TSR_RUN_TAIL_BYTES);
    assert_int_equal(event->output_tail.data[TSR_RUN_TAIL_BYTES - 1], 'z');
    zlistx_destroy(&events);
    tsr_run_destroy(&run);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_sched_fill_uses_free_slots_in_queue_order),
        FIXTURE_TEST(test_sched_run_passes_when_all_shards_pass),
        FIXTURE_TEST(test_sched_single_shard_id_is_job_name),
        FIXTURE_TEST(test_sched_failed_command_fails_run),
        cmocka_unit_test(test_sched_outcome_maps_timeout_signal_and_error),
        FIXTURE_TEST(test_sched_labels_must_match),
        FIXTURE_TEST(test_sched_threads_must_fit),
        FIXTURE_TEST(test_sched_draining_agent_gets_no_work),
        FIXTURE_TEST(test_sched_lost_agent_requeues_and_stale_result_is_ignored),
        FIXTURE_TEST(test_sched_infra_retries_are_bounded),
        FIXTURE_TEST(test_sched_result_error_counts_as_infra_failure),
        FIXTURE_TEST(test_sched_hand_back_requeues_without_counting),
        FIXTURE_TEST(test_sched_command_retries_mark_flaky),
        FIXTURE_TEST(test_sched_command_retries_are_bounded),
        FIXTURE_TEST(test_sched_needs_gate_and_skip),
        FIXTURE_TEST(test_sched_submit_rejects_bad_specs),
        FIXTURE_TEST(test_sched_submit_is_idempotent_by_client_uuid),
        FIXTURE_TEST(test_sched_queue_is_ordered_by_run),
        FIXTURE_TEST(test_sched_hello_reattaches_and_cancels),
        FIXTURE_TEST(test_sched_cancel_ends_run_and_lists_running_attempts),
        FIXTURE_TEST(test_sched_restore_reattaches_orphan_on_hello),
        FIXTURE_TEST(test_sched_restore_requeues_orphan_after_grace),
        FIXTURE_TEST(test_sched_dirty_runs_are_taken_once),
        FIXTURE_TEST(test_sched_prune_keeps_newest_finished_runs),
        cmocka_unit_test(test_run_events_after_returns_newer_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
