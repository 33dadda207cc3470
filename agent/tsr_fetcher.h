/*  tsr_fetcher - fetch blobs from the coordinator into the agent's CAS
    Each wanted blob is requested in BlobGet chunks of at most
    TSR_MSG_CHUNK_BYTES with at most TSR_TRANSFER_CREDIT requests in flight
    per blob, several blobs at once, and received by a tsr_transfer (hashed,
    verified, then stored). A blob that arrives corrupt is fetched once more,
    then given up. Asynchronous: requests go out through a send callback, the
    owner feeds the BlobChunk replies in, and the done callback reports each
    blob once. Never blocks. One owner; its loop thread only.               */
#ifndef TSR_FETCHER_H
#define TSR_FETCHER_H

#include "tessera.pb-c.h"
#include "tsr_cas.h"
#include "tsr_common.h"
#include "tsr_digest.h"

//  Blobs fetched concurrently, and requests in flight over all of them.
#define TSR_FETCHER_MAX_ACTIVE 16
#define TSR_FETCHER_MAX_REQUESTS (4 * TSR_TRANSFER_CREDIT)

//  Send `request` (borrowed) to the coordinator. Returns TSR_OK, or an error
//  when it could not be sent (the fetcher then waits for tsr_fetcher_resume).
typedef int(tsr_fetcher_send_fn)(void *arg, Tessera__Envelope *request);

//  `digest` (borrowed for the call) is now in the CAS (rc TSR_OK) or could
//  not be fetched: TSR_ENOTFOUND (the coordinator lacks it), TSR_ECORRUPT
//  (corrupt twice), TSR_EPROTO, TSR_EFULL, -errno. Called once per blob, from
//  tsr_fetcher_on_chunk / _on_error only; it may call tsr_fetcher_want.
typedef void(tsr_fetcher_done_fn)(void *arg, const tsr_digest_t *digest, int rc);

typedef struct _tsr_fetcher_t tsr_fetcher_t;

//  `cas` is borrowed (must outlive the fetcher); `tmp_dir` (copied, must
//  exist) holds partial blobs; blobs over `max_blob_bytes` are refused.
//  The fetcher starts paused (see tsr_fetcher_resume). Never fails.
tsr_fetcher_t *tsr_fetcher_new(tsr_cas_t *cas, const char *tmp_dir, uint64_t max_blob_bytes,
                               tsr_fetcher_send_fn *send, tsr_fetcher_done_fn *done, void *arg);

//  NULL-safe; abandons every fetch (no callbacks), sets *self_p to NULL.
void tsr_fetcher_destroy(tsr_fetcher_t **self_p);

//  Ask for `digest`. Returns TSR_OK if it is in the CAS already (stored at
//  once if empty; no callback then), -EAGAIN if it is (or already was) being
//  fetched: the done callback will report it; TSR_ETOOBIG if it exceeds the
//  limit. Never calls the done callback itself.
TSR_NODISCARD int tsr_fetcher_want(tsr_fetcher_t *self, const tsr_digest_t *digest);

//  Feed a BlobChunk reply (`req_id` from its envelope). Replies to requests
//  from before the last pause or refetch are ignored.
void tsr_fetcher_on_chunk(tsr_fetcher_t *self, uint64_t req_id, const Tessera__BlobChunk *chunk);

//  An Error reply with `req_id`: if it answers one of our requests, that
//  blob fails with `code`. Returns whether it was ours.
bool tsr_fetcher_on_error(tsr_fetcher_t *self, uint64_t req_id, int code);

//  The link is down: forget every request in flight and send nothing.
void tsr_fetcher_pause(tsr_fetcher_t *self);

//  The link is up (again): request every unfinished blob from the bytes
//  already received on.
void tsr_fetcher_resume(tsr_fetcher_t *self);

//  Blobs being fetched or waiting their turn.
size_t tsr_fetcher_pending(tsr_fetcher_t *self);

#endif
