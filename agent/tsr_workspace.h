/*  tsr_workspace - materialise one attempt's input tree from the local CAS
    Lists what the cache lacks (tsr_tree_missing), asks the fetcher for it,
    and once a round of fetches is in, lists again (a fetched Tree node
    reveals its children) until nothing is missing; then writes the tree
    into its directory (tsr_tree_materialise). Everything cached: one walk
    and the write, no round trip. One per attempt; the agent's loop thread. */
#ifndef TSR_WORKSPACE_H
#define TSR_WORKSPACE_H

#include "tsr_cas.h"
#include "tsr_common.h"
#include "tsr_digest.h"
#include "tsr_fetcher.h"
#include "tsr_stamps.h"

typedef struct _tsr_workspace_t tsr_workspace_t;

//  The tree `root` to be written into `dir` (copied; must be absent or
//  empty). `cas` and `fetcher` are borrowed and must outlive it.
tsr_workspace_t *tsr_workspace_new(tsr_cas_t *cas, tsr_fetcher_t *fetcher, const tsr_digest_t *root,
                                   const char *dir);

//  Give the files it writes their times from `stamps` (borrowed; must
//  outlive it; NULL: none), keyed by `place` (the project: copied) and the
//  path inside the tree: unchanged files keep the times they had there
//  before, on any slot (see tsr_stamps).
void tsr_workspace_set_stamps(tsr_workspace_t *self, tsr_stamps_t *stamps, const char *place);

//  NULL-safe; leaves the directory (its owner removes it), sets *self_p NULL.
void tsr_workspace_destroy(tsr_workspace_t **self_p);

//  Advance: if nothing is missing, materialise and return TSR_OK; else ask
//  the fetcher for what is missing and return -EAGAIN (step again once
//  tsr_workspace_is_waiting is false). Errors: a failed fetch's code
//  (TSR_ENOTFOUND, TSR_ECORRUPT, ...), TSR_ECORRUPT (a Tree blob does not
//  parse), TSR_EUNSAFE, TSR_EFULL (fetched blobs were evicted: the cache is
//  too small for this tree), -errno.
TSR_NODISCARD int tsr_workspace_step(tsr_workspace_t *self);

//  The fetcher finished `digest` with `rc`. Returns whether this workspace
//  was waiting for it; a failure is kept and returned by the next step.
bool tsr_workspace_on_blob(tsr_workspace_t *self, const tsr_digest_t *digest, int rc);

//  Blobs of the current round still being fetched?
bool tsr_workspace_is_waiting(tsr_workspace_t *self);

//  Blobs and bytes this workspace had to fetch so far.
size_t tsr_workspace_fetched_blobs(tsr_workspace_t *self);
uint64_t tsr_workspace_fetched_bytes(tsr_workspace_t *self);

#endif
