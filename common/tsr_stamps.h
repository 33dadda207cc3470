/*  tsr_stamps - file times that survive re-materialising a workspace
    An agent writes every attempt's workspace afresh, so every file would
    be new to the tools that key caches on modification times: Python's
    bytecode (mtime and size must equal the source's), cargo and make
    (sources newer than their outputs are rebuilt). This table remembers,
    per place (a key: project and relative path), the content last written
    there and the time it was given: the same content at the same place
    gets the same time back; other content gets a time later than any the
    place had, by at least a second
    (bytecode compares whole seconds), so nothing built from older content
    looks up to date. A new table (the agent restarted) gives every file a
    new time: rebuilds, never stale outputs. One owner, one thread.        */
#ifndef TSR_STAMPS_H
#define TSR_STAMPS_H

#include "tsr_common.h"
#include "tsr_digest.h"

typedef struct _tsr_stamps_t tsr_stamps_t;

//  Remember at most `max_paths` paths (0: a default of a million); past
//  that the table starts over (all files then get new times once).
tsr_stamps_t *tsr_stamps_new(size_t max_paths);

//  NULL-safe; sets *self_p to NULL.
void tsr_stamps_destroy(tsr_stamps_t **self_p);

//  The regular file `path` was just written with content `digest`: give it
//  its time (see banner) with utimensat, without following a symlink. `key`
//  names the place: a project and the path inside its workspace, so the
//  copies of one workspace on several slots get the same times (one slot's
//  build is then up to date for the others). TSR_OK or -errno (the table
//  is unchanged then).
TSR_NODISCARD int tsr_stamps_apply(tsr_stamps_t *self, const char *key, const char *path,
                                   const tsr_digest_t *digest);

//  Paths remembered.
size_t tsr_stamps_size(tsr_stamps_t *self);

#endif
