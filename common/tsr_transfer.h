/*  tsr_transfer - receiving one blob in chunks, verified before it is stored
    Chunks of a blob arrive in order (BlobChunk offset == bytes received); they
    are hashed as they are written to a temp file, and the blob enters the CAS
    only if the whole content matches its digest (zguide fileio3, credit-based:
    the sender keeps at most TSR_TRANSFER_CREDIT chunks unacknowledged).
    Used by the coordinator (client uploads) and agents (fetches). One owner;
    the owner's thread.                                                       */
#ifndef TSR_TRANSFER_H
#define TSR_TRANSFER_H

#include "tsr_cas.h"
#include "tsr_common.h"
#include "tsr_digest.h"

//  Chunks in flight per blob stream (requests or unacknowledged uploads).
#define TSR_TRANSFER_CREDIT 8

typedef struct _tsr_transfer_t tsr_transfer_t;

//  Start receiving `digest` into `cas` (borrowed; must outlive the transfer),
//  using `tmp_dir` for blobs larger than one chunk. Returns NULL if the digest
//  is larger than `max_bytes` (refuse before writing anything).
tsr_transfer_t *tsr_transfer_new(tsr_cas_t *cas, const tsr_digest_t *digest, const char *tmp_dir,
                                 uint64_t max_bytes);

//  NULL-safe; removes any temp file.
void tsr_transfer_destroy(tsr_transfer_t **self_p);

//  Accept the chunk at `offset`. TSR_EPROTO if out of order or past the size;
//  when the last byte arrives the content is verified and stored: TSR_OK, or
//  TSR_ECORRUPT (nothing stored), TSR_EFULL, -errno.
TSR_NODISCARD int tsr_transfer_write(tsr_transfer_t *self, uint64_t offset, const void *data,
                                     size_t size);

//  All bytes received, verified and stored.
bool tsr_transfer_is_done(tsr_transfer_t *self);

//  Bytes received so far.
uint64_t tsr_transfer_received(tsr_transfer_t *self);

const tsr_digest_t *tsr_transfer_digest(tsr_transfer_t *self);

#endif
