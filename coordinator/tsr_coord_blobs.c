/*  tsr_coord_blobs - the coordinator's blob service, on both channels
    BlobQuery -> BlobMissing; BlobGet -> one BlobChunk read from the CAS;
    BlobChunk (client uploads) -> BlobAck, written through a tsr_transfer per
    blob so only verified content enters the CAS. Uploads are keyed by digest,
    not by sender: a Lazy Pirate retry comes from a new socket. Loop thread. */
#include "tsr_coord_internal.h"
#include "tsr_transfer.h"
#include <inttypes.h>
#include <string.h>

//  One blob being uploaded
typedef struct {
    tsr_transfer_t *transfer; //  owned
    uint64_t last_ms;         //  monotonic time of its last chunk
} tsr_coord_upload_t;

static void
s_upload_destroy(void **item_p)
{
    tsr_coord_upload_t *upload = (tsr_coord_upload_t *)*item_p;
    if (!upload)
        return;
    tsr_transfer_destroy(&upload->transfer);
    free(upload);
    *item_p = NULL;
}

zhashx_t *
tsr_coord_blobs_uploads_new(void)
{
    zhashx_t *uploads = zhashx_new();
    zhashx_set_destructor(uploads, s_upload_destroy);
    return uploads;
}

void
tsr_coord_blobs_sweep(tsr_coordinator_t *self, uint64_t now_mono_ms)
{
    assert(self);
    zlistx_t *idle = zhashx_keys(self->uploads); //  owns copies of the keys
    for (const char *hex = (const char *)zlistx_first(idle); hex;
         hex = (const char *)zlistx_next(idle)) {
        tsr_coord_upload_t *upload = (tsr_coord_upload_t *)zhashx_lookup(self->uploads, hex);
        if (now_mono_ms - upload->last_ms >= TSR_COORD_UPLOAD_IDLE_MS) {
            tsr_log_info("dropping idle upload digest=%.16s received=%" PRIu64, hex,
                         tsr_transfer_received(upload->transfer));
            zhashx_delete(self->uploads, hex);
        }
    }
    zlistx_destroy(&idle);
}

int
tsr_coord_blobs_on_query(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__BlobQuery *query = env->blob_query;
    if (query->n_digests > TSR_COORD_QUERY_MAX) {
        tsr_coord_set_error(request, "at most %d digests per query", TSR_COORD_QUERY_MAX);
        return TSR_ETOOBIG;
    }
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__BlobMissing missing = TESSERA__BLOB_MISSING__INIT;
    //  The reply borrows the request's digests: the request outlives the send
    missing.digests = (Tessera__Digest **)zmalloc((query->n_digests + 1) * sizeof(void *));
    int rc = TSR_OK;
    for (size_t index = 0; index < query->n_digests; index++) {
        tsr_digest_t digest;
        if (tsr_msg_digest_get(query->digests[index], &digest) != TSR_OK) {
            tsr_coord_set_error(request, "digest %zu of the query is malformed", index);
            rc = TSR_EPROTO;
            goto out;
        }
        if (!tsr_cas_has(self->cas, &digest))
            missing.digests[missing.n_digests++] = query->digests[index];
    }
    reply.body_case = TESSERA__ENVELOPE__BODY_BLOB_MISSING;
    reply.blob_missing = &missing;
    (void)tsr_coord_reply(request, &reply);
    tsr_log_debug("blob query digests=%zu missing=%zu", query->n_digests, missing.n_digests);
out:
    free(missing.digests);
    return rc;
}

int
tsr_coord_blobs_on_get(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__BlobGet *get = env->blob_get;
    tsr_digest_t digest;
    if (tsr_msg_digest_get(get->digest, &digest) != TSR_OK) {
        tsr_coord_set_error(request, "malformed digest");
        return TSR_EPROTO;
    }
    size_t length =
        get->length && get->length < TSR_MSG_CHUNK_BYTES ? get->length : TSR_MSG_CHUNK_BYTES;
    uint8_t *buffer = (uint8_t *)zmalloc(length);
    size_t read = 0;
    int rc = tsr_cas_read(self->cas, &digest, get->offset, buffer, length, &read);
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__BlobChunk chunk = TESSERA__BLOB_CHUNK__INIT;
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, &digest);
    chunk.digest = &wire;
    chunk.offset = get->offset;
    if (rc == TSR_ENOTFOUND)
        chunk.missing = true;
    else if (rc != TSR_OK) {
        tsr_log_error("cannot read a blob from the store: %s", tsr_strerror(rc));
        free(buffer);
        return TSR_ESTORE;
    } else {
        chunk.data.data = buffer;
        chunk.data.len = read;
    }
    reply.body_case = TESSERA__ENVELOPE__BODY_BLOB_CHUNK;
    reply.blob_chunk = &chunk;
    tsr_log_trace("blob chunk offset=%" PRIu64 " bytes=%zu missing=%d", get->offset, read,
                  chunk.missing);
    (void)tsr_coord_reply(request, &reply);
    free(buffer);
    return TSR_OK;
}

static void
s_ack(tsr_coord_request_t *request, Tessera__Digest *digest, uint64_t offset, bool stored)
{
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    Tessera__BlobAck ack = TESSERA__BLOB_ACK__INIT;
    ack.digest = digest;
    ack.offset = offset;
    ack.stored = stored;
    reply.body_case = TESSERA__ENVELOPE__BODY_BLOB_ACK;
    reply.blob_ack = &ack;
    (void)tsr_coord_reply(request, &reply);
}

int
tsr_coord_blobs_on_chunk(void *server, void *peer, const Tessera__Envelope *env)
{
    tsr_coordinator_t *self = (tsr_coordinator_t *)server;
    tsr_coord_request_t *request = (tsr_coord_request_t *)peer;
    const Tessera__BlobChunk *chunk = env->blob_chunk;
    tsr_digest_t digest;
    if (tsr_msg_digest_get(chunk->digest, &digest) != TSR_OK) {
        tsr_coord_set_error(request, "malformed digest");
        return TSR_EPROTO;
    }
    char hex[TSR_DIGEST_HEX_LEN + 1];
    tsr_digest_hex(&digest, hex);
    if (tsr_cas_has(self->cas, &digest)) {
        //  Stored already (another upload, or a retry after the last ack got lost)
        zhashx_delete(self->uploads, hex);
        s_ack(request, chunk->digest, chunk->offset, true);
        return TSR_OK;
    }
    tsr_coord_upload_t *upload = (tsr_coord_upload_t *)zhashx_lookup(self->uploads, hex);
    if (upload && chunk->offset == 0 && tsr_transfer_received(upload->transfer) > 0) {
        zhashx_delete(self->uploads, hex); //  the client starts over
        upload = NULL;
    }
    if (!upload) {
        if (chunk->offset != 0) {
            tsr_coord_set_error(request, "upload of %.16s must start at offset 0", hex);
            return TSR_EPROTO;
        }
        tsr_transfer_t *transfer =
            tsr_transfer_new(self->cas, &digest, self->tmp_dir, self->config.cache_max_bytes);
        if (!transfer) {
            tsr_coord_set_error(request, "blob of %" PRIu64 " bytes exceeds the cache",
                                digest.size);
            return TSR_ETOOBIG;
        }
        upload = (tsr_coord_upload_t *)zmalloc(sizeof(tsr_coord_upload_t));
        upload->transfer = transfer;
        zhashx_insert(self->uploads, hex, upload);
    }
    upload->last_ms = tsr_coord_now_mono();
    uint64_t received = tsr_transfer_received(upload->transfer);
    if (chunk->offset + chunk->data.len <= received && chunk->data.len) {
        s_ack(request, chunk->digest, chunk->offset, false); //  a resent chunk we have
        return TSR_OK;
    }
    //  An empty blob arrives as a chunk without data; never hand memcpy a NULL
    const void *bytes = chunk->data.data ? (const void *)chunk->data.data : (const void *)"";
    int rc = tsr_transfer_write(upload->transfer, chunk->offset, bytes, chunk->data.len);
    if (rc != TSR_OK) {
        tsr_log_warn("upload refused digest=%.16s offset=%" PRIu64 ": %s", hex, chunk->offset,
                     tsr_strerror(rc));
        tsr_coord_set_error(request, "upload of %.16s: %s", hex, tsr_strerror(rc));
        zhashx_delete(self->uploads, hex);
        return rc;
    }
    bool stored = tsr_transfer_is_done(upload->transfer);
    if (stored) {
        tsr_log_trace("blob stored digest=%.16s bytes=%" PRIu64, hex, digest.size);
        zhashx_delete(self->uploads, hex);
    }
    s_ack(request, chunk->digest, chunk->offset, stored);
    return TSR_OK;
}
