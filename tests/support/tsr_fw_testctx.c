/*  tsr_fw_testctx - a tsr_fw_ctx_t running real tools, for unit tests     */
#define _GNU_SOURCE //  cpu_set_t through tsr_spawn.h
#include "tsr_fw_testctx.h"
#include "tsr_fw_io.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "tsr_spawn.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

//  Our environment with `extra` ("K=V") over it; a NULL-terminated list
//  whose strings are borrowed from environ and `extra`.
static const char **
s_env_merge(const char *const *extra)
{
    size_t ours = 0, theirs = 0;
    while (environ[ours])
        ours++;
    while (extra && extra[theirs])
        theirs++;
    const char **merged = (const char **)zmalloc((ours + theirs + 1) * sizeof *merged);
    size_t count = 0;
    for (size_t index = 0; index < ours; index++) {
        const char *equals = strchr(environ[index], '=');
        size_t name_length = equals ? (size_t)(equals - environ[index]) : strlen(environ[index]);
        bool overridden = false;
        for (size_t other = 0; other < theirs && !overridden; other++)
            overridden = strncmp(extra[other], environ[index], name_length) == 0 &&
                         extra[other][name_length] == '=';
        if (!overridden)
            merged[count++] = environ[index];
    }
    for (size_t other = 0; other < theirs; other++)
        merged[count++] = extra[other];
    merged[count] = NULL;
    return merged;
}

static int
s_run(tsr_fw_ctx_t *ctx, const char *const *argv, const char *cwd, const char *stdout_path,
      const char *const *env, int *exit_code, int *term_signal)
{
    tsr_fw_testctx_t *self = (tsr_fw_testctx_t *)ctx->handle;
    const char **envp = s_env_merge(env);
    char *log_path = zsys_sprintf("%s.%zu", self->log_path, self->runs++);
    tsr_spawn_opts_t opts = {
        .argv = argv,
        .envp = envp,
        .cwd = cwd ? cwd : ctx->workdir,
        .stdout_path = stdout_path ? stdout_path : log_path,
        .stderr_path = log_path,
        .timeout_ms = self->timeout_ms,
    };
    tsr_proc_t *proc = NULL;
    int rc = tsr_spawn(&opts, &proc);
    if (rc == TSR_OK) {
        tsr_proc_status_t status;
        rc = tsr_proc_wait(proc, &status);
        *exit_code = status.exit_code;
        *term_signal = status.term_signal;
        if (status.timed_out)
            rc = TSR_ETIMEOUT;
        tsr_proc_destroy(&proc);
    }
    //  The latest log under the plain name too, for tsr_fw_testctx_log
    char *command = zsys_sprintf("cp '%s' '%s' 2>/dev/null", log_path, self->log_path);
    if (system(command) != 0)
        zsys_debug("no log of run %zu", self->runs);
    zstr_free(&command);
    zstr_free(&log_path);
    free(envp);
    return rc;
}

tsr_fw_testctx_t *
tsr_fw_testctx_new(const char *example_dir, const char *const *argv)
{
    tsr_fw_testctx_t *self = (tsr_fw_testctx_t *)zmalloc(sizeof *self);
    const char *tmp = getenv("TSR_TEST_TMP");
    if (tmp)
        (void)mkdir(tmp, 0755);
    self->root = zsys_sprintf("%s/tsr-fw-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(self->root))
        abort();
    self->workdir = zsys_sprintf("%s/work", self->root);
    self->scratch_dir = zsys_sprintf("%s/scratch", self->root);
    self->cache_dir = zsys_sprintf("%s/cache", self->root);
    self->log_path = zsys_sprintf("%s/log", self->root);
    if (mkdir(self->scratch_dir, 0755) != 0 || mkdir(self->cache_dir, 0755) != 0)
        abort();
    if (example_dir) {
        char *command = zsys_sprintf("cp -a '%s' '%s'", example_dir, self->workdir);
        if (system(command) != 0)
            abort();
        zstr_free(&command);
    } else if (mkdir(self->workdir, 0755) != 0)
        abort();
    size_t count = 0;
    while (argv && argv[count])
        count++;
    self->argv = (char **)zmalloc((count + 1) * sizeof *self->argv);
    for (size_t index = 0; index < count; index++)
        self->argv[index] = strdup(argv[index]);
    self->ctx.workdir = self->workdir;
    self->ctx.scratch_dir = self->scratch_dir;
    self->ctx.cache_dir = self->cache_dir;
    self->ctx.argv = (const char *const *)self->argv;
    self->ctx.run = s_run;
    self->ctx.handle = self;
    self->timeout_ms = 120000;
    return self;
}

void
tsr_fw_testctx_destroy(tsr_fw_testctx_t **self_p)
{
    assert(self_p);
    tsr_fw_testctx_t *self = *self_p;
    if (!self)
        return;
    if (!getenv("TSR_KEEP_TMP")) {
        char *command = zsys_sprintf("rm -rf '%s'", self->root);
        if (system(command) != 0)
            zsys_warning("could not remove %s", self->root);
        zstr_free(&command);
    }
    for (size_t index = 0; self->argv[index]; index++)
        free(self->argv[index]);
    free(self->argv);
    zstr_free(&self->root);
    zstr_free(&self->workdir);
    zstr_free(&self->scratch_dir);
    zstr_free(&self->cache_dir);
    zstr_free(&self->log_path);
    free(self);
    *self_p = NULL;
}

int
tsr_fw_testctx_shell(tsr_fw_testctx_t *self, const char *command)
{
    assert(self);
    char *line = zsys_sprintf("cd '%s' && %s", self->workdir, command);
    int status = system(line);
    zstr_free(&line);
    return status;
}

int
tsr_fw_testctx_npm_install(tsr_fw_testctx_t *self)
{
    assert(self);
    char *lock_path = zsys_sprintf("%s/package-lock.json", self->workdir);
    FILE *lock = fopen(lock_path, "rb");
    zstr_free(&lock_path);
    if (!lock)
        return -1;
    zchunk_t *content = zchunk_read(lock, 64u << 20);
    fclose(lock);
    zdigest_t *digest = zdigest_new();
    zdigest_update(digest, zchunk_data(content), zchunk_size(content));
    zchunk_destroy(&content);
    const char *tmp = getenv("TSR_TEST_TMP");
    char *cache =
        zsys_sprintf("%s/npm-modules/%s", tmp ? tmp : "/tmp/tsr-test-npm", zdigest_string(digest));
    zdigest_destroy(&digest);
    char *modules = zsys_sprintf("%s/node_modules", cache);
    int rc = 0;
    if (access(modules, F_OK) != 0) {
        //  Install beside, then rename into place: a half install never counts
        char *command = zsys_sprintf(
            "rm -rf '%s.new' && mkdir -p '%s.new' && cp package.json package-lock.json '%s.new/' "
            "&& "
            "cd '%s.new' && npm ci --prefer-offline --no-audit --no-fund >npm-ci.log 2>&1 && "
            "cd / && rm -rf '%s' && mv '%s.new' '%s'",
            cache, cache, cache, cache, cache, cache, cache);
        rc = tsr_fw_testctx_shell(self, command) == 0 ? 0 : -1;
        zstr_free(&command);
    }
    if (rc == 0) {
        //  A node_modules copied from a developer's example tree goes
        rc = tsr_fw_testctx_shell(self, "rm -rf node_modules") == 0 ? 0 : -1;
        char *link = zsys_sprintf("%s/node_modules", self->workdir);
        if (rc == 0)
            rc = symlink(modules, link) == 0 ? 0 : -1;
        zstr_free(&link);
    }
    zstr_free(&modules);
    zstr_free(&cache);
    return rc;
}

char *
tsr_fw_testctx_log(tsr_fw_testctx_t *self)
{
    assert(self);
    char *text = NULL;
    FILE *file = fopen(self->log_path, "r");
    if (!file)
        return strdup("(no log)");
    zchunk_t *chunk = zchunk_read(file, 1u << 20);
    fclose(file);
    text = zsys_sprintf("%.*s", (int)zchunk_size(chunk), (const char *)zchunk_data(chunk));
    zchunk_destroy(&chunk);
    return text;
}

char *
tsr_fw_test_temp_file(const char *text)
{
    char *path = strdup("/tmp/tsr-fw-test-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(tsr_fw_file_write(path, text), TSR_OK);
    return path;
}

void
tsr_fw_test_remove(char **path_p)
{
    unlink(*path_p);
    free(*path_p);
    *path_p = NULL;
}

Tessera__Outcome
tsr_fw_test_outcome(tsr_results_t *results, const char *id)
{
    const tsr_test_result_t *result = tsr_results_find(results, id);
    if (!result)
        fail_msg("no result for %s", id);
    return result->outcome;
}

void
tsr_fw_test_assert_list(zlistx_t *list, const char *const *expected)
{
    size_t count = 0;
    for (const char *item = (const char *)zlistx_first(list); item;
         item = (const char *)zlistx_next(list), count++) {
        if (!expected[count])
            fail_msg("unexpected extra item %s", item);
        assert_string_equal(item, expected[count]);
    }
    assert_null(expected[count]);
}
