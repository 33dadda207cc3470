/*  Unit tests for tsr_store: runs survive a round trip through LMDB, deleted
    runs stay deleted, a corrupt record is skipped.                          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_store.h"
#include "tsr_testdir.h"

typedef struct {
    char *dir;    //  owned scratch directory (tsr_testdir)
    MDB_env *env; //  owned
    tsr_store_t *store;
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->dir = tsr_testdir_new("store");
    assert_int_equal(mdb_env_create(&fixture->env), MDB_SUCCESS);
    assert_int_equal(mdb_env_set_maxdbs(fixture->env, 4), MDB_SUCCESS);
    assert_int_equal(mdb_env_set_mapsize(fixture->env, 16u << 20), MDB_SUCCESS);
    assert_int_equal(mdb_env_open(fixture->env, fixture->dir, MDB_NOTLS, 0600), MDB_SUCCESS);
    fixture->store = tsr_store_new();
    assert_int_equal(tsr_store_open(fixture->store, fixture->env), TSR_OK);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_store_destroy(&fixture->store);
    mdb_env_close(fixture->env);
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

static void
s_run_free(void **item_p)
{
    tsr_run_destroy((tsr_run_t **)item_p);
}

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  A run with two jobs: "build" (1 shard, passed) and "test" (3 shards:
//  one running attempt 9 on agent K, one queued, one waiting)
static tsr_run_t *
s_make_run(const char *id, uint64_t seq)
{
    tsr_digest_t workspace;
    tsr_digest_buffer("workspace", 9, &workspace);
    tsr_run_t *run = tsr_run_new(id, seq, "uuid", "demo", &workspace, 1234);
    run->uploaded_bytes = 99;

    Tessera__JobSpec spec = TESSERA__JOB_SPEC__INIT;
    char *argv[2] = {(char *)"sh", (char *)"-c"};
    Tessera__EnvVar var = TESSERA__ENV_VAR__INIT;
    Tessera__EnvVar *vars[1] = {&var};
    var.name = (char *)"A";
    var.value = (char *)"1";
    spec.name = (char *)"build";
    spec.argv = argv;
    spec.n_argv = 2;
    spec.env = vars;
    spec.n_env = 1;
    spec.timeout_s = 60;
    tsr_job_t *build = tsr_run_add_job(run, &spec, 1);
    build->shards[0]->state = TSR_SHARD_DONE;
    build->shards[0]->outcome = TESSERA__OUTCOME__PASSED;
    build->shards[0]->attempts = 1;
    build->shards[0]->agent_name = strdup("alpha");
    build->shards[0]->duration_ms = 77;

    char *needs[1] = {(char *)"build"};
    spec.name = (char *)"test";
    spec.needs = needs;
    spec.n_needs = 1;
    spec.threads = 2;
    tsr_job_t *test = tsr_run_add_job(run, &spec, 3);
    test->shards[0]->state = TSR_SHARD_RUNNING;
    test->shards[0]->attempt_id = 9;
    test->shards[0]->attempts = 2;
    test->shards[0]->infra_failures = 1;
    test->shards[0]->agent_key = strdup("KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK");
    test->shards[1]->state = TSR_SHARD_QUEUED;
    test->shards[1]->text = strdup("handed back");
    tsr_run_event(run, TESSERA__EVENT__KIND__SHARD_STARTED, test->shards[0],
                  TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, "alpha", NULL, 0, NULL);
    return run;
}

static void
test_store_round_trips_runs_and_counters(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zlistx_t *runs = zlistx_new();
    zlistx_set_destructor(runs, s_run_free);
    zlistx_add_end(runs, s_make_run("run-3", 3));
    assert_int_equal(tsr_store_save(fixture->store, runs, NULL, 4, 10), TSR_OK);
    zlistx_purge(runs);

    uint64_t next_run = 0, next_attempt = 0;
    assert_int_equal(tsr_store_load(fixture->store, runs, &next_run, &next_attempt), TSR_OK);
    assert_int_equal(next_run, 4);
    assert_int_equal(next_attempt, 10);
    assert_int_equal(zlistx_size(runs), 1);
    tsr_run_t *run = (tsr_run_t *)zlistx_first(runs);
    assert_string_equal(run->id, "run-3");
    assert_int_equal(run->seq, 3);
    assert_string_equal(run->client_uuid, "uuid");
    assert_string_equal(run->project, "demo");
    assert_int_equal(run->uploaded_bytes, 99);
    assert_int_equal(run->created_ms, 1234);
    assert_int_equal(run->event_seq, 1);
    assert_false(run->finished);
    assert_false(run->dirty);
    tsr_digest_t workspace;
    tsr_digest_buffer("workspace", 9, &workspace);
    assert_true(tsr_digest_eq(&run->workspace, &workspace));

    assert_int_equal(run->job_count, 2);
    tsr_job_t *build = run->jobs[0];
    assert_string_equal(build->spec->name, "build");
    assert_int_equal(build->spec->n_argv, 2);
    assert_string_equal(build->spec->env[0]->name, "A");
    assert_int_equal(build->spec->timeout_s, 60);
    assert_int_equal(build->shard_count, 1);
    assert_int_equal(build->shards[0]->state, TSR_SHARD_DONE);
    assert_int_equal(build->shards[0]->outcome, TESSERA__OUTCOME__PASSED);
    assert_string_equal(build->shards[0]->agent_name, "alpha");
    assert_null(build->shards[0]->agent_key);
    assert_int_equal(build->shards[0]->duration_ms, 77);

    tsr_job_t *test = run->jobs[1];
    assert_int_equal(test->shard_count, 3);
    assert_int_equal(test->threads, 2);
    assert_string_equal(test->spec->needs[0], "build");
    assert_int_equal(test->shards[0]->state, TSR_SHARD_RUNNING);
    assert_int_equal(test->shards[0]->attempt_id, 9);
    assert_int_equal(test->shards[0]->attempts, 2);
    assert_int_equal(test->shards[0]->infra_failures, 1);
    assert_string_equal(test->shards[0]->agent_key, "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK");
    assert_int_equal(test->shards[1]->state, TSR_SHARD_QUEUED);
    assert_string_equal(test->shards[1]->text, "handed back");
    assert_int_equal(test->shards[2]->state, TSR_SHARD_WAITING);
    zlistx_destroy(&runs);
}

static void
test_store_save_replaces_and_deletes(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zlistx_t *runs = zlistx_new();
    zlistx_set_destructor(runs, s_run_free);
    zlistx_add_end(runs, s_make_run("run-1", 1));
    zlistx_add_end(runs, s_make_run("run-2", 2));
    assert_int_equal(tsr_store_save(fixture->store, runs, NULL, 3, 1), TSR_OK);

    //  run-1 finishes (saved again), run-2 is pruned
    tsr_run_t *first = (tsr_run_t *)zlistx_first(runs);
    first->finished = true;
    first->finished_ms = 5000;
    zlistx_t *one = zlistx_new();
    zlistx_add_end(one, first);
    zlistx_t *deleted = zlistx_new();
    zlistx_set_destructor(deleted, s_string_free);
    zlistx_add_end(deleted, strdup("run-2"));
    zlistx_add_end(deleted, strdup("run-never"));
    assert_int_equal(tsr_store_save(fixture->store, one, deleted, 3, 1), TSR_OK);
    zlistx_destroy(&one);
    zlistx_destroy(&deleted);
    zlistx_purge(runs);

    uint64_t next_run = 0, next_attempt = 0;
    assert_int_equal(tsr_store_load(fixture->store, runs, &next_run, &next_attempt), TSR_OK);
    assert_int_equal(zlistx_size(runs), 1);
    tsr_run_t *loaded = (tsr_run_t *)zlistx_first(runs);
    assert_string_equal(loaded->id, "run-1");
    assert_true(loaded->finished);
    assert_int_equal(loaded->finished_ms, 5000);
    zlistx_destroy(&runs);
}

static void
test_store_load_skips_corrupt_records(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zlistx_t *runs = zlistx_new();
    zlistx_set_destructor(runs, s_run_free);
    zlistx_add_end(runs, s_make_run("run-1", 1));
    assert_int_equal(tsr_store_save(fixture->store, runs, NULL, 2, 1), TSR_OK);
    zlistx_purge(runs);

    //  Garbage under a run key, and a record whose shard names a job that does not exist
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_txn_begin(fixture->env, NULL, 0, &txn), MDB_SUCCESS);
    assert_int_equal(mdb_dbi_open(txn, "runs", 0, &dbi), MDB_SUCCESS);
    MDB_val key = {.mv_size = 9, .mv_data = (void *)"run/bogus"};
    MDB_val value = {.mv_size = 5, .mv_data = (void *)"\xff\xff\xff\xff\xff"};
    assert_int_equal(mdb_put(txn, dbi, &key, &value, 0), MDB_SUCCESS);
    Tessera__StoredRun record = TESSERA__STORED_RUN__INIT;
    Tessera__StoredShard shard = TESSERA__STORED_SHARD__INIT;
    Tessera__StoredShard *shards[1] = {&shard};
    Tessera__JobSpec spec = TESSERA__JOB_SPEC__INIT;
    Tessera__JobSpec *jobs[1] = {&spec};
    Tessera__Digest digest = TESSERA__DIGEST__INIT;
    uint8_t hash[32] = {0};
    digest.hash.data = hash;
    digest.hash.len = 32;
    spec.name = (char *)"x";
    record.run_id = (char *)"run-bad";
    record.workspace = &digest;
    record.jobs = jobs;
    record.n_jobs = 1;
    record.shards = shards;
    record.n_shards = 1;
    shard.job = 7;
    uint8_t packed[512];
    size_t size = tessera__stored_run__pack(&record, packed);
    MDB_val bad_key = {.mv_size = 11, .mv_data = (void *)"run/run-bad"};
    MDB_val bad_value = {.mv_size = size, .mv_data = packed};
    assert_int_equal(mdb_put(txn, dbi, &bad_key, &bad_value, 0), MDB_SUCCESS);
    assert_int_equal(mdb_txn_commit(txn), MDB_SUCCESS);

    uint64_t next_run = 0, next_attempt = 0;
    assert_int_equal(tsr_store_load(fixture->store, runs, &next_run, &next_attempt), TSR_OK);
    assert_int_equal(zlistx_size(runs), 1);
    assert_string_equal(((tsr_run_t *)zlistx_first(runs))->id, "run-1");
    zlistx_destroy(&runs);
}

//  Put a StoredRun under run/<id> directly
static void
s_put_record(fixture_t *fixture, const char *id, Tessera__StoredRun *record)
{
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    assert_int_equal(mdb_txn_begin(fixture->env, NULL, 0, &txn), MDB_SUCCESS);
    assert_int_equal(mdb_dbi_open(txn, "runs", 0, &dbi), MDB_SUCCESS);
    uint8_t packed[1024];
    assert_true(tessera__stored_run__get_packed_size(record) <= sizeof packed);
    size_t size = tessera__stored_run__pack(record, packed);
    char key_text[64];
    snprintf(key_text, sizeof key_text, "run/%s", id);
    MDB_val key = {.mv_size = strlen(key_text), .mv_data = key_text};
    MDB_val value = {.mv_size = size, .mv_data = packed};
    assert_int_equal(mdb_put(txn, dbi, &key, &value, 0), MDB_SUCCESS);
    assert_int_equal(mdb_txn_commit(txn), MDB_SUCCESS);
}

static void
test_store_load_checks_test_job_records(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    Tessera__StoredRun record = TESSERA__STORED_RUN__INIT;
    Tessera__StoredShard shard = TESSERA__STORED_SHARD__INIT;
    Tessera__StoredShard *shards[1] = {&shard};
    Tessera__JobSpec spec = TESSERA__JOB_SPEC__INIT;
    Tessera__JobSpec *jobs[1] = {&spec};
    Tessera__Digest digest = TESSERA__DIGEST__INIT;
    Tessera__StoredJobTests tests = TESSERA__STORED_JOB_TESTS__INIT;
    Tessera__StoredJobTests *tests_list[1] = {&tests};
    Tessera__StoredTest test = TESSERA__STORED_TEST__INIT;
    Tessera__StoredTest *test_list[1] = {&test};
    Tessera__StoredTry try = TESSERA__STORED_TRY__INIT;
    Tessera__StoredTry *try_list[1] = {&try};
    uint8_t hash[32] = {0};
    digest.hash.data = hash;
    digest.hash.len = 32;
    spec.name = (char *)"py";
    spec.framework = (char *)"pytest";
    record.workspace = &digest;
    record.jobs = jobs;
    record.n_jobs = 1;
    record.shards = shards;
    record.n_shards = 1;
    record.tests = tests_list;
    record.n_tests = 1;
    shard.kind = TESSERA__ASSIGN__KIND__LIST;
    shard.state = TSR_SHARD_DONE;
    tests.listed = true;
    tests.tests = test_list;
    tests.n_tests = 1;
    test.id = (char *)"t.py::a";
    test.unit = (char *)"t.py::a";
    test.listed = true;
    test.tries = try_list;
    test.n_tries = 1;
    try.outcome = TESSERA__OUTCOME__ERROR;
    try.never_ran = true;
    try.message = (char *)"not run";
    record.run_id = (char *)"run-good";
    record.seq = 1;
    s_put_record(fixture, "run-good", &record);
    //  A LIST shard in a command job
    spec.framework = (char *)"command";
    record.run_id = (char *)"run-list";
    record.seq = 2;
    record.n_tests = 0;
    s_put_record(fixture, "run-list", &record);
    //  Tests of a command job
    shard.kind = TESSERA__ASSIGN__KIND__RUN;
    record.run_id = (char *)"run-tests";
    record.seq = 3;
    record.n_tests = 1;
    s_put_record(fixture, "run-tests", &record);
    //  A test without an id
    spec.framework = (char *)"pytest";
    shard.kind = TESSERA__ASSIGN__KIND__LIST;
    test.id = (char *)"";
    record.run_id = (char *)"run-noid";
    record.seq = 4;
    s_put_record(fixture, "run-noid", &record);

    zlistx_t *runs = zlistx_new();
    zlistx_set_destructor(runs, s_run_free);
    uint64_t next_run = 0, next_attempt = 0;
    assert_int_equal(tsr_store_load(fixture->store, runs, &next_run, &next_attempt), TSR_OK);
    assert_int_equal(zlistx_size(runs), 1);
    tsr_run_t *run = (tsr_run_t *)zlistx_first(runs);
    assert_string_equal(run->id, "run-good");
    tsr_job_t *job = run->jobs[0];
    assert_non_null(job->tests);
    assert_true(tsr_testrun_is_listed(job->tests));
    assert_int_equal(job->shards[0]->kind, TESSERA__ASSIGN__KIND__LIST);
    tsr_test_t *restored = tsr_testrun_find(job->tests, "t.py::a");
    assert_non_null(restored);
    const tsr_test_try_t *last = (const tsr_test_try_t *)zlistx_last(restored->tries);
    assert_true(last->never_ran);
    assert_string_equal(last->message, "not run");
    zlistx_destroy(&runs);
}

static void
test_store_empty_starts_counters_at_one(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zlistx_t *runs = zlistx_new();
    uint64_t next_run = 0, next_attempt = 0;
    assert_int_equal(tsr_store_load(fixture->store, runs, &next_run, &next_attempt), TSR_OK);
    assert_int_equal(zlistx_size(runs), 0);
    assert_int_equal(next_run, 1);
    assert_int_equal(next_attempt, 1);
    zlistx_destroy(&runs);
}

#define FIXTURE_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(test_store_round_trips_runs_and_counters),
        FIXTURE_TEST(test_store_save_replaces_and_deletes),
        FIXTURE_TEST(test_store_load_skips_corrupt_records),
        FIXTURE_TEST(test_store_load_checks_test_job_records),
        FIXTURE_TEST(test_store_empty_starts_counters_at_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
