/*  tsr_tree - Merkle trees of directories
    A directory is hashed into Tree blobs (tessera.proto `Tree`, entries sorted
    by name): files with their mode and content digest, symlinks with their
    target, subdirectories by the digest of their Tree blob. Used by the CLI to
    hash a workspace and upload what the coordinator lacks, and by agents to
    list what they must fetch and to materialise a workspace from their CAS.
    Not thread-safe; one owner.                                               */
#ifndef TSR_TREE_H
#define TSR_TREE_H

#include "tsr_cas.h"
#include "tsr_common.h"
#include "tsr_digest.h"
#include "tsr_stamps.h"

//  .gitignore-style exclude patterns: `name`, `*.o`, `dir/`, `/rooted`,
//  `a/**/b`, `!negation`, `#comment`. Matching uses fnmatch(3).
typedef struct _tsr_ignore_t tsr_ignore_t;

tsr_ignore_t *tsr_ignore_new(void);
void tsr_ignore_destroy(tsr_ignore_t **self_p);
//  Add one pattern line (comments and blank lines are ignored).
void tsr_ignore_add(tsr_ignore_t *self, const char *pattern);
//  Add every line of a file (e.g. .gitignore). Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_ignore_load(tsr_ignore_t *self, const char *path);
//  Is `relpath` (relative to the tree root, '/'-separated) excluded?
bool tsr_ignore_match(const tsr_ignore_t *self, const char *relpath, bool is_dir);

//  A hashed directory: its root digest and every blob it is made of.
typedef struct _tsr_tree_t tsr_tree_t;

tsr_tree_t *tsr_tree_new(void);
void tsr_tree_destroy(tsr_tree_t **self_p);

//  Hash `dir` (recursively; `ignore` may be NULL). Regular files, directories
//  and symlinks only; other kinds are skipped. Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_tree_scan(tsr_tree_t *self, const char *dir, const tsr_ignore_t *ignore);

//  The root Tree digest after a successful scan (borrowed).
const tsr_digest_t *tsr_tree_root(tsr_tree_t *self);

//  Number of distinct blobs (files and Tree nodes) after a scan, and their digests
//  in a stable order: index 0 .. count-1.
size_t tsr_tree_blob_count(tsr_tree_t *self);
const tsr_digest_t *tsr_tree_blob_digest(tsr_tree_t *self, size_t index);

//  Read bytes [offset, offset+length) of one of the tree's blobs (from the file
//  or the in-memory Tree node) into `buffer`; *read_out gets the count.
//  TSR_ENOTFOUND if the digest is not part of the tree; TSR_ECORRUPT if the file
//  changed size since the scan.
TSR_NODISCARD int tsr_tree_read(tsr_tree_t *self, const tsr_digest_t *digest, uint64_t offset,
                                void *buffer, size_t length, size_t *read_out);

//  Store every blob of the scanned tree into `cas`.
TSR_NODISCARD int tsr_tree_store(tsr_tree_t *self, tsr_cas_t *cas);

//  Walk the stored tree `root` in `cas` and append to `missing` (a zlistx of
//  tsr_digest_t *, owned by the list: set its destructor to free) every blob it
//  needs that `cas` lacks. A missing Tree node is listed, its children are not
//  (fetch it and ask again). TSR_ECORRUPT if a stored Tree blob does not parse.
TSR_NODISCARD int tsr_tree_missing(tsr_cas_t *cas, const tsr_digest_t *root, zlistx_t *missing);

//  Create the tree `root` under `dir` (created if missing; must be empty or
//  absent) from blobs in `cas`: files with their modes, directories, symlinks.
//  Entry names with '/', "." or ".." (or empty) are refused (TSR_EUNSAFE),
//  checked for a whole Tree node before any of its entries is created.
//  TSR_ENOTFOUND if a blob is missing; TSR_ECORRUPT if a Tree blob does not
//  parse or is malformed (unsorted or duplicate names, unknown kind);
//  -ENOTEMPTY if `dir` has entries. On failure `dir` holds a partial tree.
TSR_NODISCARD int tsr_tree_materialise(tsr_cas_t *cas, const tsr_digest_t *root, const char *dir);

//  As tsr_tree_materialise; `stamps` (may be NULL) gives each file written
//  its time (tsr_stamps_apply) under the key "PLACE\nRELATIVE/PATH", so
//  content written at the same place before keeps its time.
TSR_NODISCARD int tsr_tree_materialise_stamped(tsr_cas_t *cas, const tsr_digest_t *root,
                                               const char *dir, tsr_stamps_t *stamps,
                                               const char *place);

#endif
