/*  tsr_stamps - file times that survive re-materialising a workspace  */
#include "tsr_stamps.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#define TSR_STAMPS_DEFAULT_MAX 1000000

//  What a path last held
typedef struct {
    tsr_digest_t digest;   //  its content
    struct timespec mtime; //  the time it was given
} s_stamp_t;

struct _tsr_stamps_t {
    zhashx_t *paths;  //  key (project, relative path) -> s_stamp_t (owned)
    size_t max_paths; //  start over past this many
};

static void
s_stamp_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

tsr_stamps_t *
tsr_stamps_new(size_t max_paths)
{
    tsr_stamps_t *self = (tsr_stamps_t *)zmalloc(sizeof(tsr_stamps_t));
    self->paths = zhashx_new();
    assert(self->paths);
    zhashx_set_destructor(self->paths, s_stamp_free);
    self->max_paths = max_paths ? max_paths : TSR_STAMPS_DEFAULT_MAX;
    return self;
}

void
tsr_stamps_destroy(tsr_stamps_t **self_p)
{
    assert(self_p);
    tsr_stamps_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->paths);
    free(self);
    *self_p = NULL;
}

int
tsr_stamps_apply(tsr_stamps_t *self, const char *key, const char *path, const tsr_digest_t *digest)
{
    assert(self);
    assert(key);
    assert(path);
    assert(digest);
    s_stamp_t *stamp = (s_stamp_t *)zhashx_lookup(self->paths, key);
    struct timespec mtime;
    if (stamp && tsr_digest_eq(&stamp->digest, digest))
        mtime = stamp->mtime;
    else {
        clock_gettime(CLOCK_REALTIME, &mtime);
        //  Later than any time the path had, in whole seconds too
        if (stamp && mtime.tv_sec <= stamp->mtime.tv_sec)
            mtime.tv_sec = stamp->mtime.tv_sec + 1;
    }
    struct timespec times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, mtime};
    if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (stamp) {
        stamp->digest = *digest;
        stamp->mtime = mtime;
        return TSR_OK;
    }
    if (zhashx_size(self->paths) >= self->max_paths)
        zhashx_purge(self->paths);
    stamp = (s_stamp_t *)zmalloc(sizeof(s_stamp_t));
    stamp->digest = *digest;
    stamp->mtime = mtime;
    int rc = zhashx_insert(self->paths, key, stamp);
    assert(rc == 0);
    (void)rc;
    return TSR_OK;
}

size_t
tsr_stamps_size(tsr_stamps_t *self)
{
    assert(self);
    return zhashx_size(self->paths);
}
