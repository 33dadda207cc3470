/*  tsr_cas - content-addressed blob store on LMDB
    Blobs stored under their digest, for the coordinator's and agents' caches.
    Keeps a byte budget and evicts least-recently-used blobs to stay under it;
    MDB_MAP_FULL triggers eviction, never a crash. Several processes on one host
    may open the same directory. One object per thread (MDB_NOTLS is set).
    The environment has room for other named databases (tsr_cas_env), so the
    coordinator keeps its run store in the same environment.                   */
#ifndef TSR_CAS_H
#define TSR_CAS_H

#include "tsr_common.h"
#include "tsr_digest.h"
#include <lmdb.h>

typedef struct _tsr_cas_t tsr_cas_t;

//  Create an unopened store. Never fails.
tsr_cas_t *tsr_cas_new(void);

//  Open or create the store in `dir` (created if missing) with an LMDB map of
//  `map_bytes`. The eviction budget defaults to 90% of the map.
//  Returns TSR_OK, TSR_ESTORE or -errno.
TSR_NODISCARD int tsr_cas_open(tsr_cas_t *self, const char *dir, size_t map_bytes);

//  NULL-safe; sets *self_p to NULL.
void tsr_cas_destroy(tsr_cas_t **self_p);

//  Write pending use marks and flush the environment to disk. The store
//  commits without syncing (MDB_NOSYNC: it is a cache, and every read can be
//  verified); owners that keep other data in the environment call this after
//  writes that must survive a power loss. Returns TSR_OK or a store error.
TSR_NODISCARD int tsr_cas_sync(tsr_cas_t *self);

//  Budget in bytes of blob content; puts past it evict least-recently-used blobs
//  (at the next put, not now). 0 restores the default, 90% of the map.
void tsr_cas_set_limit(tsr_cas_t *self, uint64_t max_bytes);

//  Store `size` bytes that must hash to `digest`. TSR_ECORRUPT if they do not
//  (nothing stored), TSR_EFULL if the blob cannot fit even after eviction (a
//  blob larger than the budget or the map is refused without evicting).
//  Storing a present blob only marks it used.
TSR_NODISCARD int tsr_cas_put(tsr_cas_t *self, const tsr_digest_t *digest, const void *data,
                              size_t size);

//  Store a buffer under its computed digest (written to *digest_out).
TSR_NODISCARD int tsr_cas_put_buffer(tsr_cas_t *self, const void *data, size_t size,
                                     tsr_digest_t *digest_out);

//  Store a file's content. If `expect` is not NULL the content must match it
//  (TSR_ECORRUPT otherwise). The digest is written to *digest_out if not NULL.
TSR_NODISCARD int tsr_cas_put_file(tsr_cas_t *self, const char *path, const tsr_digest_t *expect,
                                   tsr_digest_t *digest_out);

//  Copy a blob out: *data_out is malloc'd (caller frees), *size_out its size.
//  With `verify`, the bytes are re-hashed: TSR_ECORRUPT if they don't match,
//  and the corrupt blob is removed so a good copy can be stored again.
//  Returns TSR_OK, TSR_ENOTFOUND, TSR_ECORRUPT or TSR_ESTORE. Marks the blob used.
TSR_NODISCARD int tsr_cas_get(tsr_cas_t *self, const tsr_digest_t *digest, bool verify,
                              void **data_out, size_t *size_out);

//  Copy up to `length` bytes from `offset` of a blob into `buffer`; *read_out
//  gets the count (0 at or past the end). TSR_ENOTFOUND if absent. Not
//  verified (the receiver hashes the whole blob). A read at offset 0 marks the
//  blob used: once per transfer, not per chunk.
TSR_NODISCARD int tsr_cas_read(tsr_cas_t *self, const tsr_digest_t *digest, uint64_t offset,
                               void *buffer, size_t length, size_t *read_out);

//  Write a blob to a new file at `path` (O_EXCL: never replaces or follows
//  anything there) with the permission bits `mode & 0777`, umask aside.
//  The blob is verified first: TSR_ECORRUPT (blob removed, no file) if it
//  does not match. TSR_ENOTFOUND if absent. Marks the blob used.
TSR_NODISCARD int tsr_cas_write_file(tsr_cas_t *self, const tsr_digest_t *digest, const char *path,
                                     unsigned mode);

//  Whether the blob is stored. Does not mark it used.
bool tsr_cas_has(tsr_cas_t *self, const tsr_digest_t *digest);

//  Remove a blob. TSR_ENOTFOUND if absent.
TSR_NODISCARD int tsr_cas_delete(tsr_cas_t *self, const tsr_digest_t *digest);

//  Bytes of blob content stored, and number of blobs.
uint64_t tsr_cas_size(tsr_cas_t *self);
uint64_t tsr_cas_count(tsr_cas_t *self);

//  The LMDB environment (borrowed), for other named databases of the same owner.
MDB_env *tsr_cas_env(tsr_cas_t *self);

#endif
