/*  tsr_pack - tar+zstd archives of trees and output sets (libarchive)
    Packing is deterministic: entries sorted by path, mtime 0, uid/gid 0,
    no user/group names, so equal content gives byte-identical archives.
    Unpacking uses libarchive's secure flags: `..`, absolute paths and writes
    through symlinks are refused with TSR_EUNSAFE and nothing is written
    outside the target. Any thread.                                         */
#ifndef TSR_PACK_H
#define TSR_PACK_H

#include "tsr_common.h"

//  Pack everything under `dir` (paths relative to it) into `archive_path`.
//  Returns TSR_OK, TSR_EARCHIVE or -errno.
TSR_NODISCARD int tsr_pack_dir(const char *dir, const char *archive_path);

//  Pack the listed paths (zlistx of char *, relative to `base`; directories
//  recursively, parent directories included) into `archive_path`.
//  TSR_EINVAL for an absolute path or one with "..".
TSR_NODISCARD int tsr_pack_paths(const char *base, zlistx_t *relpaths, const char *archive_path);

//  Unpack `archive_path` into `dest_dir` (must exist). Returns TSR_OK,
//  TSR_EUNSAFE (a hostile entry: nothing of it written; unpacking stops),
//  TSR_EARCHIVE (corrupt archive) or -errno (unreadable archive, disk errors).
//  Hard links and special files count as hostile.
TSR_NODISCARD int tsr_pack_unpack(const char *archive_path, const char *dest_dir);

#endif
