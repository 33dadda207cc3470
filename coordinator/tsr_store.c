/*  tsr_store - the coordinator's runs, kept in LMDB
    Converts runs to StoredRun records and back; the only code that knows the
    record format. Records come from disk: decoding validates every index and
    never asserts on their content. Loop thread of the coordinator only.     */
#include "tsr_store.h"
#include "tsr_lmdb.h"
#include "tessera.pb-c.h"
#include "tsr_msg.h"
#include <inttypes.h>
#include <string.h>

#define TSR_STORE_DB "runs"
#define TSR_STORE_META_KEY "meta"
#define TSR_STORE_RUN_PREFIX "run/"

struct _tsr_store_t {
    MDB_env *env; //  borrowed (owner: the coordinator's CAS); NULL until open
    MDB_dbi dbi;  //  the "runs" database
};
tsr_store_t *
tsr_store_new(void)
{
    return (tsr_store_t *)zmalloc(sizeof(tsr_store_t));
}

void
tsr_store_destroy(tsr_store_t **self_p)
{
    assert(self_p);
    free(*self_p); //  the dbi handle belongs to the environment
    *self_p = NULL;
}

int
tsr_store_open(tsr_store_t *self, MDB_env *env)
{
    assert(self);
    assert(env);
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_txn_begin(env, 0, &txn);
    if (rc != TSR_OK)
        return rc;
    rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_STORE_DB, MDB_CREATE, &self->dbi));
    rc = tsr_lmdb_txn_end(txn, rc);
    if (rc != TSR_OK) {
        tsr_log_error("cannot open the run store: %s", tsr_strerror(rc));
        return TSR_ESTORE;
    }
    self->env = env;
    return TSR_OK;
}

//  ---------------------------------------------------------------- encoding

//  Pack a record into a malloc'd buffer
static MDB_val
s_pack(const ProtobufCMessage *message)
{
    MDB_val value;
    value.mv_size = protobuf_c_message_get_packed_size(message);
    value.mv_data = zmalloc(value.mv_size ? value.mv_size : 1);
    protobuf_c_message_pack(message, (uint8_t *)value.mv_data);
    return value;
}

static const char *
s_or_empty(const char *text)
{
    return text ? text : "";
}

//  The record of a test job's tests; arrays allocated, strings borrowed
static Tessera__StoredJobTests *
s_tests_record(const tsr_job_t *job)
{
    Tessera__StoredJobTests *record = (Tessera__StoredJobTests *)zmalloc(sizeof *record);
    tessera__stored_job_tests__init(record);
    tsr_testrun_t *tests = job->tests;
    record->job = job->index;
    record->listed = tsr_testrun_is_listed(tests);
    record->cancelled = tsr_testrun_is_cancelled(tests);
    record->error = (char *)s_or_empty(tsr_testrun_failure(tests));
    record->n_list_errors = tsr_testrun_error_count(tests);
    record->list_errors = (char **)zmalloc((record->n_list_errors + 1) * sizeof(char *));
    for (size_t index = 0; index < record->n_list_errors; index++)
        record->list_errors[index] = (char *)tsr_testrun_error(tests, index);
    record->tests = (Tessera__StoredTest **)zmalloc((tsr_testrun_size(tests) + 1) * sizeof(void *));
    for (tsr_test_t *test = tsr_testrun_first(tests); test; test = tsr_testrun_next(tests)) {
        Tessera__StoredTest *stored = (Tessera__StoredTest *)zmalloc(sizeof *stored);
        tessera__stored_test__init(stored);
        stored->id = test->id;
        stored->group = (char *)s_or_empty(test->group);
        stored->unit = (char *)s_or_empty(test->unit);
        stored->listed = test->listed;
        stored->retries_used = test->retries_used;
        stored->not_run = test->not_run;
        stored->tries = (Tessera__StoredTry **)zmalloc((zlistx_size(test->tries) + 1) *
                                                       sizeof(Tessera__StoredTry *));
        for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries); try;
             try = (const tsr_test_try_t *)zlistx_next(test->tries)) {
            Tessera__StoredTry *stored_try = (Tessera__StoredTry *)zmalloc(sizeof *stored_try);
            tessera__stored_try__init(stored_try);
            stored_try->outcome = try->outcome;
            stored_try->duration_ms = try->duration_ms;
            stored_try->agent_key = (char *)s_or_empty(try->agent_key);
            stored_try->agent_name = (char *)s_or_empty(try->agent_name);
            stored_try->message = (char *)s_or_empty(try->message);
            stored_try->covered = try->covered;
            stored_try->never_ran = try->never_ran;
            stored->tries[stored->n_tries++] = stored_try;
        }
        record->tests[record->n_tests++] = stored;
    }
    return record;
}

static void
s_tests_record_free(Tessera__StoredJobTests *record)
{
    for (size_t index = 0; index < record->n_tests; index++) {
        for (size_t try = 0; try < record->tests[index]->n_tries; try++)
            free(record->tests[index]->tries[try]);
        free(record->tests[index]->tries);
        free(record->tests[index]);
    }
    free(record->tests);
    free(record->list_errors);
    free(record);
}

static MDB_val
s_run_record(const tsr_run_t *run)
{
    Tessera__StoredRun record = TESSERA__STORED_RUN__INIT;
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    record.run_id = run->id;
    record.client_uuid = run->client_uuid;
    record.project = run->project;
    tsr_msg_digest_set(&workspace, &run->workspace);
    record.workspace = &workspace;
    record.uploaded_bytes = run->uploaded_bytes;
    record.created_ms = run->created_ms;
    record.finished_ms = run->finished ? run->finished_ms : 0;
    record.status = (char *)tsr_run_status(run);
    record.event_seq = run->event_seq;
    record.seq = run->seq;
    record.no_cache = run->no_cache;
    record.cancelled = run->cancelled;
    record.fail_on_flaky = run->fail_on_flaky;

    size_t shard_total = 0;
    record.n_jobs = run->job_count;
    record.jobs = (Tessera__JobSpec **)zmalloc((run->job_count + 1) * sizeof(Tessera__JobSpec *));
    record.tests = (Tessera__StoredJobTests **)zmalloc((run->job_count + 1) * sizeof(void *));
    for (uint32_t index = 0; index < run->job_count; index++) {
        record.jobs[index] = run->jobs[index]->spec; //  borrowed; pack only reads it
        shard_total += run->jobs[index]->shard_count;
        if (run->jobs[index]->tests)
            record.tests[record.n_tests++] = s_tests_record(run->jobs[index]);
    }
    Tessera__StoredShard *shards =
        (Tessera__StoredShard *)zmalloc((shard_total + 1) * sizeof(Tessera__StoredShard));
    record.shards =
        (Tessera__StoredShard **)zmalloc((shard_total + 1) * sizeof(Tessera__StoredShard *));
    for (uint32_t job_index = 0; job_index < run->job_count; job_index++) {
        const tsr_job_t *job = run->jobs[job_index];
        for (uint32_t index = 0; index < job->shard_count; index++) {
            const tsr_shard_t *shard = job->shards[index];
            Tessera__StoredShard *stored = &shards[record.n_shards];
            tessera__stored_shard__init(stored);
            stored->job = job_index;
            stored->index = index;
            stored->state = (uint32_t)shard->state;
            stored->outcome = shard->outcome;
            stored->attempts = shard->attempts;
            stored->infra_failures = shard->infra_failures;
            stored->command_failures = shard->command_failures;
            stored->flaky = shard->flaky;
            stored->attempt_id = shard->attempt_id;
            stored->agent_key = shard->agent_key ? shard->agent_key : (char *)"";
            stored->agent_name = shard->agent_name ? shard->agent_name : (char *)"";
            stored->duration_ms = shard->duration_ms;
            stored->text = shard->text ? shard->text : (char *)"";
            stored->kind = (uint32_t)shard->kind;
            stored->n_units = shard->unit_count;
            stored->units = shard->units;
            stored->n_expect = shard->expect_count;
            stored->expect = shard->expect;
            stored->avoid_agent = (char *)s_or_empty(shard->avoid_agent);
            stored->avoid_until_ms = shard->avoid_until_ms;
            stored->sibling = shard->sibling;
            stored->accounted = shard->accounted;
            stored->startup_ok = shard->startup_ok;
            stored->tests_ms = shard->tests_ms;
            record.shards[record.n_shards++] = stored;
        }
    }
    MDB_val value = s_pack(&record.base);
    for (size_t index = 0; index < record.n_tests; index++)
        s_tests_record_free(record.tests[index]);
    free(record.tests);
    free(record.jobs);
    free(record.shards);
    free(shards);
    return value;
}

static char *
s_nonempty(const char *text)
{
    return text && *text ? strdup(text) : NULL;
}

//  Restore a test job's tests; false (with a reason) if they do not fit the run
static bool
s_tests_from_record(tsr_run_t *run, const Tessera__StoredJobTests *record, const char **reason_out)
{
    if (record->job >= run->job_count || !run->jobs[record->job]->tests) {
        *reason_out = "tests of an unknown job";
        return false;
    }
    tsr_testrun_t *tests = run->jobs[record->job]->tests;
    if (record->listed)
        tsr_testrun_set_listed(tests);
    if (record->cancelled)
        tsr_testrun_cancel(tests);
    if (record->error && *record->error)
        tsr_testrun_set_failure(tests, record->error);
    for (size_t index = 0; index < record->n_list_errors; index++)
        tsr_testrun_add_error(tests, record->list_errors[index]);
    for (size_t index = 0; index < record->n_tests; index++) {
        const Tessera__StoredTest *stored = record->tests[index];
        if (!stored->id || !*stored->id) {
            *reason_out = "a test without an id";
            return false;
        }
        tsr_test_t *test =
            tsr_testrun_add(tests, stored->id, stored->group, stored->unit, stored->listed);
        if (!test)
            continue; //  listed twice: keep the first
        test->retries_used = stored->retries_used;
        test->not_run = stored->not_run;
        for (size_t try = 0; try < stored->n_tries; try++) {
            const Tessera__StoredTry *stored_try = stored->tries[try];
            tsr_testrun_add_try(test, stored_try->outcome, stored_try->duration_ms,
                                stored_try->agent_key, stored_try->agent_name, stored_try->message,
                                stored_try->covered     ? TSR_TRY_COVERED
                                : stored_try->never_ran ? TSR_TRY_NEVER_RAN
                                                        : TSR_TRY_RESULT);
        }
    }
    return true;
}

//  Rebuild a run from its record; NULL (with a reason) if it does not hold together
static tsr_run_t *
s_run_from_record(const Tessera__StoredRun *record, const char **reason_out)
{
    tsr_digest_t workspace;
    if (!record->run_id || !*record->run_id || record->n_jobs == 0) {
        *reason_out = "no run id or no jobs";
        return NULL;
    }
    if (tsr_msg_digest_get(record->workspace, &workspace) != TSR_OK) {
        *reason_out = "bad workspace digest";
        return NULL;
    }
    uint32_t *counts = (uint32_t *)zmalloc(record->n_jobs * sizeof(uint32_t));
    tsr_run_t *run = NULL;
    for (size_t index = 0; index < record->n_shards; index++) {
        const Tessera__StoredShard *stored = record->shards[index];
        if (stored->job >= record->n_jobs || stored->state > TSR_SHARD_DONE) {
            *reason_out = "shard of an unknown job or state";
            goto out;
        }
        counts[stored->job]++;
    }
    run = tsr_run_new(record->run_id, record->seq, record->client_uuid, record->project, &workspace,
                      record->created_ms);
    for (size_t index = 0; index < record->n_jobs; index++) {
        if (counts[index] == 0 || !record->jobs[index]->name) {
            *reason_out = "a job without shards";
            tsr_run_destroy(&run);
            goto out;
        }
        tsr_run_add_job(run, record->jobs[index], counts[index]);
    }
    for (size_t index = 0; index < record->n_shards; index++) {
        const Tessera__StoredShard *stored = record->shards[index];
        tsr_job_t *job = run->jobs[stored->job];
        if (stored->index >= job->shard_count) {
            *reason_out = "shard index out of range";
            tsr_run_destroy(&run);
            goto out;
        }
        if (stored->kind != TESSERA__ASSIGN__KIND__RUN &&
            (stored->kind != TESSERA__ASSIGN__KIND__LIST || !job->tests)) {
            *reason_out = "shard of an unknown kind";
            tsr_run_destroy(&run);
            goto out;
        }
        tsr_shard_t *shard = job->shards[stored->index];
        shard->state = (tsr_shard_state_t)stored->state;
        shard->outcome = stored->outcome;
        shard->attempts = stored->attempts;
        shard->infra_failures = stored->infra_failures;
        shard->command_failures = stored->command_failures;
        shard->flaky = stored->flaky;
        shard->attempt_id = shard->state == TSR_SHARD_RUNNING ? stored->attempt_id : 0;
        free(shard->agent_key);
        shard->agent_key = s_nonempty(stored->agent_key);
        free(shard->agent_name);
        shard->agent_name = s_nonempty(stored->agent_name);
        shard->duration_ms = stored->duration_ms;
        free(shard->text);
        shard->text = s_nonempty(stored->text);
        shard->kind = (Tessera__Assign__Kind)stored->kind;
        tsr_shard_set_units(shard, stored->units, stored->n_units);
        tsr_shard_set_expect(shard, stored->expect, stored->n_expect);
        shard->avoid_agent = s_nonempty(stored->avoid_agent);
        shard->avoid_until_ms = stored->avoid_until_ms;
        shard->sibling = stored->sibling;
        shard->accounted = stored->accounted;
        shard->startup_ok = stored->startup_ok;
        shard->tests_ms = stored->tests_ms;
    }
    for (size_t index = 0; index < record->n_tests; index++)
        if (!s_tests_from_record(run, record->tests[index], reason_out)) {
            tsr_run_destroy(&run);
            goto out;
        }
    run->uploaded_bytes = record->uploaded_bytes;
    run->finished_ms = record->finished_ms;
    run->finished = record->finished_ms != 0;
    run->event_seq = record->event_seq;
    run->no_cache = record->no_cache;
    run->cancelled = record->cancelled;
    run->fail_on_flaky = record->fail_on_flaky;
    run->dirty = false;
out:
    free(counts);
    return run;
}

//  ---------------------------------------------------------------- save and load

static int
s_put(MDB_txn *txn, MDB_dbi dbi, const char *key, MDB_val *value)
{
    MDB_val key_val = {.mv_size = strlen(key), .mv_data = (void *)key};
    return tsr_lmdb_error(mdb_put(txn, dbi, &key_val, value, 0));
}

int
tsr_store_save(tsr_store_t *self, zlistx_t *runs, zlistx_t *deleted, uint64_t next_run,
               uint64_t next_attempt)
{
    assert(self);
    assert(self->env);
    assert(runs);
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc != TSR_OK)
        return rc;
    char key[256];
    for (tsr_run_t *run = (tsr_run_t *)zlistx_first(runs); run && rc == TSR_OK;
         run = (tsr_run_t *)zlistx_next(runs)) {
        MDB_val value = s_run_record(run);
        snprintf(key, sizeof key, TSR_STORE_RUN_PREFIX "%s", run->id);
        rc = s_put(txn, self->dbi, key, &value);
        free(value.mv_data);
    }
    for (const char *id = deleted ? (const char *)zlistx_first(deleted) : NULL; id && rc == TSR_OK;
         id = (const char *)zlistx_next(deleted)) {
        snprintf(key, sizeof key, TSR_STORE_RUN_PREFIX "%s", id);
        MDB_val key_val = {.mv_size = strlen(key), .mv_data = key};
        rc = tsr_lmdb_error(mdb_del(txn, self->dbi, &key_val, NULL));
        if (rc == TSR_ENOTFOUND)
            rc = TSR_OK;
    }
    if (rc == TSR_OK) {
        Tessera__StoredMeta meta = TESSERA__STORED_META__INIT;
        meta.next_run = next_run;
        meta.next_attempt = next_attempt;
        MDB_val value = s_pack(&meta.base);
        rc = s_put(txn, self->dbi, TSR_STORE_META_KEY, &value);
        free(value.mv_data);
    }
    rc = tsr_lmdb_txn_end(txn, rc);
    if (rc == TSR_OK) //  the environment commits without syncing (a cache): runs must last
        rc = tsr_lmdb_error(mdb_env_sync(self->env, 1));
    return rc == TSR_OK || rc == TSR_EFULL ? rc : TSR_ESTORE;
}

int
tsr_store_load(tsr_store_t *self, zlistx_t *runs_out, uint64_t *next_run_out,
               uint64_t *next_attempt_out)
{
    assert(self);
    assert(self->env);
    assert(runs_out);
    assert(next_run_out);
    assert(next_attempt_out);
    *next_run_out = 1;
    *next_attempt_out = 1;
    MDB_txn *txn = NULL;
    MDB_cursor *cursor = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn);
    if (rc != TSR_OK)
        return TSR_ESTORE;
    rc = tsr_lmdb_error(mdb_cursor_open(txn, self->dbi, &cursor));
    if (rc != TSR_OK)
        goto out;
    MDB_val key, value;
    for (int mdb_rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); mdb_rc == MDB_SUCCESS;
         mdb_rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
        if (key.mv_size == strlen(TSR_STORE_META_KEY) &&
            memcmp(key.mv_data, TSR_STORE_META_KEY, key.mv_size) == 0) {
            Tessera__StoredMeta *meta =
                tessera__stored_meta__unpack(NULL, value.mv_size, value.mv_data);
            if (meta) {
                *next_run_out = meta->next_run ? meta->next_run : 1;
                *next_attempt_out = meta->next_attempt ? meta->next_attempt : 1;
                tessera__stored_meta__free_unpacked(meta, NULL);
            } else
                tsr_log_error("run store: cannot decode the counters; starting from 1");
            continue;
        }
        const char *reason = "not a StoredRun";
        Tessera__StoredRun *record =
            tessera__stored_run__unpack(NULL, value.mv_size, value.mv_data);
        tsr_run_t *run = record ? s_run_from_record(record, &reason) : NULL;
        if (run)
            zlistx_add_end(runs_out, run);
        else
            tsr_log_error("run store: skipping record %.*s: %s", (int)key.mv_size,
                          (const char *)key.mv_data, reason);
        if (record)
            tessera__stored_run__free_unpacked(record, NULL);
    }
out:
    if (cursor)
        mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    return rc == TSR_OK ? TSR_OK : TSR_ESTORE;
}
