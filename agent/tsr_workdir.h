/*  tsr_workdir - the directories the agent manages under its data dir
    Creating a path with its parents, removing an attempt's directory (even
    where the job made things read-only), handing it to the job's user.
    Never follows symlinks a job left behind. Any thread.                   */
#ifndef TSR_WORKDIR_H
#define TSR_WORKDIR_H

#include "tsr_common.h"
#include <sys/types.h>

//  mkdir -p with `mode` for the directories it creates. TSR_OK or -errno.
TSR_NODISCARD int tsr_workdir_create(const char *path, unsigned mode);

//  rm -rf: `path` and everything under it. Absent is fine. TSR_OK or -errno
//  (the first failure; it goes on removing what it can).
TSR_NODISCARD int tsr_workdir_remove(const char *path);

//  chown -R (lchown, symlinks not followed). TSR_OK or -errno.
TSR_NODISCARD int tsr_workdir_chown(const char *path, uid_t uid, gid_t gid);

//  `name` as one safe path component: characters other than letters,
//  digits, '-', '_' and '.' become '_', a leading '.' too (no "..", no
//  hidden names), at most 100 bytes; `fallback` when `name` is NULL or
//  empty. For per-project directories named by what a client sent. A new
//  string.
char *tsr_workdir_safe_name(const char *name, const char *fallback);

#endif
