/*  tsr_workdir - mkdir -p, rm -rf and chown -R with nftw(3), FTW_PHYS     */
#include "tsr_workdir.h"
#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Longest name tsr_workdir_safe_name returns, bytes.
#define S_SAFE_NAME_MAX 100

//  nftw has no user argument: these hold the current walk's state. Walks
//  run on one thread at a time per process (the agent's loop).
static __thread int s_walk_rc;
static __thread uid_t s_walk_uid;
static __thread gid_t s_walk_gid;

int
tsr_workdir_create(const char *path, unsigned mode)
{
    assert(path && *path);
    char *copy = strdup(path);
    int rc = TSR_OK;
    for (char *slash = strchr(copy + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash)
            *slash = 0;
        if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
            rc = -errno;
            break;
        }
        if (!slash)
            break;
        *slash = '/';
        while (slash[1] == '/')
            slash++;
    }
    struct stat info;
    if (rc == TSR_OK && stat(path, &info) != 0)
        rc = -errno;
    else if (rc == TSR_OK && !S_ISDIR(info.st_mode))
        rc = -ENOTDIR;
    free(copy);
    return rc;
}

//  Pre-order: let us write into every directory (a job may chmod 0500).
static int
s_open_dir(const char *path, const struct stat *info, int kind, struct FTW *walk)
{
    (void)walk;
    if (kind == FTW_D && (info->st_mode & 0700) != 0700)
        chmod(path, (info->st_mode & 07777) | 0700);
    return 0;
}

static int
s_remove(const char *path, const struct stat *info, int kind, struct FTW *walk)
{
    (void)info;
    (void)walk;
    int rc = (kind == FTW_DP) ? rmdir(path) : unlink(path);
    if (rc != 0 && errno != ENOENT && s_walk_rc == TSR_OK)
        s_walk_rc = -errno;
    return 0;
}

int
tsr_workdir_remove(const char *path)
{
    assert(path);
    struct stat info;
    if (lstat(path, &info) != 0)
        return errno == ENOENT ? TSR_OK : -errno;
    if (!S_ISDIR(info.st_mode))
        return unlink(path) == 0 ? TSR_OK : -errno;
    s_walk_rc = TSR_OK;
    if (nftw(path, s_open_dir, 32, FTW_PHYS | FTW_MOUNT) != 0 && s_walk_rc == TSR_OK)
        s_walk_rc = -errno;
    s_walk_rc = TSR_OK; //  a failed chmod shows as a failed removal below
    if (nftw(path, s_remove, 32, FTW_PHYS | FTW_DEPTH | FTW_MOUNT) != 0 && s_walk_rc == TSR_OK)
        s_walk_rc = -errno;
    return s_walk_rc;
}

static int
s_chown(const char *path, const struct stat *info, int kind, struct FTW *walk)
{
    (void)info;
    (void)kind;
    (void)walk;
    if (lchown(path, s_walk_uid, s_walk_gid) != 0 && s_walk_rc == TSR_OK)
        s_walk_rc = -errno;
    return 0;
}

int
tsr_workdir_chown(const char *path, uid_t uid, gid_t gid)
{
    assert(path);
    s_walk_rc = TSR_OK;
    s_walk_uid = uid;
    s_walk_gid = gid;
    if (nftw(path, s_chown, 32, FTW_PHYS) != 0 && s_walk_rc == TSR_OK)
        s_walk_rc = -errno;
    return s_walk_rc;
}

char *
tsr_workdir_safe_name(const char *name, const char *fallback)
{
    assert(fallback && *fallback);
    if (!name || !*name)
        return strdup(fallback);
    size_t length = strnlen(name, S_SAFE_NAME_MAX);
    char *safe = strndup(name, length);
    for (size_t index = 0; index < length; index++) {
        char next = safe[index];
        bool plain = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                     (next >= '0' && next <= '9') || next == '-' || next == '_' ||
                     (next == '.' && index > 0);
        if (!plain)
            safe[index] = '_';
    }
    return safe;
}
