/*  tsr_transfer - receive one blob in ordered chunks, verify, then store
    Small blobs (one chunk) are kept in memory; larger ones stream into a temp
    file under `tmp_dir`. The content is hashed as it arrives; only a blob
    whose digest matches enters the CAS. Owner's thread only.               */
#include "tsr_transfer.h"
#include "tsr_msg.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct _tsr_transfer_t {
    tsr_cas_t *cas;       //  borrowed (owner: the daemon)
    tsr_digest_t digest;  //  what the bytes must hash to
    tsr_hasher_t *hasher; //  owned
    uint8_t *buffer;      //  owned; small blobs, digest.size bytes
    char *tmp_path;       //  owned; large blobs, NULL otherwise
    int tmp_fd;           //  -1 unless tmp_path
    uint64_t received;    //  bytes accepted so far
    bool done;            //  verified and stored
    bool failed;          //  a write failed; refuse further chunks
};

tsr_transfer_t *
tsr_transfer_new(tsr_cas_t *cas, const tsr_digest_t *digest, const char *tmp_dir,
                 uint64_t max_bytes)
{
    assert(cas);
    assert(digest);
    if (digest->size > max_bytes)
        return NULL;
    tsr_transfer_t *self = (tsr_transfer_t *)zmalloc(sizeof(tsr_transfer_t));
    self->cas = cas;
    self->digest = *digest;
    self->hasher = tsr_hasher_new();
    self->tmp_fd = -1;
    if (digest->size <= TSR_MSG_CHUNK_BYTES)
        self->buffer = (uint8_t *)zmalloc(digest->size ? digest->size : 1);
    else {
        self->tmp_path = zsys_sprintf("%s/blob-XXXXXX", tmp_dir ? tmp_dir : "/tmp");
        self->tmp_fd = mkstemp(self->tmp_path);
        if (self->tmp_fd < 0) {
            tsr_transfer_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void
tsr_transfer_destroy(tsr_transfer_t **self_p)
{
    assert(self_p);
    tsr_transfer_t *self = *self_p;
    if (!self)
        return;
    if (self->tmp_fd >= 0)
        close(self->tmp_fd);
    if (self->tmp_path) {
        unlink(self->tmp_path);
        zstr_free(&self->tmp_path);
    }
    tsr_hasher_destroy(&self->hasher);
    free(self->buffer);
    free(self);
    *self_p = NULL;
}

//  Last byte arrived: compare digests, then move the content into the CAS.
static int
s_finish(tsr_transfer_t *self)
{
    tsr_digest_t actual;
    tsr_hasher_final(self->hasher, &actual);
    if (!tsr_digest_eq(&actual, &self->digest))
        return TSR_ECORRUPT;
    int rc;
    if (self->buffer)
        rc = tsr_cas_put(self->cas, &self->digest, self->buffer, self->digest.size);
    else {
        close(self->tmp_fd);
        self->tmp_fd = -1;
        rc = tsr_cas_put_file(self->cas, self->tmp_path, &self->digest, NULL);
    }
    if (rc == TSR_OK)
        self->done = true;
    return rc;
}

static int
s_write_all(int fd, const void *data, size_t size)
{
    const uint8_t *cursor = (const uint8_t *)data;
    while (size > 0) {
        ssize_t written = write(fd, cursor, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        cursor += written;
        size -= (size_t)written;
    }
    return TSR_OK;
}

int
tsr_transfer_write(tsr_transfer_t *self, uint64_t offset, const void *data, size_t size)
{
    assert(self);
    if (self->done || self->failed || offset != self->received ||
        size > self->digest.size - self->received)
        return TSR_EPROTO;
    int rc = TSR_OK;
    if (size == 0)
        ; //  an empty blob's only chunk: nothing to copy (data may be NULL)
    else if (self->buffer)
        memcpy(self->buffer + offset, data, size);
    else
        rc = s_write_all(self->tmp_fd, data, size);
    if (rc == TSR_OK) {
        tsr_hasher_update(self->hasher, data, size);
        self->received += size;
        if (self->received == self->digest.size)
            rc = s_finish(self);
    }
    if (rc != TSR_OK)
        self->failed = true;
    return rc;
}

bool
tsr_transfer_is_done(tsr_transfer_t *self)
{
    assert(self);
    return self->done;
}

uint64_t
tsr_transfer_received(tsr_transfer_t *self)
{
    assert(self);
    return self->received;
}

const tsr_digest_t *
tsr_transfer_digest(tsr_transfer_t *self)
{
    assert(self);
    return &self->digest;
}
