/*  tsr_executor - spawn, poll, reap and report the agent's shard processes
    A zhashx of attempt id (decimal string) -> s_running_t. Polling takes a
    snapshot of the keys first, so the end callback may start or cancel
    other attempts.                                                         */
#include "tsr_executor.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    uint64_t attempt_id; //  key
    tsr_proc_t *proc;    //  owned
    char *log_path;      //  owned
    bool cancelled;      //  terminated by tsr_executor_cancel
} s_running_t;

struct _tsr_executor_t {
    zhashx_t *running; //  "id" -> s_running_t, owned
};

static void
s_running_destroy(s_running_t **running_p)
{
    s_running_t *running = *running_p;
    if (!running)
        return;
    tsr_proc_destroy(&running->proc);
    free(running->log_path);
    free(running);
    *running_p = NULL;
}

static void
s_key(uint64_t attempt_id, char *key, size_t size)
{
    snprintf(key, size, "%" PRIu64, attempt_id);
}

tsr_executor_t *
tsr_executor_new(void)
{
    tsr_executor_t *self = (tsr_executor_t *)zmalloc(sizeof(tsr_executor_t));
    self->running = zhashx_new();
    zhashx_set_destructor(self->running, (zhashx_destructor_fn *)s_running_destroy);
    return self;
}

void
tsr_executor_destroy(tsr_executor_t **self_p)
{
    assert(self_p);
    tsr_executor_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->running);
    free(self);
    *self_p = NULL;
}

int
tsr_executor_start(tsr_executor_t *self, const tsr_exec_spec_t *spec, int64_t now_ms)
{
    assert(self && spec && spec->argv && spec->log_path);
    (void)now_ms; //  tsr_spawn takes its own start time for the timeout
    char key[24];
    s_key(spec->attempt_id, key, sizeof key);
    if (spec->attempt_id == 0 || zhashx_lookup(self->running, key))
        return TSR_EINVAL;
    tsr_spawn_opts_t opts = {
        .argv = spec->argv,
        .envp = spec->envp,
        .cwd = spec->cwd,
        .stdout_path = spec->log_path,
        .stderr_path = spec->log_path,
        .cpus = spec->cpus,
        .run_as_user = spec->run_as_user,
        .timeout_ms = spec->timeout_ms,
    };
    tsr_proc_t *proc = NULL;
    int rc = tsr_spawn(&opts, &proc);
    if (rc != TSR_OK)
        return rc;
    s_running_t *running = (s_running_t *)zmalloc(sizeof(s_running_t));
    running->attempt_id = spec->attempt_id;
    running->proc = proc;
    running->log_path = strdup(spec->log_path);
    zhashx_insert(self->running, key, running);
    return TSR_OK;
}

int
tsr_executor_fd(tsr_executor_t *self, uint64_t attempt_id)
{
    assert(self);
    char key[24];
    s_key(attempt_id, key, sizeof key);
    s_running_t *running = (s_running_t *)zhashx_lookup(self->running, key);
    return running ? tsr_proc_fd(running->proc) : -1;
}

size_t
tsr_executor_running(tsr_executor_t *self)
{
    assert(self);
    return zhashx_size(self->running);
}

bool
tsr_executor_has(tsr_executor_t *self, uint64_t attempt_id)
{
    assert(self);
    char key[24];
    s_key(attempt_id, key, sizeof key);
    return zhashx_lookup(self->running, key) != NULL;
}

void
tsr_executor_cancel(tsr_executor_t *self, uint64_t attempt_id, int64_t now_ms)
{
    assert(self);
    char key[24];
    s_key(attempt_id, key, sizeof key);
    s_running_t *running = (s_running_t *)zhashx_lookup(self->running, key);
    if (!running || running->cancelled)
        return;
    running->cancelled = true;
    tsr_proc_terminate(running->proc, now_ms);
}

bool
tsr_executor_kill(tsr_executor_t *self, uint64_t attempt_id)
{
    assert(self);
    char key[24];
    s_key(attempt_id, key, sizeof key);
    if (!zhashx_lookup(self->running, key))
        return false;
    zhashx_delete(self->running, key); //  tsr_proc_destroy kills and reaps
    return true;
}

size_t
tsr_executor_poll(tsr_executor_t *self, int64_t now_ms, tsr_exec_end_fn *fn, void *arg)
{
    assert(self && fn);
    size_t reported = 0;
    zlistx_t *keys = zhashx_keys(self->running);
    for (const char *key = (const char *)zlistx_first(keys); key;
         key = (const char *)zlistx_next(keys)) {
        s_running_t *running = (s_running_t *)zhashx_lookup(self->running, key);
        if (!running)
            continue; //  killed by an earlier callback
        tsr_exec_end_t *end = (tsr_exec_end_t *)zmalloc(sizeof(tsr_exec_end_t));
        if (tsr_proc_poll(running->proc, now_ms, &end->status) != TSR_OK) {
            free(end);
            continue;
        }
        end->attempt_id = running->attempt_id;
        end->cancelled = running->cancelled;
        if (tsr_exec_tail(running->log_path, end->tail, sizeof end->tail, &end->tail_bytes) !=
            TSR_OK)
            end->tail_bytes = 0;
        zhashx_delete(self->running, key);
        fn(arg, end);
        free(end);
        reported++;
    }
    zlistx_destroy(&keys);
    return reported;
}

int
tsr_exec_tail(const char *path, void *buffer, size_t size, size_t *read_out)
{
    assert(path && buffer && read_out);
    *read_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TSR_OK : -errno;
    int rc = TSR_OK;
    struct stat info;
    if (fstat(fd, &info) != 0) {
        rc = -errno;
        goto out;
    }
    off_t start = info.st_size > (off_t)size ? info.st_size - (off_t)size : 0;
    while (*read_out < size) {
        ssize_t got =
            pread(fd, (char *)buffer + *read_out, size - *read_out, start + (off_t)*read_out);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            goto out;
        }
        if (got == 0)
            break;
        *read_out += (size_t)got;
    }
out:
    close(fd);
    return rc;
}
