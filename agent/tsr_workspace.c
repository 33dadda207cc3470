/*  tsr_workspace - the rounds of "list missing, fetch, list again" that end
    in tsr_tree_materialise_stamped. `pending` holds the blobs of the current round;
    `fetched` every blob this workspace fetched, so a blob that goes missing
    again (evicted by a cache too small for the tree) ends it instead of
    looping.                                                               */
#include "tsr_workspace.h"
#include "tsr_tree.h"
#include <errno.h>
#include <string.h>

struct _tsr_workspace_t {
    tsr_cas_t *cas;         //  borrowed (owner: the agent)
    tsr_fetcher_t *fetcher; //  borrowed (owner: the agent)
    tsr_digest_t root;      //  the tree to write
    char *dir;              //  owned; where to write it
    zhashx_t *pending;      //  hex -> NULL-free marker; this round's fetches
    zhashx_t *fetched;      //  hex -> marker; every blob fetched for us
    int failure;            //  first failed fetch, TSR_OK if none
    uint64_t fetched_bytes; //  content bytes of `fetched`
    tsr_stamps_t *stamps;   //  borrowed, may be NULL; file times to keep
    char *place;            //  owned; the stamps' place (the project)
};

tsr_workspace_t *
tsr_workspace_new(tsr_cas_t *cas, tsr_fetcher_t *fetcher, const tsr_digest_t *root, const char *dir)
{
    assert(cas && fetcher && root && dir);
    tsr_workspace_t *self = (tsr_workspace_t *)zmalloc(sizeof(tsr_workspace_t));
    self->cas = cas;
    self->fetcher = fetcher;
    self->root = *root;
    self->dir = strdup(dir);
    self->pending = zhashx_new();
    self->fetched = zhashx_new();
    return self;
}

void
tsr_workspace_set_stamps(tsr_workspace_t *self, tsr_stamps_t *stamps, const char *place)
{
    assert(self);
    self->stamps = stamps;
    free(self->place);
    self->place = strdup(place ? place : "");
    assert(self->place);
}

void
tsr_workspace_destroy(tsr_workspace_t **self_p)
{
    assert(self_p);
    tsr_workspace_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->pending);
    zhashx_destroy(&self->fetched);
    free(self->dir);
    free(self->place);
    free(self);
    *self_p = NULL;
}

static void
s_free_digest(void **item)
{
    free(*item);
    *item = NULL;
}

int
tsr_workspace_step(tsr_workspace_t *self)
{
    assert(self);
    if (self->failure != TSR_OK)
        return self->failure;
    if (zhashx_size(self->pending) > 0)
        return -EAGAIN;
    zlistx_t *missing = zlistx_new();
    zlistx_set_destructor(missing, s_free_digest);
    int rc = tsr_tree_missing(self->cas, &self->root, missing);
    if (rc != TSR_OK)
        goto out;
    if (zlistx_size(missing) == 0) {
        rc = tsr_tree_materialise_stamped(self->cas, &self->root, self->dir, self->stamps,
                                          self->place);
        goto out;
    }
    for (tsr_digest_t *digest = (tsr_digest_t *)zlistx_first(missing); digest;
         digest = (tsr_digest_t *)zlistx_next(missing)) {
        char hex[TSR_DIGEST_HEX_LEN + 1];
        tsr_digest_hex(digest, hex);
        if (zhashx_lookup(self->fetched, hex)) {
            rc = TSR_EFULL; //  we fetched it, and it is gone again
            goto out;
        }
        int want_rc = tsr_fetcher_want(self->fetcher, digest);
        if (want_rc == -EAGAIN)
            zhashx_update(self->pending, hex, self);
        else if (want_rc != TSR_OK) {
            rc = want_rc;
            goto out;
        }
    }
    rc = zhashx_size(self->pending) > 0 ? -EAGAIN : tsr_workspace_step(self);
out:
    zlistx_destroy(&missing);
    if (rc != TSR_OK && rc != -EAGAIN && self->failure == TSR_OK)
        self->failure = rc;
    return rc;
}

bool
tsr_workspace_on_blob(tsr_workspace_t *self, const tsr_digest_t *digest, int rc)
{
    assert(self && digest);
    char hex[TSR_DIGEST_HEX_LEN + 1];
    tsr_digest_hex(digest, hex);
    if (!zhashx_lookup(self->pending, hex))
        return false;
    zhashx_delete(self->pending, hex);
    if (rc == TSR_OK) {
        zhashx_update(self->fetched, hex, self);
        self->fetched_bytes += digest->size;
    } else if (self->failure == TSR_OK)
        self->failure = rc;
    return true;
}

bool
tsr_workspace_is_waiting(tsr_workspace_t *self)
{
    assert(self);
    return zhashx_size(self->pending) > 0;
}

size_t
tsr_workspace_fetched_blobs(tsr_workspace_t *self)
{
    assert(self);
    return zhashx_size(self->fetched);
}

uint64_t
tsr_workspace_fetched_bytes(tsr_workspace_t *self)
{
    assert(self);
    return self->fetched_bytes;
}
