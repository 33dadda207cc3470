/*  tsr_listings - the coordinator's cache of test listings
    Key: the 32 hash bytes of a BLAKE2b digest over a versioned, length-
    prefixed encoding of (workspace digest, framework, argv, env, workdir).
    Value: a StoredListing. Records come from disk: a bad one is a miss,
    never an assert. Loop thread of the coordinator only.                  */
#include "tsr_listings.h"
#include "tsr_lmdb.h"
#include "tsr_msg.h"
#include <endian.h>
#include <string.h>

#define TSR_LISTINGS_DB "listings"
//  Bump when the key encoding changes: old entries then never match
#define TSR_LISTINGS_KEY_FORMAT 1

struct _tsr_listings_t {
    MDB_env *env; //  borrowed (owner: the caller)
    MDB_dbi dbi;  //  "listings"; valid once opened
    bool opened;  //  tsr_listings_open succeeded
};
tsr_listings_t *
tsr_listings_new(MDB_env *env)
{
    assert(env);
    tsr_listings_t *self = (tsr_listings_t *)zmalloc(sizeof(tsr_listings_t));
    self->env = env;
    return self;
}

int
tsr_listings_open(tsr_listings_t *self)
{
    assert(self);
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc != TSR_OK)
        return TSR_ESTORE;
    rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_LISTINGS_DB, MDB_CREATE, &self->dbi));
    rc = tsr_lmdb_txn_end(txn, rc);
    self->opened = rc == TSR_OK;
    return rc == TSR_OK ? TSR_OK : TSR_ESTORE;
}

void
tsr_listings_destroy(tsr_listings_t **self_p)
{
    assert(self_p);
    free(*self_p); //  the dbi handle belongs to the environment
    *self_p = NULL;
}

//  ---------------------------------------------------------------- key

static void
s_hash_u64(tsr_hasher_t *hasher, uint64_t value)
{
    uint64_t little = htole64(value);
    tsr_hasher_update(hasher, &little, sizeof little);
}

//  A string with its length first, so ("ab","c") and ("a","bc") differ
static void
s_hash_string(tsr_hasher_t *hasher, const char *text)
{
    size_t size = text ? strlen(text) : 0;
    s_hash_u64(hasher, size);
    if (size)
        tsr_hasher_update(hasher, text, size);
}

void
tsr_listings_key(const tsr_digest_t *workspace, const Tessera__JobSpec *spec, tsr_digest_t *key_out)
{
    assert(workspace);
    assert(spec);
    assert(key_out);
    tsr_hasher_t *hasher = tsr_hasher_new();
    s_hash_u64(hasher, TSR_LISTINGS_KEY_FORMAT);
    tsr_hasher_update(hasher, workspace->hash, sizeof workspace->hash);
    s_hash_u64(hasher, workspace->size);
    s_hash_string(hasher, spec->framework);
    s_hash_u64(hasher, spec->n_argv);
    for (size_t index = 0; index < spec->n_argv; index++)
        s_hash_string(hasher, spec->argv[index]);
    s_hash_u64(hasher, spec->n_env);
    for (size_t index = 0; index < spec->n_env; index++) {
        s_hash_string(hasher, spec->env[index]->name);
        s_hash_string(hasher, spec->env[index]->value);
    }
    s_hash_string(hasher, spec->workdir);
    tsr_hasher_final(hasher, key_out);
    tsr_hasher_destroy(&hasher);
}

//  ---------------------------------------------------------------- records

static int
s_write(tsr_listings_t *self, const tsr_digest_t *key, const Tessera__StoredListing *record)
{
    size_t size = tessera__stored_listing__get_packed_size(record);
    if (size > TSR_LISTINGS_MAX_BYTES)
        return TSR_ETOOBIG;
    uint8_t *buffer = (uint8_t *)zmalloc(size ? size : 1);
    tessera__stored_listing__pack(record, buffer);
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc == TSR_OK) {
        MDB_val key_val = {.mv_size = sizeof key->hash, .mv_data = (void *)key->hash};
        MDB_val value = {.mv_size = size, .mv_data = buffer};
        rc = tsr_lmdb_error(mdb_put(txn, self->dbi, &key_val, &value, 0));
        rc = tsr_lmdb_txn_end(txn, rc);
    }
    free(buffer);
    return rc;
}

int
tsr_listings_get(tsr_listings_t *self, const tsr_digest_t *key, uint64_t now_ms, zlistx_t *ids_out)
{
    assert(self);
    assert(self->opened);
    assert(key);
    assert(ids_out);
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn);
    if (rc != TSR_OK)
        return rc;
    MDB_val key_val = {.mv_size = sizeof key->hash, .mv_data = (void *)key->hash};
    MDB_val value;
    Tessera__StoredListing *record = NULL;
    rc = tsr_lmdb_error(mdb_get(txn, self->dbi, &key_val, &value));
    if (rc == TSR_OK) {
        record = tessera__stored_listing__unpack(NULL, value.mv_size, value.mv_data);
        if (!record)
            rc = TSR_ESTORE;
    }
    mdb_txn_abort(txn);
    if (rc != TSR_OK)
        return rc;
    for (size_t index = 0; index < record->n_ids; index++)
        zlistx_add_end(ids_out, strdup(record->ids[index]));
    record->used_ms = now_ms;
    (void)s_write(self, key, record); //  only the last-used time: a failure loses nothing
    tessera__stored_listing__free_unpacked(record, NULL);
    return TSR_OK;
}

int
tsr_listings_put(tsr_listings_t *self, const tsr_digest_t *key, char *const *ids, size_t count,
                 uint64_t now_ms)
{
    assert(self);
    assert(self->opened);
    assert(key);
    assert(ids || count == 0);
    Tessera__StoredListing record = TESSERA__STORED_LISTING__INIT;
    record.ids = (char **)ids;
    record.n_ids = count;
    record.created_ms = now_ms;
    record.used_ms = now_ms;
    return s_write(self, key, &record);
}

int
tsr_listings_prune(tsr_listings_t *self, uint64_t cutoff_ms, size_t *removed_out)
{
    assert(self);
    assert(self->opened);
    size_t removed = 0;
    MDB_txn *txn = NULL;
    MDB_cursor *cursor = NULL;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc != TSR_OK)
        return rc;
    rc = tsr_lmdb_error(mdb_cursor_open(txn, self->dbi, &cursor));
    MDB_val key, value;
    int mdb_rc = rc == TSR_OK ? mdb_cursor_get(cursor, &key, &value, MDB_FIRST) : MDB_NOTFOUND;
    while (mdb_rc == MDB_SUCCESS && rc == TSR_OK) {
        Tessera__StoredListing *record =
            tessera__stored_listing__unpack(NULL, value.mv_size, value.mv_data);
        bool stale = !record || record->used_ms < cutoff_ms;
        if (record)
            tessera__stored_listing__free_unpacked(record, NULL);
        if (stale) {
            rc = tsr_lmdb_error(mdb_cursor_del(cursor, 0));
            removed++;
        }
        mdb_rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    if (cursor)
        mdb_cursor_close(cursor);
    rc = tsr_lmdb_txn_end(txn, rc);
    if (removed_out)
        *removed_out = rc == TSR_OK ? removed : 0;
    return rc;
}
