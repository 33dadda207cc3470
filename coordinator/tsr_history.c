/*  tsr_history - per-test timing history in LMDB, for the planner
    Owns nothing but a database handle: the environment is the caller's (the
    coordinator's CAS environment, tsr_cas_env), the named database is
    "history". Caller: the coordinator's loop thread (records results as
    shards finish, looks tests up when it plans a job).

    Keys (LMDB's default memcmp order, so one (project, job) is contiguous):
      project NUL job NUL 'T' test-id           a test, id verbatim
      project NUL job NUL 'H' BLAKE2b-256(id)   a test whose key would pass
                                                LMDB's key limit (511 bytes)
      project NUL job NUL 'S'                   the start-up cost record
    Names contain no NUL, so the encoding is unambiguous.

    Values: fixed little-endian layouts, version in the first two bytes.
      test (40 bytes):    u16 format=1, u16 last outcome, u32 runs,
                          u32 failures, u32 flaky, f64 mean ms (IEEE-754),
                          u64 last duration ms, u64 last seen ms
      start-up (24 bytes): u16 format=1, u16 zero, u32 samples,
                          f64 start-up ms (IEEE-754), u64 last seen ms
    A record of another size or format, or with a negative or non-finite
    mean, is unreadable: lookups return TSR_ESTORE, records replace it,
    prune removes it.

    Moving averages: the first samples are averaged plainly, later ones with
    weight TSR_HISTORY_EMA_WEIGHT (new = old + w * (sample - old), w =
    max(TSR_HISTORY_EMA_WEIGHT, 1 / samples)).                               */
#include "tsr_history.h" //  own header first: proves it self-contained
#include "tsr_lmdb.h"
#include "tsr_digest.h"
#include <assert.h>
#include <endian.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TSR_HISTORY_DB "history"

//  Key space: LMDB's default limit; environments built with a bigger one
//  still get keys of at most this size.
#define TSR_HISTORY_KEY_BYTES 511

#define TSR_HISTORY_FORMAT 1
#define TSR_HISTORY_TEST_BYTES 40
#define TSR_HISTORY_STARTUP_BYTES 24

#define TSR_HISTORY_KIND_TEST 'T'
#define TSR_HISTORY_KIND_HASHED 'H'
#define TSR_HISTORY_KIND_STARTUP 'S'

struct _tsr_history_t {
    MDB_env *env;        //  borrowed (owner: the caller, e.g. tsr_cas)
    MDB_dbi dbi;         //  "history"; valid once opened
    bool opened;         //  tsr_history_open succeeded
    MDB_txn *batch_txn;  //  owned; the open batch's transaction, or NULL
    bool batch_writable; //  the open batch may write
};

//  An encoded key (see banner)
typedef struct {
    uint8_t bytes[TSR_HISTORY_KEY_BYTES]; //  project NUL job NUL kind [rest]
    size_t size;                          //  bytes used
} history_key_t;

//  Little-endian fields of the value layouts

static void
s_le16_put(uint8_t *dest, uint16_t value)
{
    uint16_t little = htole16(value);
    memcpy(dest, &little, sizeof little);
}

static void
s_le32_put(uint8_t *dest, uint32_t value)
{
    uint32_t little = htole32(value);
    memcpy(dest, &little, sizeof little);
}

static void
s_le64_put(uint8_t *dest, uint64_t value)
{
    uint64_t little = htole64(value);
    memcpy(dest, &little, sizeof little);
}

static void
s_f64_put(uint8_t *dest, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    s_le64_put(dest, bits);
}

static uint16_t
s_le16_get(const uint8_t *source)
{
    uint16_t little;
    memcpy(&little, source, sizeof little);
    return le16toh(little);
}

static uint32_t
s_le32_get(const uint8_t *source)
{
    uint32_t little;
    memcpy(&little, source, sizeof little);
    return le32toh(little);
}

static uint64_t
s_le64_get(const uint8_t *source)
{
    uint64_t little;
    memcpy(&little, source, sizeof little);
    return le64toh(little);
}

static double
s_f64_get(const uint8_t *source)
{
    uint64_t bits = s_le64_get(source);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static uint32_t
s_saturating_inc(uint32_t count)
{
    return count == UINT32_MAX ? count : count + 1;
}

//  One step of the moving average after `samples` samples (this one included)
static double
s_average(double mean, double sample, uint32_t samples)
{
    if (samples <= 1)
        return sample;
    double weight = 1.0 / samples;
    if (weight < TSR_HISTORY_EMA_WEIGHT)
        weight = TSR_HISTORY_EMA_WEIGHT;
    return mean + weight * (sample - mean);
}

//  Encode the (project, job) prefix and the kind byte. TSR_EINVAL for empty
//  names or a prefix that leaves no room for a hashed test id.
static int
s_key_prefix(const char *project, const char *job, uint8_t kind, history_key_t *key)
{
    size_t project_len = strlen(project);
    size_t job_len = strlen(job);
    if (project_len == 0 || job_len == 0)
        return TSR_EINVAL;
    if (project_len + job_len + 3 + TSR_DIGEST_BYTES > sizeof key->bytes)
        return TSR_EINVAL;
    memcpy(key->bytes, project, project_len);
    key->bytes[project_len] = 0;
    memcpy(key->bytes + project_len + 1, job, job_len);
    key->bytes[project_len + 1 + job_len] = 0;
    key->bytes[project_len + job_len + 2] = kind;
    key->size = project_len + job_len + 3;
    return TSR_OK;
}

static int
s_key_test(const char *project, const char *job, const char *test_id, history_key_t *key)
{
    assert(project && job && test_id);
    size_t id_len = strlen(test_id);
    if (id_len == 0)
        return TSR_EINVAL;
    int rc = s_key_prefix(project, job, TSR_HISTORY_KIND_TEST, key);
    if (rc != TSR_OK)
        return rc;
    if (key->size + id_len <= sizeof key->bytes) {
        memcpy(key->bytes + key->size, test_id, id_len);
        key->size += id_len;
    } else {
        tsr_digest_t digest;
        tsr_digest_buffer(test_id, id_len, &digest);
        key->bytes[key->size - 1] = TSR_HISTORY_KIND_HASHED;
        memcpy(key->bytes + key->size, digest.hash, TSR_DIGEST_BYTES);
        key->size += TSR_DIGEST_BYTES;
    }
    return TSR_OK;
}

static int
s_key_startup(const char *project, const char *job, history_key_t *key)
{
    assert(project && job);
    return s_key_prefix(project, job, TSR_HISTORY_KIND_STARTUP, key);
}

//  The kind byte of a stored key, or 0 if the key does not parse
static uint8_t
s_key_kind(const MDB_val *key)
{
    const uint8_t *bytes = key->mv_data;
    const uint8_t *project_end = memchr(bytes, 0, key->mv_size);
    if (!project_end || project_end == bytes)
        return 0;
    size_t job_at = (size_t)(project_end - bytes) + 1;
    const uint8_t *job_end = memchr(bytes + job_at, 0, key->mv_size - job_at);
    if (!job_end || job_end == bytes + job_at)
        return 0;
    size_t kind_at = (size_t)(job_end - bytes) + 1;
    if (kind_at >= key->mv_size)
        return 0;
    uint8_t kind = bytes[kind_at];
    size_t rest = key->mv_size - kind_at - 1;
    if (kind == TSR_HISTORY_KIND_STARTUP && rest == 0)
        return kind;
    if (kind == TSR_HISTORY_KIND_TEST && rest > 0)
        return kind;
    if (kind == TSR_HISTORY_KIND_HASHED && rest == TSR_DIGEST_BYTES)
        return kind;
    return 0;
}

static bool
s_outcome_valid(int outcome)
{
    return outcome >= TESSERA__OUTCOME__OUTCOME_UNKNOWN && outcome <= TESSERA__OUTCOME__CANCELLED;
}

static bool
s_outcome_failed(Tessera__Outcome outcome)
{
    return outcome == TESSERA__OUTCOME__FAILED || outcome == TESSERA__OUTCOME__ERROR ||
           outcome == TESSERA__OUTCOME__TIMED_OUT || outcome == TESSERA__OUTCOME__CRASHED;
}

static void
s_test_encode(const tsr_history_entry_t *entry, uint8_t *record)
{
    s_le16_put(record, TSR_HISTORY_FORMAT);
    s_le16_put(record + 2, (uint16_t)entry->last_outcome);
    s_le32_put(record + 4, entry->runs);
    s_le32_put(record + 8, entry->failures);
    s_le32_put(record + 12, entry->flaky);
    s_f64_put(record + 16, entry->mean_ms);
    s_le64_put(record + 24, entry->last_duration_ms);
    s_le64_put(record + 32, entry->last_seen_ms);
}

//  Disk input: checked, never asserted
static int
s_test_decode(const MDB_val *value, tsr_history_entry_t *entry)
{
    const uint8_t *record = value->mv_data;
    if (value->mv_size != TSR_HISTORY_TEST_BYTES || s_le16_get(record) != TSR_HISTORY_FORMAT)
        return TSR_ESTORE;
    uint16_t outcome = s_le16_get(record + 2);
    double mean_ms = s_f64_get(record + 16);
    if (!s_outcome_valid(outcome) || !isfinite(mean_ms) || mean_ms < 0)
        return TSR_ESTORE;
    entry->last_outcome = (Tessera__Outcome)outcome;
    entry->runs = s_le32_get(record + 4);
    entry->failures = s_le32_get(record + 8);
    entry->flaky = s_le32_get(record + 12);
    entry->mean_ms = mean_ms;
    entry->last_duration_ms = s_le64_get(record + 24);
    entry->last_seen_ms = s_le64_get(record + 32);
    return TSR_OK;
}

static void
s_startup_encode(const tsr_history_startup_t *startup, uint8_t *record)
{
    s_le16_put(record, TSR_HISTORY_FORMAT);
    s_le16_put(record + 2, 0);
    s_le32_put(record + 4, startup->samples);
    s_f64_put(record + 8, startup->startup_ms);
    s_le64_put(record + 16, startup->last_seen_ms);
}

static int
s_startup_decode(const MDB_val *value, tsr_history_startup_t *startup)
{
    const uint8_t *record = value->mv_data;
    if (value->mv_size != TSR_HISTORY_STARTUP_BYTES || s_le16_get(record) != TSR_HISTORY_FORMAT)
        return TSR_ESTORE;
    double startup_ms = s_f64_get(record + 8);
    if (!isfinite(startup_ms) || startup_ms < 0)
        return TSR_ESTORE;
    startup->samples = s_le32_get(record + 4);
    startup->startup_ms = startup_ms;
    startup->last_seen_ms = s_le64_get(record + 16);
    return TSR_OK;
}

//  The transaction for one call: the batch's, or a new one (*own_out set)
static int
s_txn_for_call(tsr_history_t *self, bool writable, MDB_txn **txn_out, bool *own_out)
{
    assert(self->opened);
    if (self->batch_txn) {
        if (writable && !self->batch_writable)
            return TSR_ESTATE;
        *txn_out = self->batch_txn;
        *own_out = false;
        return TSR_OK;
    }
    *own_out = true;
    return tsr_lmdb_txn_begin(self->env, writable ? 0 : MDB_RDONLY, txn_out);
}

//  Finish a call's own transaction: commit writes that succeeded
static int
s_txn_end_call(MDB_txn *txn, bool own, bool writable, int rc)
{
    if (!own)
        return rc;
    if (rc == TSR_OK && writable)
        return tsr_lmdb_error(mdb_txn_commit(txn));
    mdb_txn_abort(txn);
    return rc;
}

tsr_history_t *
tsr_history_new(MDB_env *env)
{
    assert(env);
    tsr_history_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); //  OOM, as zmalloc
    self->env = env;
    return self;
}

int
tsr_history_open(tsr_history_t *self)
{
    assert(self);
    assert(!self->opened);
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc != TSR_OK)
        return rc;
    rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_HISTORY_DB, MDB_CREATE, &self->dbi));
    rc = tsr_lmdb_txn_end(txn, rc);
    if (rc == TSR_OK)
        self->opened = true;
    return rc;
}

void
tsr_history_destroy(tsr_history_t **self_p)
{
    assert(self_p);
    tsr_history_t *self = *self_p;
    if (self) {
        tsr_history_abort(self);
        free(self);
        *self_p = NULL;
    }
}

int
tsr_history_begin(tsr_history_t *self, bool writable)
{
    assert(self);
    assert(self->opened);
    if (self->batch_txn)
        return TSR_ESTATE;
    int rc = tsr_lmdb_txn_begin(self->env, writable ? 0 : MDB_RDONLY, &self->batch_txn);
    if (rc != TSR_OK) {
        self->batch_txn = NULL;
        return rc;
    }
    self->batch_writable = writable;
    return TSR_OK;
}

int
tsr_history_commit(tsr_history_t *self)
{
    assert(self);
    if (!self->batch_txn)
        return TSR_ESTATE;
    int rc;
    if (self->batch_writable)
        rc = tsr_lmdb_error(mdb_txn_commit(self->batch_txn));
    else {
        mdb_txn_abort(self->batch_txn);
        rc = TSR_OK;
    }
    self->batch_txn = NULL;
    return rc;
}

void
tsr_history_abort(tsr_history_t *self)
{
    assert(self);
    if (self->batch_txn) {
        mdb_txn_abort(self->batch_txn);
        self->batch_txn = NULL;
    }
}

bool
tsr_history_in_batch(tsr_history_t *self)
{
    assert(self);
    return self->batch_txn != NULL;
}

int
tsr_history_record(tsr_history_t *self, const char *project, const char *job, const char *test_id,
                   uint64_t duration_ms, Tessera__Outcome outcome, bool flaky, uint64_t now_ms)
{
    assert(self);
    history_key_t key;
    int rc = s_key_test(project, job, test_id, &key);
    if (rc != TSR_OK)
        return rc;
    if (!s_outcome_valid(outcome))
        return TSR_EINVAL;
    if (outcome == TESSERA__OUTCOME__OUTCOME_UNKNOWN || outcome == TESSERA__OUTCOME__CANCELLED)
        return TSR_OK; //  did not finish: says nothing about its duration

    MDB_txn *txn;
    bool own;
    rc = s_txn_for_call(self, true, &txn, &own);
    if (rc != TSR_OK)
        return rc;
    MDB_val key_val = {.mv_size = key.size, .mv_data = key.bytes};
    MDB_val value;
    tsr_history_entry_t entry = {0};
    rc = tsr_lmdb_error(mdb_get(txn, self->dbi, &key_val, &value));
    if (rc == TSR_OK && s_test_decode(&value, &entry) != TSR_OK)
        entry = (tsr_history_entry_t){0}; //  unreadable: start afresh
    if (rc != TSR_OK && rc != TSR_ENOTFOUND)
        goto out;

    entry.runs = s_saturating_inc(entry.runs);
    entry.mean_ms = s_average(entry.mean_ms, (double)duration_ms, entry.runs);
    if (s_outcome_failed(outcome))
        entry.failures = s_saturating_inc(entry.failures);
    if (flaky)
        entry.flaky = s_saturating_inc(entry.flaky);
    entry.last_outcome = outcome;
    entry.last_duration_ms = duration_ms;
    entry.last_seen_ms = now_ms;

    uint8_t record[TSR_HISTORY_TEST_BYTES];
    s_test_encode(&entry, record);
    value = (MDB_val){.mv_size = sizeof record, .mv_data = record};
    rc = tsr_lmdb_error(mdb_put(txn, self->dbi, &key_val, &value, 0));
out:
    return s_txn_end_call(txn, own, true, rc);
}

int
tsr_history_lookup(tsr_history_t *self, const char *project, const char *job, const char *test_id,
                   tsr_history_entry_t *entry_out)
{
    assert(self);
    assert(entry_out);
    history_key_t key;
    int rc = s_key_test(project, job, test_id, &key);
    if (rc != TSR_OK)
        return rc;
    MDB_txn *txn;
    bool own;
    rc = s_txn_for_call(self, false, &txn, &own);
    if (rc != TSR_OK)
        return rc;
    MDB_val key_val = {.mv_size = key.size, .mv_data = key.bytes};
    MDB_val value;
    rc = tsr_lmdb_error(mdb_get(txn, self->dbi, &key_val, &value));
    if (rc == TSR_OK)
        rc = s_test_decode(&value, entry_out); //  copied before the txn ends
    return s_txn_end_call(txn, own, false, rc);
}

//  Read-modify-write of a start-up record: one sample, or an overwrite
static int
s_startup_update(tsr_history_t *self, const char *project, const char *job, double sample_ms,
                 bool overwrite, uint64_t now_ms)
{
    history_key_t key;
    int rc = s_key_startup(project, job, &key);
    if (rc != TSR_OK)
        return rc;
    MDB_txn *txn;
    bool own;
    rc = s_txn_for_call(self, true, &txn, &own);
    if (rc != TSR_OK)
        return rc;
    MDB_val key_val = {.mv_size = key.size, .mv_data = key.bytes};
    MDB_val value;
    tsr_history_startup_t startup = {0};
    rc = tsr_lmdb_error(mdb_get(txn, self->dbi, &key_val, &value));
    if (rc == TSR_OK && (overwrite || s_startup_decode(&value, &startup) != TSR_OK))
        startup = (tsr_history_startup_t){0};
    if (rc != TSR_OK && rc != TSR_ENOTFOUND)
        goto out;

    startup.samples = s_saturating_inc(startup.samples);
    startup.startup_ms = s_average(startup.startup_ms, sample_ms, startup.samples);
    startup.last_seen_ms = now_ms;

    uint8_t record[TSR_HISTORY_STARTUP_BYTES];
    s_startup_encode(&startup, record);
    value = (MDB_val){.mv_size = sizeof record, .mv_data = record};
    rc = tsr_lmdb_error(mdb_put(txn, self->dbi, &key_val, &value, 0));
out:
    return s_txn_end_call(txn, own, true, rc);
}

int
tsr_history_record_shard(tsr_history_t *self, const char *project, const char *job,
                         uint64_t wall_ms, uint64_t tests_ms, uint64_t now_ms)
{
    assert(self);
    double sample_ms = wall_ms > tests_ms ? (double)(wall_ms - tests_ms) : 0.0;
    return s_startup_update(self, project, job, sample_ms, false, now_ms);
}

int
tsr_history_startup(tsr_history_t *self, const char *project, const char *job,
                    tsr_history_startup_t *startup_out)
{
    assert(self);
    assert(startup_out);
    history_key_t key;
    int rc = s_key_startup(project, job, &key);
    if (rc != TSR_OK)
        return rc;
    MDB_txn *txn;
    bool own;
    rc = s_txn_for_call(self, false, &txn, &own);
    if (rc != TSR_OK)
        return rc;
    MDB_val key_val = {.mv_size = key.size, .mv_data = key.bytes};
    MDB_val value;
    rc = tsr_lmdb_error(mdb_get(txn, self->dbi, &key_val, &value));
    if (rc == TSR_OK)
        rc = s_startup_decode(&value, startup_out);
    return s_txn_end_call(txn, own, false, rc);
}

int
tsr_history_set_startup(tsr_history_t *self, const char *project, const char *job,
                        double startup_ms, uint64_t now_ms)
{
    assert(self);
    if (!isfinite(startup_ms) || startup_ms < 0)
        return TSR_EINVAL;
    return s_startup_update(self, project, job, startup_ms, true, now_ms);
}

//  When a stored record was last seen; false if it is unreadable
static bool
s_last_seen(const MDB_val *key, const MDB_val *value, uint64_t *last_seen_ms)
{
    uint8_t kind = s_key_kind(key);
    if (kind == TSR_HISTORY_KIND_STARTUP) {
        tsr_history_startup_t startup;
        if (s_startup_decode(value, &startup) != TSR_OK)
            return false;
        *last_seen_ms = startup.last_seen_ms;
        return true;
    }
    if (kind == TSR_HISTORY_KIND_TEST || kind == TSR_HISTORY_KIND_HASHED) {
        tsr_history_entry_t entry;
        if (s_test_decode(value, &entry) != TSR_OK)
            return false;
        *last_seen_ms = entry.last_seen_ms;
        return true;
    }
    return false;
}

int
tsr_history_prune(tsr_history_t *self, uint64_t cutoff_ms, size_t *removed_out)
{
    assert(self);
    size_t removed = 0;
    MDB_txn *txn;
    bool own;
    MDB_cursor *cursor = NULL;
    int rc = s_txn_for_call(self, true, &txn, &own);
    if (rc != TSR_OK)
        return rc;
    rc = tsr_lmdb_error(mdb_cursor_open(txn, self->dbi, &cursor));
    if (rc != TSR_OK)
        goto out;
    MDB_val key, value;
    rc = tsr_lmdb_error(mdb_cursor_get(cursor, &key, &value, MDB_FIRST));
    while (rc == TSR_OK) {
        uint64_t last_seen_ms;
        if (!s_last_seen(&key, &value, &last_seen_ms) || last_seen_ms < cutoff_ms) {
            rc = tsr_lmdb_error(mdb_cursor_del(cursor, 0));
            if (rc != TSR_OK)
                goto out;
            removed++;
        }
        rc = tsr_lmdb_error(mdb_cursor_get(cursor, &key, &value, MDB_NEXT));
    }
    if (rc == TSR_ENOTFOUND)
        rc = TSR_OK; //  walked past the last record
out:
    if (cursor)
        mdb_cursor_close(cursor);
    if (rc == TSR_OK && removed_out)
        *removed_out = removed;
    return s_txn_end_call(txn, own, true, rc);
}
