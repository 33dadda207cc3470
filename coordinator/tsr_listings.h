/*  tsr_listings - the coordinator's cache of test listings
    Listing a suite (pytest collection, cargo builds) costs seconds to
    minutes; an unchanged workspace lists the same. A listing is kept under
    a digest of what decides it: the workspace root, the framework, the
    job's argv, env and workdir (tsr_listings_key). Lives in a named
    database "listings" of an environment the caller owns (the coordinator
    passes tsr_cas_env()), one StoredListing record per key. Only listings
    without collection errors are kept (an error is shown on every run).
    Loop thread of the coordinator only.                                   */
#ifndef TSR_LISTINGS_H
#define TSR_LISTINGS_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_digest.h"
#include <lmdb.h>

typedef struct _tsr_listings_t tsr_listings_t;

//  Create a cache on `env` (borrowed: it must outlive the cache and have
//  room for one more named database). Never fails.
tsr_listings_t *tsr_listings_new(MDB_env *env);

//  Open or create the "listings" database. Returns TSR_OK or TSR_ESTORE.
TSR_NODISCARD int tsr_listings_open(tsr_listings_t *self);

//  NULL-safe; sets *self_p to NULL.
void tsr_listings_destroy(tsr_listings_t **self_p);

//  The key of a job's listing in a workspace. Pure; any thread.
void tsr_listings_key(const tsr_digest_t *workspace, const Tessera__JobSpec *spec,
                      tsr_digest_t *key_out);

//  Append the cached ids (new strings) to `ids_out` (destructor set by the
//  caller) and mark the entry used at `now_ms`. Returns TSR_OK,
//  TSR_ENOTFOUND, TSR_ESTORE (unreadable record) or -errno.
TSR_NODISCARD int tsr_listings_get(tsr_listings_t *self, const tsr_digest_t *key, uint64_t now_ms,
                                   zlistx_t *ids_out);

//  Keep `ids` (count of them) under `key`. Returns TSR_OK, TSR_EFULL,
//  TSR_ETOOBIG (the record would exceed TSR_LISTINGS_MAX_BYTES),
//  TSR_ESTORE or -errno.
TSR_NODISCARD int tsr_listings_put(tsr_listings_t *self, const tsr_digest_t *key, char *const *ids,
                                   size_t count, uint64_t now_ms);

//  Remove entries last used before `cutoff_ms`, and unreadable ones;
//  *removed_out (may be NULL) gets the count. Returns TSR_OK or an error.
TSR_NODISCARD int tsr_listings_prune(tsr_listings_t *self, uint64_t cutoff_ms, size_t *removed_out);

//  Largest record kept, bytes.
#define TSR_LISTINGS_MAX_BYTES (64u << 20)

#endif
