/*  tsr_cas - content-addressed blob store on LMDB
    Owns one LMDB environment in a directory (data.mdb, lock.mdb), opened with
    MDB_NOTLS so a store may be used from a zactor worker. Callers: the
    coordinator (its cache and, through tsr_cas_env, its run store), agents
    (their input cache), tsr_tree and tsr_transfer. One object per thread;
    several processes on one host may open the same directory (LMDB locks).

    Named databases (tests and tools may rely on these names):
      "cas.blobs"  blob key -> the content bytes
      "cas.meta"   blob key -> last-use tick (8 bytes, big-endian)
      "cas.lru"    tick (8 bytes, big-endian) + blob key -> empty; sorted by
                   tick, so the first entry is the least recently used blob
      "cas.info"   "totals" -> content bytes (8 BE) + last tick issued (8 BE)
    A blob key is the 32-byte BLAKE2b hash followed by the 8-byte big-endian
    content size (40 bytes), so the key alone names the whole tsr_digest_t.
    Every change to the four databases happens in one write transaction, so
    they agree with each other in every snapshot.

    Eviction: a put first evicts least-recently-used blobs until the new blob
    fits the byte budget (tsr_cas_set_limit). The budget counts content bytes,
    not LMDB pages, so the map can still fill up: on MDB_MAP_FULL the put's
    transaction is aborted, LRU blobs are evicted in a transaction of their
    own and the put is retried, until it fits or nothing is left (TSR_EFULL).
    LMDB reuses pages freed by a transaction only from the second transaction
    after it, so an eviction is followed by an empty-change commit (s_flush).
    A read transaction left open in any process pins the pages it sees: under
    a full map a put may then evict more, or fail with TSR_EFULL.

    Use: get, write_file and a read at offset 0 mark a blob used (a short
    write transaction after the read one, so readers never wait on it);
    has and reads at other offsets do not.                                   */
#include "tsr_cas.h" //  own header first: proves it self-contained
#include "tsr_lmdb.h"
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Named databases the environment must hold beside ours (coordinator run store)
#define TSR_CAS_MAX_DBS 32

#define TSR_CAS_BLOBS_DB "cas.blobs"
#define TSR_CAS_META_DB "cas.meta"
#define TSR_CAS_LRU_DB "cas.lru"
#define TSR_CAS_INFO_DB "cas.info"
#define TSR_CAS_TOTALS_KEY "totals"

//  Blob key: hash + big-endian size
#define TSR_CAS_KEY_BYTES (TSR_DIGEST_BYTES + 8)
//  LRU key: big-endian tick + blob key
#define TSR_CAS_LRU_KEY_BYTES (8 + TSR_CAS_KEY_BYTES)
//  Totals record: content bytes + last tick, both big-endian
#define TSR_CAS_TOTALS_BYTES 16

//  Budget when none was set: 90% of the map, in percent
#define TSR_CAS_DEFAULT_LIMIT_PCT 90
//  Reads mark blobs used in batches of this many, in one write transaction:
//  a transaction per read made materialising a workspace cost a disk sync per file
#define TSR_CAS_TOUCH_BATCH 256

struct _tsr_cas_t {
    MDB_env *env;         //  owned; NULL until tsr_cas_open succeeds
    MDB_dbi blobs_dbi;    //  "cas.blobs": blob key -> content
    MDB_dbi meta_dbi;     //  "cas.meta": blob key -> last-use tick
    MDB_dbi lru_dbi;      //  "cas.lru": (tick, blob key) -> empty
    MDB_dbi info_dbi;     //  "cas.info": "totals" -> (content bytes, last tick)
    uint64_t limit_bytes; //  content budget, bytes; 0 = 90% of the current map
    uint8_t *touches;     //  owned; keys read since the last flush (TSR_CAS_TOUCH_BATCH)
    size_t touch_count;   //  keys in `touches`
};

static void s_touch_flush(tsr_cas_t *self);

//  The blob key of a digest (see banner)
typedef struct {
    uint8_t bytes[TSR_CAS_KEY_BYTES]; //  hash, then big-endian size
} cas_key_t;

//  The "totals" record, decoded
typedef struct {
    uint64_t content_bytes; //  sum of the sizes of stored blobs
    uint64_t last_tick;     //  highest use tick handed out so far
} cas_totals_t;

//  Fills the `size` bytes LMDB reserved for a new blob; TSR_OK or an error
//  that aborts the put (TSR_ECORRUPT when the source does not match).
typedef int(cas_fill_fn)(void *fill_arg, uint8_t *dest, size_t size);

//  Big-endian integers in keys sort numerically under LMDB's memcmp order
static void
s_be64_put(uint8_t *dest, uint64_t value)
{
    uint64_t big_endian = htobe64(value);
    memcpy(dest, &big_endian, sizeof big_endian);
}

static uint64_t
s_be64_get(const uint8_t *source)
{
    uint64_t big_endian;
    memcpy(&big_endian, source, sizeof big_endian);
    return be64toh(big_endian);
}

static void
s_key_from_digest(const tsr_digest_t *digest, cas_key_t *key)
{
    memcpy(key->bytes, digest->hash, TSR_DIGEST_BYTES);
    s_be64_put(key->bytes + TSR_DIGEST_BYTES, digest->size);
}

static uint64_t
s_key_size(const cas_key_t *key)
{
    return s_be64_get(key->bytes + TSR_DIGEST_BYTES);
}

//  "hex/size" of a key, for log lines
static void
s_key_str(const cas_key_t *key, char *text)
{
    tsr_digest_t digest;
    memcpy(digest.hash, key->bytes, TSR_DIGEST_BYTES);
    digest.size = s_key_size(key);
    tsr_digest_str(&digest, text);
}

static MDB_val
s_key_val(const cas_key_t *key)
{
    return (MDB_val){.mv_size = sizeof key->bytes, .mv_data = (void *)key->bytes};
}

static uint64_t
s_map_bytes(tsr_cas_t *self)
{
    MDB_envinfo info;
    int rc = mdb_env_info(self->env, &info);
    assert(rc == MDB_SUCCESS); //  only fails on a NULL argument
    (void)rc;
    return info.me_mapsize;
}

static uint64_t
s_limit(tsr_cas_t *self)
{
    if (self->limit_bytes)
        return self->limit_bytes;
    return s_map_bytes(self) / 100 * TSR_CAS_DEFAULT_LIMIT_PCT;
}

//  Read the totals; a store without them yet is empty
static int
s_totals_get(tsr_cas_t *self, MDB_txn *txn, cas_totals_t *totals)
{
    MDB_val key = {.mv_size = strlen(TSR_CAS_TOTALS_KEY), .mv_data = TSR_CAS_TOTALS_KEY};
    MDB_val value;
    int rc = tsr_lmdb_error(mdb_get(txn, self->info_dbi, &key, &value));
    if (rc == TSR_ENOTFOUND) {
        *totals = (cas_totals_t){0, 0};
        return TSR_OK;
    }
    if (rc != TSR_OK)
        return rc;
    if (value.mv_size != TSR_CAS_TOTALS_BYTES)
        return TSR_ESTORE; //  disk input: never assert on it
    totals->content_bytes = s_be64_get(value.mv_data);
    totals->last_tick = s_be64_get((const uint8_t *)value.mv_data + 8);
    return TSR_OK;
}

static int
s_totals_put(tsr_cas_t *self, MDB_txn *txn, const cas_totals_t *totals)
{
    uint8_t record[TSR_CAS_TOTALS_BYTES];
    s_be64_put(record, totals->content_bytes);
    s_be64_put(record + 8, totals->last_tick);
    MDB_val key = {.mv_size = strlen(TSR_CAS_TOTALS_KEY), .mv_data = TSR_CAS_TOTALS_KEY};
    MDB_val value = {.mv_size = sizeof record, .mv_data = record};
    return tsr_lmdb_error(mdb_put(txn, self->info_dbi, &key, &value, 0));
}

//  Give a stored blob a fresh tick: newest in the LRU order
static int
s_index_in(tsr_cas_t *self, MDB_txn *txn, const cas_key_t *key, cas_totals_t *totals)
{
    uint8_t tick_bytes[8];
    uint8_t lru_key_bytes[TSR_CAS_LRU_KEY_BYTES];
    totals->last_tick++;
    s_be64_put(tick_bytes, totals->last_tick);
    memcpy(lru_key_bytes, tick_bytes, 8);
    memcpy(lru_key_bytes + 8, key->bytes, TSR_CAS_KEY_BYTES);

    MDB_val lru_key = {.mv_size = sizeof lru_key_bytes, .mv_data = lru_key_bytes};
    MDB_val empty = {.mv_size = 0, .mv_data = NULL};
    int rc = tsr_lmdb_error(mdb_put(txn, self->lru_dbi, &lru_key, &empty, 0));
    if (rc != TSR_OK)
        return rc;
    MDB_val meta_key = s_key_val(key);
    MDB_val meta_value = {.mv_size = sizeof tick_bytes, .mv_data = tick_bytes};
    return tsr_lmdb_error(mdb_put(txn, self->meta_dbi, &meta_key, &meta_value, 0));
}

//  Drop a blob's LRU entry, found through its meta tick. A missing or
//  malformed meta record leaves at most a stale LRU entry, which eviction
//  skips, so it is not an error.
static int
s_unindex_in(tsr_cas_t *self, MDB_txn *txn, const cas_key_t *key)
{
    MDB_val meta_key = s_key_val(key);
    MDB_val meta_value;
    int rc = tsr_lmdb_error(mdb_get(txn, self->meta_dbi, &meta_key, &meta_value));
    if (rc == TSR_ENOTFOUND)
        return TSR_OK;
    if (rc != TSR_OK)
        return rc;
    if (meta_value.mv_size != 8)
        return TSR_OK;
    uint8_t lru_key_bytes[TSR_CAS_LRU_KEY_BYTES];
    memcpy(lru_key_bytes, meta_value.mv_data, 8);
    memcpy(lru_key_bytes + 8, key->bytes, TSR_CAS_KEY_BYTES);
    MDB_val lru_key = {.mv_size = sizeof lru_key_bytes, .mv_data = lru_key_bytes};
    rc = tsr_lmdb_error(mdb_del(txn, self->lru_dbi, &lru_key, NULL));
    return rc == TSR_ENOTFOUND ? TSR_OK : rc;
}

//  Mark a stored blob used
static int
s_touch_in(tsr_cas_t *self, MDB_txn *txn, const cas_key_t *key, cas_totals_t *totals)
{
    int rc = s_unindex_in(self, txn, key);
    if (rc == TSR_OK)
        rc = s_index_in(self, txn, key, totals);
    return rc;
}

//  Delete a blob's content and meta record (not its LRU entry). *removed_out
//  tells whether the content was there; only then do the totals shrink.
static int
s_unstore_in(tsr_cas_t *self, MDB_txn *txn, const cas_key_t *key, cas_totals_t *totals,
             bool *removed_out)
{
    MDB_val blob_key = s_key_val(key);
    int rc = tsr_lmdb_error(mdb_del(txn, self->blobs_dbi, &blob_key, NULL));
    *removed_out = rc == TSR_OK;
    if (rc != TSR_OK && rc != TSR_ENOTFOUND)
        return rc;
    if (*removed_out) {
        uint64_t size = s_key_size(key);
        totals->content_bytes = totals->content_bytes > size ? totals->content_bytes - size : 0;
    }
    rc = tsr_lmdb_error(mdb_del(txn, self->meta_dbi, &blob_key, NULL));
    return rc == TSR_ENOTFOUND ? TSR_OK : rc;
}

//  Evict least-recently-used blobs until the content fits in `keep_bytes` and
//  at least `min_blobs` were evicted, or nothing is left. Stale LRU entries
//  (their blob already gone) are dropped without counting.
static int
s_evict_in(tsr_cas_t *self, MDB_txn *txn, cas_totals_t *totals, uint64_t keep_bytes,
           uint64_t min_blobs, uint64_t *evicted_out)
{
    uint64_t evicted = 0;
    MDB_cursor *cursor = NULL;
    int rc = tsr_lmdb_error(mdb_cursor_open(txn, self->lru_dbi, &cursor));
    while (rc == TSR_OK && (totals->content_bytes > keep_bytes || evicted < min_blobs)) {
        MDB_val lru_key, empty;
        rc = tsr_lmdb_error(mdb_cursor_get(cursor, &lru_key, &empty, MDB_FIRST));
        if (rc == TSR_ENOTFOUND) {
            rc = TSR_OK; //  nothing left to evict
            break;
        }
        if (rc != TSR_OK)
            break;
        if (lru_key.mv_size != TSR_CAS_LRU_KEY_BYTES) {
            rc = TSR_ESTORE;
            break;
        }
        cas_key_t key; //  copied: the MDB_val dies with the next change
        memcpy(key.bytes, (const uint8_t *)lru_key.mv_data + 8, TSR_CAS_KEY_BYTES);
        rc = tsr_lmdb_error(mdb_cursor_del(cursor, 0));
        if (rc != TSR_OK)
            break;
        bool removed = false;
        rc = s_unstore_in(self, txn, &key, totals, &removed);
        if (rc == TSR_OK && removed) {
            evicted++;
            if (tsr_log_level() >= TSR_LOG_DEBUG) {
                char text[TSR_DIGEST_STR_LEN];
                s_key_str(&key, text);
                tsr_log_debug("cas evicted digest=%s", text);
            }
        }
    }
    if (cursor)
        mdb_cursor_close(cursor);
    if (evicted_out)
        *evicted_out = evicted;
    return rc;
}

//  One attempt to store a blob, in one write transaction: dedupe, evict to
//  the budget, reserve, fill, index. TSR_EFULL means MDB_MAP_FULL.
static int
s_store_once(tsr_cas_t *self, const cas_key_t *key, uint64_t limit, cas_fill_fn *fill,
             void *fill_arg)
{
    uint64_t size = s_key_size(key);
    MDB_txn *txn = NULL;
    cas_totals_t totals;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc != TSR_OK)
        goto out;
    rc = s_totals_get(self, txn, &totals);
    if (rc != TSR_OK)
        goto out;
    MDB_val blob_key = s_key_val(key);
    MDB_val content;
    rc = tsr_lmdb_error(mdb_get(txn, self->blobs_dbi, &blob_key, &content));
    if (rc == TSR_OK)
        rc = s_touch_in(self, txn, key, &totals); //  already stored: just mark it used
    else if (rc == TSR_ENOTFOUND) {
        rc = s_evict_in(self, txn, &totals, limit - size, 0, NULL);
        if (rc != TSR_OK)
            goto out;
        content = (MDB_val){.mv_size = (size_t)size, .mv_data = NULL};
        rc = tsr_lmdb_error(mdb_put(txn, self->blobs_dbi, &blob_key, &content, MDB_RESERVE));
        if (rc != TSR_OK)
            goto out;
        //  LMDB wants reserved space filled before the next change
        rc = fill(fill_arg, content.mv_data, (size_t)size);
        if (rc != TSR_OK)
            goto out;
        rc = s_index_in(self, txn, key, &totals);
        totals.content_bytes += size;
    }
    if (rc == TSR_OK)
        rc = s_totals_put(self, txn, &totals);
out:
    return tsr_lmdb_txn_end(txn, rc);
}

//  Commit an unchanged totals record. LMDB reuses the pages a transaction
//  freed only from the second transaction after it; this is the first.
static int
s_flush(tsr_cas_t *self)
{
    MDB_txn *txn = NULL;
    cas_totals_t totals;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc == TSR_OK)
        rc = s_totals_get(self, txn, &totals);
    if (rc == TSR_OK)
        rc = s_totals_put(self, txn, &totals);
    return tsr_lmdb_txn_end(txn, rc);
}

//  The map is full: evict LRU blobs worth at least `size` bytes (and at least
//  one blob) in a transaction of their own, then flush so that the next
//  attempt can use the pages they held. TSR_EFULL if nothing is left to evict.
static int
s_make_room(tsr_cas_t *self, uint64_t size)
{
    MDB_txn *txn = NULL;
    cas_totals_t totals;
    uint64_t evicted = 0;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc != TSR_OK)
        goto out;
    rc = s_totals_get(self, txn, &totals);
    if (rc != TSR_OK)
        goto out;
    uint64_t keep_bytes = totals.content_bytes > size ? totals.content_bytes - size : 0;
    rc = s_evict_in(self, txn, &totals, keep_bytes, 1, &evicted);
    if (rc == TSR_OK && evicted == 0)
        rc = TSR_EFULL;
    if (rc == TSR_OK)
        rc = s_totals_put(self, txn, &totals);
    rc = tsr_lmdb_txn_end(txn, rc);
    txn = NULL;
    if (rc != TSR_OK)
        goto out;
    tsr_log_debug("cas map full: evicted %" PRIu64 " blobs for %" PRIu64 " bytes", evicted, size);
    //  A flush that finds the map full too only costs one more round
    rc = s_flush(self);
    if (rc == TSR_EFULL)
        rc = TSR_OK;
out:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

//  Store a blob whose digest the caller has checked: put, and on a full map
//  make room and retry until it fits or nothing is left.
static int
s_store(tsr_cas_t *self, const tsr_digest_t *digest, cas_fill_fn *fill, void *fill_arg)
{
    s_touch_flush(self); //  eviction below must see every use so far
    uint64_t limit = s_limit(self);
    //  Never fits: refuse before evicting anything for it
    if (digest->size > limit || digest->size >= s_map_bytes(self) || digest->size > SIZE_MAX)
        return TSR_EFULL;
    cas_key_t key;
    s_key_from_digest(digest, &key);
    while (true) {
        int rc = s_store_once(self, &key, limit, fill, fill_arg);
        if (rc != TSR_EFULL)
            return rc;
        rc = s_make_room(self, digest->size);
        if (rc != TSR_OK)
            return rc;
    }
}

//  Write the pending use marks in one transaction. The reads succeeded, so a
//  failure here is only logged (a full map makes it common: DEBUG then).
static void
s_touch_flush(tsr_cas_t *self)
{
    if (self->touch_count == 0)
        return;
    MDB_txn *txn = NULL;
    cas_totals_t totals;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc == TSR_OK)
        rc = s_totals_get(self, txn, &totals);
    for (size_t index = 0; rc == TSR_OK && index < self->touch_count; index++) {
        cas_key_t key;
        memcpy(key.bytes, self->touches + index * TSR_CAS_KEY_BYTES, TSR_CAS_KEY_BYTES);
        MDB_val blob_key = s_key_val(&key);
        MDB_val content;
        rc = tsr_lmdb_error(mdb_get(txn, self->blobs_dbi, &blob_key, &content));
        if (rc == TSR_ENOTFOUND)
            rc = TSR_OK; //  deleted since the read: nothing to mark
        else if (rc == TSR_OK)
            rc = s_touch_in(self, txn, &key, &totals);
    }
    if (rc == TSR_OK)
        rc = s_totals_put(self, txn, &totals);
    rc = tsr_lmdb_txn_end(txn, rc);
    if (rc == TSR_EFULL)
        tsr_log_debug("cas could not mark %zu blobs used: %s", self->touch_count, tsr_strerror(rc));
    else if (rc != TSR_OK)
        tsr_log_warn("cas could not mark %zu blobs used: %s", self->touch_count, tsr_strerror(rc));
    self->touch_count = 0;
}

//  Mark a blob used after a read: queued, written with the next write or batch
static void
s_touch(tsr_cas_t *self, const cas_key_t *key)
{
    if (!self->touches)
        self->touches = (uint8_t *)zmalloc(TSR_CAS_TOUCH_BATCH * TSR_CAS_KEY_BYTES);
    memcpy(self->touches + self->touch_count * TSR_CAS_KEY_BYTES, key->bytes, TSR_CAS_KEY_BYTES);
    if (++self->touch_count == TSR_CAS_TOUCH_BATCH)
        s_touch_flush(self);
}

//  Delete a blob and its LRU entry in one write transaction
static int
s_remove(tsr_cas_t *self, const cas_key_t *key)
{
    s_touch_flush(self);
    MDB_txn *txn = NULL;
    cas_totals_t totals;
    bool removed = false;
    int rc = tsr_lmdb_txn_begin(self->env, 0, &txn);
    if (rc == TSR_OK)
        rc = s_totals_get(self, txn, &totals);
    if (rc == TSR_OK)
        rc = s_unindex_in(self, txn, key);
    if (rc == TSR_OK)
        rc = s_unstore_in(self, txn, key, &totals, &removed);
    if (rc == TSR_OK && !removed)
        rc = TSR_ENOTFOUND;
    if (rc == TSR_OK)
        rc = s_totals_put(self, txn, &totals);
    return tsr_lmdb_txn_end(txn, rc);
}

//  A stored blob failed verification: remove it, so a good copy can be put
//  again (a put of a present blob only marks it used). Handled here, so
//  logged here; the caller gets TSR_ECORRUPT.
static void
s_drop_corrupt(tsr_cas_t *self, const cas_key_t *key)
{
    char text[TSR_DIGEST_STR_LEN];
    s_key_str(key, text);
    int rc = s_remove(self, key);
    if (rc == TSR_OK || rc == TSR_ENOTFOUND)
        tsr_log_warn("cas removed corrupt blob digest=%s", text);
    else
        tsr_log_warn("cas could not remove corrupt blob digest=%s: %s", text, tsr_strerror(rc));
}

//  Look a blob up in a read transaction; its stored length must match the key
static int
s_lookup(tsr_cas_t *self, MDB_txn *txn, const cas_key_t *key, MDB_val *content_out)
{
    MDB_val blob_key = s_key_val(key);
    int rc = tsr_lmdb_error(mdb_get(txn, self->blobs_dbi, &blob_key, content_out));
    if (rc == TSR_OK && content_out->mv_size != s_key_size(key))
        rc = TSR_ECORRUPT;
    return rc;
}

//  Whether stored bytes hash to the digest named by `key`
static bool
s_matches(const cas_key_t *key, const void *bytes, size_t size)
{
    tsr_digest_t actual;
    tsr_digest_buffer(bytes, size, &actual);
    return size == s_key_size(key) && memcmp(actual.hash, key->bytes, TSR_DIGEST_BYTES) == 0;
}

tsr_cas_t *
tsr_cas_new(void)
{
    tsr_cas_t *self = calloc(1, sizeof *self);
    if (!self)
        abort(); //  OOM, as zmalloc
    return self;
}

int
tsr_cas_open(tsr_cas_t *self, const char *dir, size_t map_bytes)
{
    assert(self);
    assert(dir);
    assert(!self->env);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;

    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    int rc = tsr_lmdb_error(mdb_env_create(&env));
    if (rc != TSR_OK)
        goto out;
    rc = tsr_lmdb_error(mdb_env_set_maxdbs(env, TSR_CAS_MAX_DBS));
    if (rc == TSR_OK && map_bytes)
        rc = tsr_lmdb_error(mdb_env_set_mapsize(env, map_bytes));
    if (rc == TSR_OK)
        //  MDB_NOSYNC: a cache, verified by digest on every use; commits stay atomic
        //  (ext4 keeps write order) and tsr_cas_sync/destroy flush to disk
        rc = tsr_lmdb_error(mdb_env_open(env, dir, MDB_NOTLS | MDB_NOSYNC, 0600));
    if (rc == TSR_OK)
        rc = tsr_lmdb_error(mdb_txn_begin(env, NULL, 0, &txn));
    if (rc != TSR_OK)
        goto out;
    //  Create our databases once, so later read transactions can open them
    rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_CAS_BLOBS_DB, MDB_CREATE, &self->blobs_dbi));
    if (rc == TSR_OK)
        rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_CAS_META_DB, MDB_CREATE, &self->meta_dbi));
    if (rc == TSR_OK)
        rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_CAS_LRU_DB, MDB_CREATE, &self->lru_dbi));
    if (rc == TSR_OK)
        rc = tsr_lmdb_error(mdb_dbi_open(txn, TSR_CAS_INFO_DB, MDB_CREATE, &self->info_dbi));
    rc = tsr_lmdb_txn_end(txn, rc);
    txn = NULL;
    if (rc != TSR_OK)
        goto out;
    self->env = env;
    env = NULL;
out:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return rc;
}

void
tsr_cas_destroy(tsr_cas_t **self_p)
{
    assert(self_p);
    tsr_cas_t *self = *self_p;
    if (self) {
        if (self->env) {
            s_touch_flush(self);
            mdb_env_sync(self->env, 1);
            mdb_env_close(self->env);
        }
        free(self->touches);
        free(self);
        *self_p = NULL;
    }
}

int
tsr_cas_sync(tsr_cas_t *self)
{
    assert(self);
    assert(self->env);
    s_touch_flush(self);
    return tsr_lmdb_error(mdb_env_sync(self->env, 1));
}

void
tsr_cas_set_limit(tsr_cas_t *self, uint64_t max_bytes)
{
    assert(self);
    self->limit_bytes = max_bytes;
}

//  Fill from a caller's buffer, already verified against the digest
static int
s_fill_from_buffer(void *fill_arg, uint8_t *dest, size_t size)
{
    if (size)
        memcpy(dest, fill_arg, size);
    return TSR_OK;
}

int
tsr_cas_put(tsr_cas_t *self, const tsr_digest_t *digest, const void *data, size_t size)
{
    assert(self);
    assert(self->env);
    assert(digest);
    assert(data || size == 0);
    tsr_digest_t actual;
    tsr_digest_buffer(data, size, &actual);
    if (!tsr_digest_eq(&actual, digest))
        return TSR_ECORRUPT;
    return s_store(self, digest, s_fill_from_buffer, (void *)data);
}

int
tsr_cas_put_buffer(tsr_cas_t *self, const void *data, size_t size, tsr_digest_t *digest_out)
{
    assert(self);
    assert(self->env);
    assert(data || size == 0);
    assert(digest_out);
    tsr_digest_buffer(data, size, digest_out);
    return s_store(self, digest_out, s_fill_from_buffer, (void *)data);
}

//  Source of a put_file: the open file and the digest it hashed to
typedef struct {
    int fd;                     //  borrowed (owner: tsr_cas_put_file)
    const tsr_digest_t *digest; //  borrowed: what the file's content hashed to
} cas_file_source_t;

//  Copy the file straight into LMDB's reserved space, then check the copy
//  against the digest: the file may have changed since it was hashed.
static int
s_fill_from_file(void *fill_arg, uint8_t *dest, size_t size)
{
    cas_file_source_t *source = fill_arg;
    size_t copied = 0;
    while (copied < size) {
        ssize_t got = pread(source->fd, dest + copied, size - copied, (off_t)copied);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return TSR_ECORRUPT; //  shrank
        copied += (size_t)got;
    }
    uint8_t extra;
    ssize_t got;
    do
        got = pread(source->fd, &extra, 1, (off_t)size);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    if (got > 0)
        return TSR_ECORRUPT; //  grew
    tsr_digest_t actual;
    tsr_digest_buffer(dest, size, &actual);
    return tsr_digest_eq(&actual, source->digest) ? TSR_OK : TSR_ECORRUPT;
}

int
tsr_cas_put_file(tsr_cas_t *self, const char *path, const tsr_digest_t *expect,
                 tsr_digest_t *digest_out)
{
    assert(self);
    assert(self->env);
    assert(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc;
    struct stat file_stat;
    if (fstat(fd, &file_stat) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(file_stat.st_mode)) {
        rc = S_ISDIR(file_stat.st_mode) ? -EISDIR : -EINVAL;
        goto out;
    }
    tsr_digest_t actual;
    rc = tsr_digest_fd(fd, &actual);
    if (rc != TSR_OK)
        goto out;
    if (expect && !tsr_digest_eq(expect, &actual)) {
        rc = TSR_ECORRUPT;
        goto out;
    }
    cas_file_source_t source = {.fd = fd, .digest = &actual};
    rc = s_store(self, &actual, s_fill_from_file, &source);
    if (rc == TSR_OK && digest_out)
        *digest_out = actual;
out:
    close(fd);
    return rc;
}

int
tsr_cas_get(tsr_cas_t *self, const tsr_digest_t *digest, bool verify, void **data_out,
            size_t *size_out)
{
    assert(self);
    assert(self->env);
    assert(digest);
    assert(data_out);
    assert(size_out);
    cas_key_t key;
    s_key_from_digest(digest, &key);
    uint8_t *copy = NULL;
    size_t size = 0;
    MDB_txn *txn = NULL;
    MDB_val content;
    int rc = tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn);
    if (rc == TSR_OK)
        rc = s_lookup(self, txn, &key, &content);
    if (rc == TSR_OK) {
        size = content.mv_size;
        copy = malloc(size ? size : 1); //  never NULL on success, even when empty
        if (!copy)
            abort(); //  OOM, as zmalloc
        if (size)
            memcpy(copy, content.mv_data, size);
    }
    if (txn)
        mdb_txn_abort(txn); //  ends the read before hashing and the write below
    if (rc == TSR_OK && verify && !s_matches(&key, copy, size))
        rc = TSR_ECORRUPT;
    if (rc == TSR_ECORRUPT)
        s_drop_corrupt(self, &key);
    if (rc != TSR_OK) {
        free(copy);
        return rc;
    }
    s_touch(self, &key);
    *data_out = copy;
    *size_out = size;
    return TSR_OK;
}

int
tsr_cas_read(tsr_cas_t *self, const tsr_digest_t *digest, uint64_t offset, void *buffer,
             size_t length, size_t *read_out)
{
    assert(self);
    assert(self->env);
    assert(digest);
    assert(buffer || length == 0);
    assert(read_out);
    cas_key_t key;
    s_key_from_digest(digest, &key);
    size_t copied = 0;
    MDB_txn *txn = NULL;
    MDB_val content;
    int rc = tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn);
    if (rc == TSR_OK)
        rc = s_lookup(self, txn, &key, &content);
    if (rc == TSR_OK && offset < content.mv_size) {
        size_t left = content.mv_size - (size_t)offset;
        copied = length < left ? length : left;
        if (copied)
            memcpy(buffer, (const uint8_t *)content.mv_data + offset, copied);
    }
    if (txn)
        mdb_txn_abort(txn);
    if (rc != TSR_OK)
        return rc;
    if (offset == 0)
        s_touch(self, &key); //  once per transfer, not per chunk
    *read_out = copied;
    return TSR_OK;
}

//  write(2) all of `size` bytes
static int
s_write_all(int fd, const uint8_t *bytes, size_t size)
{
    while (size) {
        ssize_t done = write(fd, bytes, size);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return -errno;
        bytes += done;
        size -= (size_t)done;
    }
    return TSR_OK;
}

int
tsr_cas_write_file(tsr_cas_t *self, const tsr_digest_t *digest, const char *path, unsigned mode)
{
    assert(self);
    assert(self->env);
    assert(digest);
    assert(path);
    cas_key_t key;
    s_key_from_digest(digest, &key);
    int fd = -1;
    bool created = false;
    MDB_txn *txn = NULL;
    MDB_val content;
    //  Written straight from the map, inside the read transaction: no copy
    int rc = tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn);
    if (rc != TSR_OK)
        goto out;
    rc = s_lookup(self, txn, &key, &content);
    if (rc != TSR_OK)
        goto out;
    if (!s_matches(&key, content.mv_data, content.mv_size)) {
        rc = TSR_ECORRUPT;
        goto out;
    }
    //  A new file only: O_EXCL never follows a planted symlink
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    created = true;
    rc = s_write_all(fd, content.mv_data, content.mv_size);
    if (rc != TSR_OK)
        goto out;
    //  Exact permission bits, whatever the umask; never setuid/setgid/sticky
    if (fchmod(fd, (mode_t)(mode & 0777)) < 0) {
        rc = -errno;
        goto out;
    }
    int close_rc = close(fd);
    fd = -1;
    if (close_rc < 0)
        rc = -errno;
out:
    if (fd >= 0)
        close(fd);
    if (txn)
        mdb_txn_abort(txn);
    if (rc != TSR_OK && created)
        unlink(path);
    if (rc == TSR_ECORRUPT)
        s_drop_corrupt(self, &key);
    if (rc == TSR_OK)
        s_touch(self, &key);
    return rc;
}

bool
tsr_cas_has(tsr_cas_t *self, const tsr_digest_t *digest)
{
    assert(self);
    assert(self->env);
    assert(digest);
    cas_key_t key;
    s_key_from_digest(digest, &key);
    MDB_txn *txn = NULL;
    MDB_val blob_key = s_key_val(&key);
    MDB_val content;
    int rc = tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn);
    if (rc == TSR_OK) {
        rc = tsr_lmdb_error(mdb_get(txn, self->blobs_dbi, &blob_key, &content));
        mdb_txn_abort(txn);
    }
    return rc == TSR_OK;
}

int
tsr_cas_delete(tsr_cas_t *self, const tsr_digest_t *digest)
{
    assert(self);
    assert(self->env);
    assert(digest);
    cas_key_t key;
    s_key_from_digest(digest, &key);
    return s_remove(self, &key);
}

uint64_t
tsr_cas_size(tsr_cas_t *self)
{
    assert(self);
    assert(self->env);
    MDB_txn *txn = NULL;
    cas_totals_t totals = {0, 0};
    if (tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn) == TSR_OK) {
        if (s_totals_get(self, txn, &totals) != TSR_OK)
            totals.content_bytes = 0;
        mdb_txn_abort(txn);
    }
    return totals.content_bytes;
}

uint64_t
tsr_cas_count(tsr_cas_t *self)
{
    assert(self);
    assert(self->env);
    MDB_txn *txn = NULL;
    MDB_stat stat = {0};
    if (tsr_lmdb_txn_begin(self->env, MDB_RDONLY, &txn) == TSR_OK) {
        if (mdb_stat(txn, self->blobs_dbi, &stat) != MDB_SUCCESS)
            stat.ms_entries = 0;
        mdb_txn_abort(txn);
    }
    return stat.ms_entries;
}

MDB_env *
tsr_cas_env(tsr_cas_t *self)
{
    assert(self);
    return self->env;
}
