/*  tsr_client - the client side of the client channel (CLI, tests)
    A DEALER with CURVE to the coordinator's clients endpoint. Requests are
    Lazy Pirate: stamped with a req_id, retried on a fresh socket after a
    timeout, replies with other ids discarded; every request is idempotent
    (Submit carries a client uuid, Watch an event sequence number).
    One owner, one thread.                                                   */
#ifndef TSR_CLIENT_H
#define TSR_CLIENT_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_tree.h"

typedef struct _tsr_client_t tsr_client_t;

//  `endpoint` like tcp://127.0.0.1:7401; `server_public_z85` the coordinator's
//  public key; `cert` our key pair (borrowed; must outlive the client).
tsr_client_t *tsr_client_new(const char *endpoint, const char *server_public_z85, zcert_t *cert);
void tsr_client_destroy(tsr_client_t **self_p);

//  Send `request` and wait for its reply, up to `timeout_ms` per try, with
//  `retries` more tries on a fresh socket. Returns TSR_OK with *reply_out
//  (free with tsr_msg_destroy), TSR_EUNREACHABLE (no reply: coordinator down
//  or our key refused), TSR_EAUTH (the handshake was refused), or the code of
//  an Error reply (text in tsr_client_error).
TSR_NODISCARD int tsr_client_request(tsr_client_t *self, Tessera__Envelope *request, int timeout_ms,
                                     int retries, Tessera__Envelope **reply_out);

//  Text of the last failure ("" if none). Borrowed until the next call.
const char *tsr_client_error(tsr_client_t *self);

//  Upload the blobs of a scanned tree the coordinator lacks: BlobQuery in
//  batches, then BlobChunks with TSR_TRANSFER_CREDIT in flight, each blob
//  acknowledged. *uploaded_bytes_out gets the content bytes sent.
TSR_NODISCARD int tsr_client_upload(tsr_client_t *self, tsr_tree_t *tree,
                                    uint64_t *uploaded_bytes_out);

//  Fetch a blob from the coordinator into memory (*data_out malloc'd, caller
//  frees), verified against its digest. TSR_ENOTFOUND if the coordinator lacks it.
TSR_NODISCARD int tsr_client_fetch(tsr_client_t *self, const tsr_digest_t *digest, void **data_out,
                                   size_t *size_out);

#endif
