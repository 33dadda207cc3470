/*  tsr_fetcher - credit-based chunked blob fetching (zguide fileio3)
    `queue` holds wanted blobs in arrival order; up to TSR_FETCHER_MAX_ACTIVE
    of them are active, each with a tsr_transfer and the req_ids and offsets
    of its requests in flight. A reply must answer a request in flight (by
    req_id; a reply without one is matched by offset), else it is stale and
    dropped. Chunks arrive in request order on the one DEALER, so each one
    continues its transfer.                                                  */
#include "tsr_fetcher.h"
#include "tsr_msg.h"
#include "tsr_transfer.h"
#include <errno.h>
#include <string.h>

//  Fetches of one blob before it is given up (a corrupt blob is refetched once).
#define S_MAX_TRIES 2

typedef struct {
    tsr_digest_t digest;                       //  the blob
    char hex[TSR_DIGEST_HEX_LEN + 1];          //  its key in `active`/`wanted`
    tsr_transfer_t *transfer;                  //  owned; NULL while queued
    uint64_t next_offset;                      //  first byte not yet requested
    uint64_t req_ids[TSR_TRANSFER_CREDIT];     //  requests in flight, in order
    uint64_t req_offsets[TSR_TRANSFER_CREDIT]; //  their offsets
    size_t in_flight;                          //  entries used in the two above
    unsigned tries;                            //  transfers started
    bool is_active;                            //  counted in `active`
} s_fetch_t;

struct _tsr_fetcher_t {
    tsr_cas_t *cas;            //  borrowed (owner: the agent)
    char *tmp_dir;             //  owned; partial blobs
    uint64_t max_blob_bytes;   //  larger blobs are refused
    tsr_fetcher_send_fn *send; //  sends a BlobGet
    tsr_fetcher_done_fn *done; //  reports a finished blob
    void *arg;                 //  for both callbacks
    zhashx_t *wanted;          //  hex -> s_fetch_t, owned: queued and active
    zlistx_t *queue;           //  s_fetch_t borrowed from `wanted`, not yet active
    size_t active;             //  fetches with a transfer
    size_t requests;           //  requests in flight, all blobs
    uint64_t next_req_id;      //  req_id of the next BlobGet
    bool online;               //  requests may be sent
    zlistx_t *failed;          //  s_failure_t, owned: to report from an entry point
};

//  A blob that failed where the done callback may not be called.
typedef struct {
    tsr_digest_t digest; //  the blob
    int rc;              //  why
} s_failure_t;

static void
s_failure_destroy(void **item)
{
    free(*item);
    *item = NULL;
}

static void
s_fetch_destroy(s_fetch_t **fetch_p)
{
    s_fetch_t *fetch = *fetch_p;
    if (!fetch)
        return;
    tsr_transfer_destroy(&fetch->transfer);
    free(fetch);
    *fetch_p = NULL;
}

tsr_fetcher_t *
tsr_fetcher_new(tsr_cas_t *cas, const char *tmp_dir, uint64_t max_blob_bytes,
                tsr_fetcher_send_fn *send, tsr_fetcher_done_fn *done, void *arg)
{
    assert(cas && tmp_dir && send && done);
    tsr_fetcher_t *self = (tsr_fetcher_t *)zmalloc(sizeof(tsr_fetcher_t));
    self->cas = cas;
    self->tmp_dir = strdup(tmp_dir);
    self->max_blob_bytes = max_blob_bytes;
    self->send = send;
    self->done = done;
    self->arg = arg;
    self->wanted = zhashx_new();
    zhashx_set_destructor(self->wanted, (zhashx_destructor_fn *)s_fetch_destroy);
    self->queue = zlistx_new();
    self->failed = zlistx_new();
    zlistx_set_destructor(self->failed, s_failure_destroy);
    //  Request ids of our own range, so they never meet the agent's other ids
    self->next_req_id = (uint64_t)1 << 48;
    return self;
}

void
tsr_fetcher_destroy(tsr_fetcher_t **self_p)
{
    assert(self_p);
    tsr_fetcher_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy(&self->queue);
    zlistx_destroy(&self->failed);
    zhashx_destroy(&self->wanted);
    free(self->tmp_dir);
    free(self);
    *self_p = NULL;
}

static void
s_forget_requests(tsr_fetcher_t *self, s_fetch_t *fetch)
{
    assert(self->requests >= fetch->in_flight);
    self->requests -= fetch->in_flight;
    fetch->in_flight = 0;
    fetch->next_offset = fetch->transfer ? tsr_transfer_received(fetch->transfer) : 0;
}

//  Start (or restart) the transfer of an active or queued fetch.
static int
s_fetch_begin(tsr_fetcher_t *self, s_fetch_t *fetch)
{
    s_forget_requests(self, fetch);
    if (!fetch->is_active) {
        fetch->is_active = true;
        self->active++;
    }
    tsr_transfer_destroy(&fetch->transfer);
    fetch->transfer =
        tsr_transfer_new(self->cas, &fetch->digest, self->tmp_dir, self->max_blob_bytes);
    fetch->next_offset = 0;
    fetch->tries++;
    return fetch->transfer ? TSR_OK : TSR_ETOOBIG;
}

//  Send requests while credit lasts; activate queued blobs as room frees up.
static void
s_pump(tsr_fetcher_t *self)
{
    if (!self->online)
        return;
    while (self->active < TSR_FETCHER_MAX_ACTIVE && zlistx_size(self->queue) > 0) {
        s_fetch_t *fetch = (s_fetch_t *)zlistx_first(self->queue);
        zlistx_delete(self->queue, zlistx_cursor(self->queue));
        int rc = s_fetch_begin(self, fetch);
        if (rc != TSR_OK) {
            //  No temp file: reported from the entry point (s_flush_failed)
            s_failure_t *failure = (s_failure_t *)zmalloc(sizeof(s_failure_t));
            failure->digest = fetch->digest;
            failure->rc = rc;
            zlistx_add_end(self->failed, failure);
            tsr_transfer_destroy(&fetch->transfer);
            self->active--;
            zhashx_delete(self->wanted, fetch->hex);
        }
    }
    for (s_fetch_t *fetch = (s_fetch_t *)zhashx_first(self->wanted); fetch;
         fetch = (s_fetch_t *)zhashx_next(self->wanted)) {
        if (!fetch->is_active || !fetch->transfer)
            continue;
        while (fetch->in_flight < TSR_TRANSFER_CREDIT &&
               self->requests < TSR_FETCHER_MAX_REQUESTS &&
               fetch->next_offset < fetch->digest.size) {
            uint64_t left = fetch->digest.size - fetch->next_offset;
            uint32_t length = left < TSR_MSG_CHUNK_BYTES ? (uint32_t)left : TSR_MSG_CHUNK_BYTES;
            Tessera__Digest wire = TESSERA__DIGEST__INIT;
            tsr_msg_digest_set(&wire, &fetch->digest);
            Tessera__BlobGet get = TESSERA__BLOB_GET__INIT;
            get.digest = &wire;
            get.offset = fetch->next_offset;
            get.length = length;
            Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
            request.req_id = self->next_req_id++;
            request.body_case = TESSERA__ENVELOPE__BODY_BLOB_GET;
            request.blob_get = &get;
            if (self->send(self->arg, &request) != TSR_OK)
                return; //  the link is down; tsr_fetcher_resume starts over
            fetch->req_ids[fetch->in_flight] = request.req_id;
            fetch->req_offsets[fetch->in_flight] = fetch->next_offset;
            fetch->in_flight++;
            self->requests++;
            fetch->next_offset += length;
            tsr_log_trace("fetch digest=%.12s offset=%" PRIu64 " length=%u", fetch->hex, get.offset,
                          length);
        }
    }
}

int
tsr_fetcher_want(tsr_fetcher_t *self, const tsr_digest_t *digest)
{
    assert(self && digest);
    char hex[TSR_DIGEST_HEX_LEN + 1];
    tsr_digest_hex(digest, hex);
    if (zhashx_lookup(self->wanted, hex))
        return -EAGAIN;
    if (tsr_cas_has(self->cas, digest))
        return TSR_OK;
    if (digest->size > self->max_blob_bytes)
        return TSR_ETOOBIG;
    if (digest->size == 0) //  nothing to fetch: the empty blob is its digest
        return tsr_cas_put(self->cas, digest, "", 0);
    s_fetch_t *fetch = (s_fetch_t *)zmalloc(sizeof(s_fetch_t));
    fetch->digest = *digest;
    memcpy(fetch->hex, hex, sizeof hex);
    if (self->online && self->active < TSR_FETCHER_MAX_ACTIVE) {
        //  Start it here, so a failure is this call's return, not a callback
        int rc = s_fetch_begin(self, fetch);
        if (rc != TSR_OK) {
            tsr_transfer_destroy(&fetch->transfer);
            self->active--;
            free(fetch);
            return rc;
        }
        zhashx_insert(self->wanted, hex, fetch);
    } else {
        zhashx_insert(self->wanted, hex, fetch);
        zlistx_add_end(self->queue, fetch);
    }
    s_pump(self);
    return -EAGAIN;
}

//  Report the blobs s_pump could not start (entry points only).
static void
s_flush_failed(tsr_fetcher_t *self)
{
    while (zlistx_size(self->failed) > 0) {
        s_failure_t *failure = (s_failure_t *)zlistx_detach(self->failed, NULL);
        self->done(self->arg, &failure->digest, failure->rc);
        free(failure);
    }
}

//  Remove a finished fetch, then report it (the callback may want more).
static void
s_finish(tsr_fetcher_t *self, s_fetch_t *fetch, int rc)
{
    tsr_digest_t digest = fetch->digest;
    s_forget_requests(self, fetch);
    if (fetch->is_active)
        self->active--;
    if (rc != TSR_OK)
        tsr_log_debug("fetch digest=%.12s failed: %s", fetch->hex, tsr_strerror(rc));
    zhashx_delete(self->wanted, fetch->hex);
    s_pump(self);
    self->done(self->arg, &digest, rc);
}

//  A transfer went wrong: refetch from scratch once, else give up.
static void
s_retry_or_finish(tsr_fetcher_t *self, s_fetch_t *fetch, int rc)
{
    if (fetch->tries < S_MAX_TRIES && rc != TSR_ENOTFOUND && rc != TSR_EFULL) {
        tsr_log_warn("fetch digest=%.12s: %s; fetching it again", fetch->hex, tsr_strerror(rc));
        if (s_fetch_begin(self, fetch) == TSR_OK) {
            s_pump(self);
            return;
        }
    }
    s_finish(self, fetch, rc);
}

//  Index of the request in flight that `req_id` (or, if 0, `offset`) answers.
static int
s_find_request(const s_fetch_t *fetch, uint64_t req_id, uint64_t offset)
{
    for (size_t index = 0; index < fetch->in_flight; index++)
        if (req_id ? fetch->req_ids[index] == req_id : fetch->req_offsets[index] == offset)
            return (int)index;
    return -1;
}

static void
s_drop_request(tsr_fetcher_t *self, s_fetch_t *fetch, int index)
{
    for (size_t next = (size_t)index + 1; next < fetch->in_flight; next++) {
        fetch->req_ids[next - 1] = fetch->req_ids[next];
        fetch->req_offsets[next - 1] = fetch->req_offsets[next];
    }
    fetch->in_flight--;
    self->requests--;
}

//  One reply; failures of blobs started meanwhile wait in `failed`.
static void
s_take_chunk(tsr_fetcher_t *self, uint64_t req_id, const Tessera__BlobChunk *chunk)
{
    tsr_digest_t digest;
    if (tsr_msg_digest_get(chunk->digest, &digest) != TSR_OK)
        return;
    char hex[TSR_DIGEST_HEX_LEN + 1];
    tsr_digest_hex(&digest, hex);
    s_fetch_t *fetch = (s_fetch_t *)zhashx_lookup(self->wanted, hex);
    if (!fetch || !fetch->transfer || !tsr_digest_eq(&digest, &fetch->digest))
        return; //  not ours, or for a fetch since finished
    int index = s_find_request(fetch, req_id, chunk->offset);
    if (index < 0) {
        tsr_log_trace("fetch digest=%.12s: stale chunk req=%" PRIu64, hex, req_id);
        return;
    }
    s_drop_request(self, fetch, index);
    if (chunk->missing) {
        s_finish(self, fetch, TSR_ENOTFOUND);
        return;
    }
    uint64_t expect_offset = tsr_transfer_received(fetch->transfer);
    if (chunk->offset != expect_offset || chunk->data.len == 0) {
        s_retry_or_finish(self, fetch, TSR_EPROTO);
        return;
    }
    int rc = tsr_transfer_write(fetch->transfer, chunk->offset, chunk->data.data, chunk->data.len);
    if (rc != TSR_OK)
        s_retry_or_finish(self, fetch, rc);
    else if (tsr_transfer_is_done(fetch->transfer))
        s_finish(self, fetch, TSR_OK);
    else
        s_pump(self);
}

void
tsr_fetcher_on_chunk(tsr_fetcher_t *self, uint64_t req_id, const Tessera__BlobChunk *chunk)
{
    assert(self && chunk);
    s_take_chunk(self, req_id, chunk);
    s_flush_failed(self);
}

bool
tsr_fetcher_on_error(tsr_fetcher_t *self, uint64_t req_id, int code)
{
    assert(self);
    if (req_id == 0)
        return false;
    for (s_fetch_t *fetch = (s_fetch_t *)zhashx_first(self->wanted); fetch;
         fetch = (s_fetch_t *)zhashx_next(self->wanted)) {
        int index = s_find_request(fetch, req_id, 0);
        if (index < 0)
            continue;
        s_drop_request(self, fetch, index);
        s_finish(self, fetch, code < 0 ? code : TSR_EPROTO);
        s_flush_failed(self);
        return true;
    }
    return false;
}

void
tsr_fetcher_pause(tsr_fetcher_t *self)
{
    assert(self);
    self->online = false;
    for (s_fetch_t *fetch = (s_fetch_t *)zhashx_first(self->wanted); fetch;
         fetch = (s_fetch_t *)zhashx_next(self->wanted))
        s_forget_requests(self, fetch);
    assert(self->requests == 0);
}

void
tsr_fetcher_resume(tsr_fetcher_t *self)
{
    assert(self);
    tsr_fetcher_pause(self); //  whatever was in flight is answered by nobody now
    self->online = true;
    s_pump(self);
    s_flush_failed(self);
}

size_t
tsr_fetcher_pending(tsr_fetcher_t *self)
{
    assert(self);
    return zhashx_size(self->wanted);
}
