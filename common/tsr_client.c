/*  tsr_client - Lazy Pirate requests, uploads and fetches on the client channel
    One DEALER (CURVE client) plus a socket monitor that reports a refused
    handshake, so "key refused" is told apart from "nobody answers".
    Owner's thread only.                                                      */
#include "tsr_client.h"
#include "tsr_msg.h"
#include "tsr_transfer.h"
#include <stdlib.h>
#include <string.h>

//  Upload: chunk messages in flight (all blobs together).
#define TSR_CLIENT_UPLOAD_WINDOW 32
//  Digests per BlobQuery (keeps the envelope far under TSR_MSG_MAX_BYTES).
#define TSR_CLIENT_QUERY_BATCH 10000
//  A pipelined transfer gives up when no reply arrives for this long.
#define TSR_CLIENT_TRANSFER_TIMEOUT_MS 30000

struct _tsr_client_t {
    char *endpoint;    //  owned
    char *server_key;  //  owned; Z85
    zcert_t *cert;     //  borrowed (owner: caller)
    zsock_t *dealer;   //  owned; NULL until first use, recreated on retry
    zsock_t *monitor;  //  owned; PAIR receiving dealer's handshake events
    zpoller_t *poller; //  owned; dealer + monitor
    uint64_t next_req_id;
    bool auth_refused; //  the monitor saw a refused handshake
    char error[512];   //  last failure text
};

tsr_client_t *
tsr_client_new(const char *endpoint, const char *server_public_z85, zcert_t *cert)
{
    assert(endpoint);
    assert(server_public_z85);
    assert(cert);
    tsr_client_t *self = (tsr_client_t *)zmalloc(sizeof(tsr_client_t));
    self->endpoint = strdup(endpoint);
    self->server_key = strdup(server_public_z85);
    self->cert = cert;
    self->next_req_id = (uint64_t)randof(1000000) * 1000 + 1;
    return self;
}

static void
s_disconnect(tsr_client_t *self)
{
    zpoller_destroy(&self->poller);
    if (self->dealer)
        zmq_socket_monitor(zsock_resolve(self->dealer), NULL, 0);
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->dealer);
}

void
tsr_client_destroy(tsr_client_t **self_p)
{
    assert(self_p);
    tsr_client_t *self = *self_p;
    if (!self)
        return;
    s_disconnect(self);
    free(self->endpoint);
    free(self->server_key);
    free(self);
    *self_p = NULL;
}

static int
s_connect(tsr_client_t *self)
{
    s_disconnect(self);
    self->auth_refused = false;
    self->dealer = zsock_new(ZMQ_DEALER);
    if (!self->dealer)
        return TSR_EUNREACHABLE;
    zsock_set_linger(self->dealer, 0);
    zcert_apply(self->cert, self->dealer);
    zsock_set_curve_serverkey(self->dealer, self->server_key);
    zsock_set_sndhwm(self->dealer, 0);
    zsock_set_rcvhwm(self->dealer, 0);
    char monitor_endpoint[64];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://tsr-client-monitor-%p",
             (void *)self->dealer);
    int rc =
        zmq_socket_monitor(zsock_resolve(self->dealer), monitor_endpoint,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    if (rc == 0) {
        self->monitor = zsock_new(ZMQ_PAIR);
        if (self->monitor && zsock_connect(self->monitor, "%s", monitor_endpoint) != 0)
            zsock_destroy(&self->monitor);
    }
    if (zsock_connect(self->dealer, "%s", self->endpoint) != 0) {
        snprintf(self->error, sizeof self->error, "cannot connect to %s: %s", self->endpoint,
                 zmq_strerror(zmq_errno()));
        return TSR_EINVAL;
    }
    self->poller = zpoller_new(self->dealer, NULL);
    if (self->monitor)
        zpoller_add(self->poller, self->monitor);
    return TSR_OK;
}

//  Drain one monitor event; a refused handshake is remembered.
static void
s_on_monitor(tsr_client_t *self)
{
    zmsg_t *event = zmsg_recv(self->monitor);
    zframe_t *head = event ? zmsg_first(event) : NULL;
    if (head && zframe_size(head) >= 2) {
        uint16_t kind;
        memcpy(&kind, zframe_data(head), sizeof kind);
        if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
            kind == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
            kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            self->auth_refused = true;
    }
    zmsg_destroy(&event);
}

static int
s_send(tsr_client_t *self, Tessera__Envelope *request)
{
    if (!self->dealer) {
        int rc = s_connect(self);
        if (rc != TSR_OK)
            return rc;
    }
    return tsr_msg_send(request, self->dealer, NULL);
}

//  Wait up to `timeout_ms` for the next envelope. -EAGAIN on timeout,
//  TSR_EAUTH once the handshake was refused.
static int
s_recv(tsr_client_t *self, int timeout_ms, Tessera__Envelope **reply_out)
{
    int64_t deadline_ms = zclock_mono() + timeout_ms;
    while (true) {
        if (self->auth_refused) {
            snprintf(self->error, sizeof self->error,
                     "the coordinator at %s refused our key (not in its allow-list?)",
                     self->endpoint);
            return TSR_EAUTH;
        }
        int64_t left_ms = deadline_ms - zclock_mono();
        if (left_ms <= 0)
            return -EAGAIN;
        void *ready = zpoller_wait(self->poller, (int)left_ms);
        if (ready == self->monitor) {
            s_on_monitor(self);
            continue;
        }
        if (!ready) {
            if (zpoller_terminated(self->poller))
                return TSR_ECANCELLED;
            continue;
        }
        int rc = tsr_msg_recv(self->dealer, NULL, NULL, reply_out);
        if (rc == TSR_OK)
            return TSR_OK;
        tsr_log_debug("client: dropped a bad reply: %s", tsr_strerror(rc));
    }
}

const char *
tsr_client_error(tsr_client_t *self)
{
    assert(self);
    return self->error;
}

//  An Error reply becomes its code; the text is kept for the caller.
static int
s_check_error(tsr_client_t *self, Tessera__Envelope **reply_p)
{
    Tessera__Envelope *reply = *reply_p;
    if (reply->body_case != TESSERA__ENVELOPE__BODY_ERROR)
        return TSR_OK;
    int code = reply->error->code < 0 ? reply->error->code : TSR_EPROTO;
    snprintf(self->error, sizeof self->error, "%s",
             reply->error->text && *reply->error->text ? reply->error->text : tsr_strerror(code));
    tsr_msg_destroy(reply_p);
    return code;
}

int
tsr_client_request(tsr_client_t *self, Tessera__Envelope *request, int timeout_ms, int retries,
                   Tessera__Envelope **reply_out)
{
    assert(self);
    assert(request);
    assert(reply_out);
    *reply_out = NULL;
    self->error[0] = 0;
    request->req_id = self->next_req_id++;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
            tsr_log_debug("client: no reply in %d ms, reconnecting to %s", timeout_ms,
                          self->endpoint);
            s_disconnect(self);
        }
        int rc = s_send(self, request);
        if (rc != TSR_OK && rc != TSR_EUNREACHABLE)
            return rc;
        int64_t deadline_ms = zclock_mono() + timeout_ms;
        while (true) {
            int64_t left_ms = deadline_ms - zclock_mono();
            Tessera__Envelope *reply = NULL;
            rc = left_ms > 0 ? s_recv(self, (int)left_ms, &reply) : -EAGAIN;
            if (rc == -EAGAIN)
                break; //  next try on a fresh socket
            if (rc != TSR_OK)
                return rc;
            if (reply->req_id != request->req_id) {
                tsr_msg_destroy(&reply); //  a late reply to an earlier try
                continue;
            }
            *reply_out = reply;
            return s_check_error(self, reply_out);
        }
    }
    snprintf(self->error, sizeof self->error,
             "coordinator at %s is unreachable (no reply after %d tries of %d ms)", self->endpoint,
             retries + 1, timeout_ms);
    return TSR_EUNREACHABLE;
}

//  Ask which of the tree's blobs the coordinator lacks; appends copies to `missing`.
static int
s_query_missing(tsr_client_t *self, tsr_tree_t *tree, zlistx_t *missing)
{
    size_t count = tsr_tree_blob_count(tree);
    for (size_t first = 0; first < count; first += TSR_CLIENT_QUERY_BATCH) {
        size_t batch =
            count - first < TSR_CLIENT_QUERY_BATCH ? count - first : TSR_CLIENT_QUERY_BATCH;
        Tessera__Digest *wires = (Tessera__Digest *)zmalloc(batch * sizeof(Tessera__Digest));
        Tessera__Digest **pointers = (Tessera__Digest **)zmalloc(batch * sizeof(void *));
        for (size_t index = 0; index < batch; index++) {
            tessera__digest__init(&wires[index]);
            tsr_msg_digest_set(&wires[index], tsr_tree_blob_digest(tree, first + index));
            pointers[index] = &wires[index];
        }
        Tessera__BlobQuery query = TESSERA__BLOB_QUERY__INIT;
        query.n_digests = batch;
        query.digests = pointers;
        Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
        request.body_case = TESSERA__ENVELOPE__BODY_BLOB_QUERY;
        request.blob_query = &query;
        Tessera__Envelope *reply = NULL;
        int rc = tsr_client_request(self, &request, 10000, 2, &reply);
        free(pointers);
        free(wires);
        if (rc != TSR_OK)
            return rc;
        if (reply->body_case != TESSERA__ENVELOPE__BODY_BLOB_MISSING) {
            tsr_msg_destroy(&reply);
            return TSR_EPROTO;
        }
        for (size_t index = 0; index < reply->blob_missing->n_digests; index++) {
            tsr_digest_t *digest = (tsr_digest_t *)zmalloc(sizeof(tsr_digest_t));
            if (tsr_msg_digest_get(reply->blob_missing->digests[index], digest) != TSR_OK) {
                free(digest);
                tsr_msg_destroy(&reply);
                return TSR_EPROTO;
            }
            zlistx_add_end(missing, digest);
        }
        tsr_msg_destroy(&reply);
    }
    return TSR_OK;
}

static void
s_digest_free(void **item)
{
    free(*item);
    *item = NULL;
}

//  Wait for one upload acknowledgement. TSR_OK, or a failure code.
static int
s_await_ack(tsr_client_t *self)
{
    Tessera__Envelope *reply = NULL;
    int rc = s_recv(self, TSR_CLIENT_TRANSFER_TIMEOUT_MS, &reply);
    if (rc == -EAGAIN) {
        snprintf(self->error, sizeof self->error, "upload to %s stalled", self->endpoint);
        return TSR_EUNREACHABLE;
    }
    if (rc != TSR_OK)
        return rc;
    rc = s_check_error(self, &reply);
    if (rc != TSR_OK)
        return rc;
    if (reply->body_case != TESSERA__ENVELOPE__BODY_BLOB_ACK)
        rc = TSR_EPROTO;
    tsr_msg_destroy(&reply);
    return rc;
}

int
tsr_client_upload(tsr_client_t *self, tsr_tree_t *tree, uint64_t *uploaded_bytes_out)
{
    assert(self);
    assert(tree);
    uint64_t uploaded_bytes = 0;
    zlistx_t *missing = zlistx_new();
    zlistx_set_destructor(missing, s_digest_free);
    uint8_t *chunk = (uint8_t *)zmalloc(TSR_MSG_CHUNK_BYTES);
    int rc = s_query_missing(self, tree, missing);
    size_t in_flight = 0;
    for (tsr_digest_t *digest = (tsr_digest_t *)zlistx_first(missing); rc == TSR_OK && digest;
         digest = (tsr_digest_t *)zlistx_next(missing)) {
        uint64_t offset = 0;
        do { //  at least one chunk, even for an empty blob
            size_t length = 0;
            rc = tsr_tree_read(tree, digest, offset, chunk, TSR_MSG_CHUNK_BYTES, &length);
            if (rc != TSR_OK)
                break;
            if (length == 0 && offset < digest->size) {
                rc = TSR_ECORRUPT; //  the file shrank since it was hashed
                break;
            }
            Tessera__BlobChunk wire_chunk = TESSERA__BLOB_CHUNK__INIT;
            Tessera__Digest wire_digest = TESSERA__DIGEST__INIT;
            tsr_msg_digest_set(&wire_digest, digest);
            wire_chunk.digest = &wire_digest;
            wire_chunk.offset = offset;
            wire_chunk.data.data = chunk;
            wire_chunk.data.len = length;
            Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
            request.body_case = TESSERA__ENVELOPE__BODY_BLOB_CHUNK;
            request.blob_chunk = &wire_chunk;
            request.req_id = self->next_req_id++;
            rc = s_send(self, &request);
            if (rc != TSR_OK)
                break;
            in_flight++;
            offset += length;
            uploaded_bytes += length;
            while (rc == TSR_OK && in_flight >= TSR_CLIENT_UPLOAD_WINDOW) {
                rc = s_await_ack(self);
                in_flight--;
            }
        } while (rc == TSR_OK && offset < digest->size);
    }
    while (rc == TSR_OK && in_flight > 0) {
        rc = s_await_ack(self);
        in_flight--;
    }
    if (rc == TSR_ECORRUPT && !self->error[0])
        snprintf(self->error, sizeof self->error, "a file changed while it was uploaded");
    free(chunk);
    zlistx_destroy(&missing);
    if (uploaded_bytes_out)
        *uploaded_bytes_out = uploaded_bytes;
    return rc;
}

int
tsr_client_fetch(tsr_client_t *self, const tsr_digest_t *digest, void **data_out, size_t *size_out)
{
    assert(self);
    assert(digest);
    *data_out = NULL;
    *size_out = 0;
    uint8_t *data = (uint8_t *)zmalloc(digest->size ? digest->size : 1);
    uint64_t offset = 0;
    int rc = TSR_OK;
    do {
        Tessera__BlobGet get = TESSERA__BLOB_GET__INIT;
        Tessera__Digest wire_digest = TESSERA__DIGEST__INIT;
        tsr_msg_digest_set(&wire_digest, digest);
        get.digest = &wire_digest;
        get.offset = offset;
        get.length = TSR_MSG_CHUNK_BYTES;
        Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
        request.body_case = TESSERA__ENVELOPE__BODY_BLOB_GET;
        request.blob_get = &get;
        Tessera__Envelope *reply = NULL;
        rc = tsr_client_request(self, &request, 10000, 2, &reply);
        if (rc != TSR_OK)
            break;
        Tessera__BlobChunk *chunk = reply->blob_chunk;
        if (reply->body_case != TESSERA__ENVELOPE__BODY_BLOB_CHUNK)
            rc = TSR_EPROTO;
        else if (chunk->missing)
            rc = TSR_ENOTFOUND;
        else if (chunk->offset != offset || chunk->data.len > digest->size - offset ||
                 (chunk->data.len == 0 && offset < digest->size))
            rc = TSR_EPROTO;
        else {
            memcpy(data + offset, chunk->data.data, chunk->data.len);
            offset += chunk->data.len;
        }
        tsr_msg_destroy(&reply);
    } while (rc == TSR_OK && offset < digest->size);
    if (rc == TSR_OK) {
        tsr_digest_t actual;
        tsr_digest_buffer(data, digest->size, &actual);
        if (!tsr_digest_eq(&actual, digest))
            rc = TSR_ECORRUPT;
    }
    if (rc != TSR_OK) {
        free(data);
        return rc;
    }
    *data_out = data;
    *size_out = digest->size;
    return TSR_OK;
}
