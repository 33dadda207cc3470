/*  tsr_fw_cargo - the cargo adapter's procedures (ids and tools: see
    tsr_fw_cargo.h): list and run through the ctx, on an agent worker
    thread. The command line is taken apart in tsr_fw_cargo_cmd.c, the tools'
    JSON read in tsr_fw_cargo_parse.c.                                       */
#include "tsr_fw_cargo.h"
#include "tsr_list.h"
#include "tsr_fw_io.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Bytes of test names per test-binary invocation (Linux: 128 KiB per
//  argument, ~2 MiB for all with the environment)
#define TSR_CARGO_NAMES_PER_RUN (256u << 10)

//  Everything one list or run needs
typedef struct {
    tsr_fw_ctx_t *ctx;         //  borrowed
    tsr_fw_cargo_cmd_t *cmd;   //  owned
    zhashx_t *packages;        //  owned: package id -> tsr_fw_cargo_package_t *
    zlistx_t *default_members; //  owned strings: package ids
    zlistx_t *binaries;        //  owned: tsr_fw_cargo_binary_t *
    zlistx_t *env;             //  owned strings: CARGO_TARGET_DIR for cargo
    int build_exit_code;       //  of `cargo test --no-run`
    size_t reports;            //  scratch report files made, for unique names
} s_session_t;

static void
s_session_destroy(s_session_t **self_p)
{
    s_session_t *self = *self_p;
    if (!self)
        return;
    tsr_fw_cargo_cmd_destroy(&self->cmd);
    zhashx_destroy(&self->packages);
    zlistx_destroy(&self->default_members);
    zlistx_destroy(&self->binaries);
    zlistx_destroy(&self->env);
    free(self);
    *self_p = NULL;
}

static int
s_session_new(tsr_fw_ctx_t *ctx, s_session_t **self_out)
{
    *self_out = NULL;
    tsr_fw_cargo_cmd_t *cmd = NULL;
    int rc = tsr_fw_cargo_cmd_parse(ctx->argv, &cmd);
    if (rc != TSR_OK)
        return rc;
    s_session_t *self = (s_session_t *)zmalloc(sizeof *self);
    self->ctx = ctx;
    self->cmd = cmd;
    self->packages = zhashx_new();
    self->default_members = tsr_fw_strlist_new();
    self->binaries = zlistx_new();
    self->env = tsr_fw_strlist_new();
    if (ctx->cache_dir)
        tsr_fw_strlist_addf(self->env, "CARGO_TARGET_DIR=%s/target", ctx->cache_dir);
    *self_out = self;
    return TSR_OK;
}

//  A fresh scratch report path, a new string
static char *
s_report_path(s_session_t *self, const char *kind)
{
    char *name = zsys_sprintf("cargo-%s-%zu.jsonl", kind, self->reports++);
    char *path = tsr_fw_scratch_path(self->ctx, name);
    zstr_free(&name);
    unlink(path);
    return path;
}

//  `cargo metadata --no-deps`: names and directories of the packages
static int
s_load_metadata(s_session_t *self)
{
    char *report = s_report_path(self, "metadata");
    zlistx_t *argv = tsr_fw_strlist_new();
    zlistx_t *prefix = self->cmd->prefix;
    for (const char *arg = (const char *)zlistx_first(prefix); arg;
         arg = (const char *)zlistx_next(prefix))
        zlistx_add_end(argv, (void *)arg);
    tsr_fw_strlist_addf(argv, "metadata");
    tsr_fw_strlist_addf(argv, "--no-deps");
    tsr_fw_strlist_addf(argv, "--format-version");
    tsr_fw_strlist_addf(argv, "1");
    if (self->cmd->manifest_path)
        tsr_fw_strlist_addf(argv, "--manifest-path=%s", self->cmd->manifest_path);
    int exit_code;
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, self->env, &exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_parse_metadata(report, self->packages, self->default_members);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

//  `cargo <prefix> test <cargo args> <extra...>` into a new string list
static zlistx_t *
s_cargo_test_argv(s_session_t *self, bool with_cargo_args)
{
    zlistx_t *argv = tsr_fw_strlist_new();
    for (const char *arg = (const char *)zlistx_first(self->cmd->prefix); arg;
         arg = (const char *)zlistx_next(self->cmd->prefix))
        zlistx_add_end(argv, (void *)arg);
    tsr_fw_strlist_addf(argv, "test");
    if (with_cargo_args)
        for (const char *arg = (const char *)zlistx_first(self->cmd->cargo_args); arg;
             arg = (const char *)zlistx_next(self->cmd->cargo_args))
            zlistx_add_end(argv, (void *)arg);
    return argv;
}

//  `cargo test --no-run --message-format=json`: build, and find the binaries
static int
s_build(s_session_t *self, zlistx_t *errors)
{
    char *report = s_report_path(self, "build");
    zlistx_t *argv = s_cargo_test_argv(self, true);
    tsr_fw_strlist_addf(argv, "--no-run");
    tsr_fw_strlist_addf(argv, "--message-format=json");
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, self->env, &self->build_exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_parse_artifacts(report, self->packages, self->binaries, errors);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

//  The environment of a test binary: what cargo gives it at run time
static zlistx_t *
s_binary_env(const tsr_fw_cargo_binary_t *binary)
{
    zlistx_t *env = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(env, "RUSTC_BOOTSTRAP=1"); //  for --format json: see the header
    tsr_fw_strlist_addf(env, "CARGO_MANIFEST_DIR=%s", binary->manifest_dir);
    tsr_fw_strlist_addf(env, "CARGO_PKG_NAME=%s", binary->package);
    tsr_fw_strlist_addf(env, "CARGO_PKG_VERSION=%s", binary->version);
    char *crate_name = strdup(binary->target);
    assert(crate_name);
    for (char *scan = crate_name; *scan; scan++)
        if (*scan == '-')
            *scan = '_';
    tsr_fw_strlist_addf(env, "CARGO_CRATE_NAME=%s", crate_name);
    free(crate_name);
    return env;
}

static int
s_list_binary(s_session_t *self, const tsr_fw_cargo_binary_t *binary, zlistx_t *test_ids)
{
    char *report = s_report_path(self, "list");
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(argv, "%s", binary->executable);
    tsr_fw_strlist_addf(argv, "--list");
    tsr_fw_strlist_addf(argv, "--format");
    tsr_fw_strlist_addf(argv, "json");
    tsr_fw_strlist_addf(argv, "-Z");
    tsr_fw_strlist_addf(argv, "unstable-options");
    tsr_fw_cargo_cmd_add_test_args(self->cmd, argv, 0);
    for (const char *filter = (const char *)zlistx_first(self->cmd->filters); filter;
         filter = (const char *)zlistx_next(self->cmd->filters))
        zlistx_add_end(argv, (void *)filter);
    zlistx_t *env = s_binary_env(binary);
    int exit_code;
    int rc = tsr_fw_exec(self->ctx, argv, binary->manifest_dir, report, env, &exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_parse_list(report, binary->id, test_ids);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

//  `cargo test --doc -p PKG [cargo args] -- -Z unstable-options --format json
//  [more]`: a new string list
static zlistx_t *
s_doc_argv(s_session_t *self, const char *package)
{
    zlistx_t *argv = s_cargo_test_argv(self, false);
    tsr_fw_strlist_addf(argv, "--doc");
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "%s", package);
    tsr_fw_cargo_cmd_add_doc_args(self->cmd, argv);
    tsr_fw_strlist_addf(argv, "--");
    tsr_fw_strlist_addf(argv, "-Z");
    tsr_fw_strlist_addf(argv, "unstable-options");
    tsr_fw_strlist_addf(argv, "--format");
    tsr_fw_strlist_addf(argv, "json");
    return argv;
}

//  cargo's environment plus RUSTC_BOOTSTRAP=1 for rustdoc's test harness
static zlistx_t *
s_doc_env(s_session_t *self)
{
    zlistx_t *env = zlistx_dup(self->env);
    tsr_fw_strlist_addf(env, "RUSTC_BOOTSTRAP=1");
    return env;
}

//  Packages whose doctests the command runs: those with test binaries built
//  (or, with --doc, those named by -p, else the default members), if their
//  library has doctests. Appends package names to `names`.
static void
s_doctest_packages(s_session_t *self, zlistx_t *names)
{
    zlistx_t *candidates = tsr_fw_strlist_new();
    if (!self->cmd->doc_only) {
        for (const tsr_fw_cargo_binary_t *binary =
                 (const tsr_fw_cargo_binary_t *)zlistx_first(self->binaries);
             binary; binary = (const tsr_fw_cargo_binary_t *)zlistx_next(self->binaries))
            zlistx_add_end(candidates, binary->package);
    } else {
        bool take_next = false;
        for (const char *arg = (const char *)zlistx_first(self->cmd->cargo_args); arg;
             arg = (const char *)zlistx_next(self->cmd->cargo_args)) {
            if (take_next)
                zlistx_add_end(candidates, (void *)arg);
            take_next = streq(arg, "-p") || streq(arg, "--package");
            if (strncmp(arg, "--package=", 10) == 0)
                zlistx_add_end(candidates, (void *)(arg + 10));
        }
        if (zlistx_size(candidates) == 0)
            for (const char *member = (const char *)zlistx_first(self->default_members); member;
                 member = (const char *)zlistx_next(self->default_members)) {
                const tsr_fw_cargo_package_t *package =
                    (const tsr_fw_cargo_package_t *)zhashx_lookup(self->packages, member);
                if (package)
                    zlistx_add_end(candidates, package->name);
            }
    }
    for (const tsr_fw_cargo_package_t *package =
             (const tsr_fw_cargo_package_t *)zhashx_first(self->packages);
         package; package = (const tsr_fw_cargo_package_t *)zhashx_next(self->packages))
        if (package->doctests && tsr_fw_strlist_has(candidates, package->name) &&
            !tsr_fw_strlist_has(names, package->name))
            zlistx_add_end(names, package->name);
    zlistx_destroy(&candidates);
    tsr_list_sort_strings(names);
}

static int
s_list_doctests(s_session_t *self, const char *package, zlistx_t *test_ids)
{
    char *report = s_report_path(self, "doclist");
    zlistx_t *argv = s_doc_argv(self, package);
    tsr_fw_strlist_addf(argv, "--list");
    tsr_fw_cargo_cmd_add_test_args(self->cmd, argv, 0);
    for (const char *filter = (const char *)zlistx_first(self->cmd->filters); filter;
         filter = (const char *)zlistx_next(self->cmd->filters))
        zlistx_add_end(argv, (void *)filter);
    zlistx_t *env = s_doc_env(self);
    int exit_code;
    size_t count = 0;
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, env, &exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_count_listed(report, &count);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    if (rc == TSR_OK && count > 0)
        tsr_fw_strlist_addf(test_ids, "%s::doctests", package);
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

static int
s_list(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, zlistx_t *errors)
{
    assert(ctx);
    assert(test_ids);
    assert(errors);
    s_session_t *self = NULL;
    int rc = s_session_new(ctx, &self);
    if (rc == TSR_OK)
        rc = s_load_metadata(self);
    if (rc == TSR_OK && !self->cmd->doc_only)
        rc = s_build(self, errors);
    zlistx_t *found = tsr_fw_strlist_new();
    for (const tsr_fw_cargo_binary_t *binary =
             rc == TSR_OK ? (const tsr_fw_cargo_binary_t *)zlistx_first(self->binaries) : NULL;
         binary && rc == TSR_OK;
         binary = (const tsr_fw_cargo_binary_t *)zlistx_next(self->binaries)) {
        rc = s_list_binary(self, binary, found);
        if (rc == TSR_EPARSE) {
            //  This binary cannot list its tests (not libtest?): its own error
            zlistx_add_end(errors, binary->id);
            rc = TSR_OK;
        }
    }
    if (rc == TSR_OK && self->cmd->doctests) {
        zlistx_t *packages = tsr_fw_strlist_new();
        s_doctest_packages(self, packages);
        for (const char *package = (const char *)zlistx_first(packages); package && rc == TSR_OK;
             package = (const char *)zlistx_next(packages))
            rc = s_list_doctests(self, package, found);
        zlistx_destroy(&packages);
    }
    if (rc == TSR_OK)
        for (char *id = (char *)zlistx_first(found); id; id = (char *)zlistx_next(found))
            zlistx_add_end(test_ids, id);
    zlistx_destroy(&found);
    s_session_destroy(&self);
    return rc;
}

//  Fold an exit code into the shard's: a signal (-1) wins, else the largest
static void
s_merge_exit(int *shard_exit, int exit_code)
{
    if (*shard_exit == -1 || exit_code == -1)
        *shard_exit = -1;
    else if (exit_code > *shard_exit)
        *shard_exit = exit_code;
}

static const tsr_fw_cargo_binary_t *
s_find_binary(s_session_t *self, const char *binary_id)
{
    for (const tsr_fw_cargo_binary_t *binary =
             (const tsr_fw_cargo_binary_t *)zlistx_first(self->binaries);
         binary; binary = (const tsr_fw_cargo_binary_t *)zlistx_next(self->binaries))
        if (streq(binary->id, binary_id))
            return binary;
    return NULL;
}

//  The test a dead binary was running gets the blame: TIMED_OUT when it was
//  killed for silence (`rc` TSR_ETIMEOUT), else CRASHED. `duration_ms`: the
//  binary's time the finished tests do not account for.
static void
s_mark_running(const tsr_fw_cargo_binary_t *binary, const char *name, int rc, int exit_code,
               int term_signal, uint64_t duration_ms, tsr_results_t *results)
{
    char *message;
    if (rc == TSR_ETIMEOUT)
        message = zsys_sprintf("timed out: test binary %s wrote nothing for the per-test limit "
                               "while running this test, and was killed",
                               binary->id);
    else if (term_signal != 0)
        message = zsys_sprintf("crashed: test binary %s was killed by signal %d (%s) while "
                               "running this test",
                               binary->id, term_signal, strsignal(term_signal));
    else if (exit_code == -1)
        message = zsys_sprintf("crashed: test binary %s was killed by a signal while running "
                               "this test",
                               binary->id);
    else
        message = zsys_sprintf("crashed: test binary %s exited with code %d while running "
                               "this test",
                               binary->id, exit_code);
    char *id = zsys_sprintf("%s::%s", binary->id, name);
    tsr_results_add(results, id,
                    rc == TSR_ETIMEOUT ? TESSERA__OUTCOME__TIMED_OUT : TESSERA__OUTCOME__CRASHED,
                    duration_ms, message);
    tsr_log_info("cargo test=%s %s", id, rc == TSR_ETIMEOUT ? "timed out" : "crashed");
    zstr_free(&id);
    zstr_free(&message);
}

//  Move the first names of `pending` into a new list, as many as one
//  command line takes (at least one)
static zlistx_t *
s_take_batch(zlistx_t *pending)
{
    zlistx_t *batch = tsr_fw_strlist_new();
    size_t batch_bytes = 0;
    const char *name = (const char *)zlistx_first(pending);
    while (name && (batch_bytes == 0 || batch_bytes + strlen(name) < TSR_CARGO_NAMES_PER_RUN)) {
        zlistx_add_end(batch, (void *)name);
        batch_bytes += strlen(name) + 1;
        zlistx_delete(pending, zlistx_cursor(pending));
        name = (const char *)zlistx_first(pending);
    }
    return batch;
}

//  How one run of a test binary ended
typedef struct {
    int rc;            //  of the exec: TSR_OK, TSR_ETIMEOUT, or an error
    int exit_code;     //  -1: killed by a signal
    int term_signal;   //  0 if none
    uint64_t wall_ms;  //  the binary's run time
    uint64_t tests_ms; //  the finished tests' time
    zlistx_t *running; //  owned names started but not finished, in start order
} s_binary_run_t;

//  Run `binary` once on `batch` (test names): libtest's own threads, or one
//  thread when `serial`; results into `results`.
static void
s_run_batch(s_session_t *self, const tsr_fw_cargo_binary_t *binary, zlistx_t *env, zlistx_t *batch,
            bool serial, tsr_results_t *results, s_binary_run_t *run)
{
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(argv, "%s", binary->executable);
    tsr_fw_strlist_addf(argv, "--exact");
    for (const char *name = (const char *)zlistx_first(batch); name;
         name = (const char *)zlistx_next(batch))
        zlistx_add_end(argv, (void *)name);
    tsr_fw_strlist_addf(argv, "-Z");
    tsr_fw_strlist_addf(argv, "unstable-options");
    tsr_fw_strlist_addf(argv, "--format");
    tsr_fw_strlist_addf(argv, "json");
    tsr_fw_strlist_addf(argv, "--report-time");
    tsr_fw_cargo_cmd_add_test_args(
        self->cmd, argv, TSR_FW_CARGO_DROP_EXACT | (serial ? TSR_FW_CARGO_DROP_THREADS : 0));
    if (serial)
        tsr_fw_strlist_addf(argv, "--test-threads=1");
    char *report = s_report_path(self, "run");
    run->running = tsr_fw_strlist_new();
    size_t before = tsr_results_size(results);
    int64_t started_ms = zclock_mono();
    run->rc = tsr_fw_exec_signal(self->ctx, argv, binary->manifest_dir, report, env,
                                 &run->exit_code, &run->term_signal);
    run->wall_ms = (uint64_t)(zclock_mono() - started_ms);
    if (run->rc == TSR_OK || run->rc == TSR_ETIMEOUT) {
        int parse_rc = tsr_fw_cargo_parse_run(report, binary->id, results, run->running);
        if (parse_rc != TSR_OK && parse_rc != -ENOENT)
            tsr_log_debug("cargo report unreadable binary=%s rc=%s", binary->id,
                          tsr_err_name(parse_rc));
    }
    run->tests_ms = 0;
    for (size_t index = before; index < tsr_results_size(results); index++)
        run->tests_ms += tsr_results_at(results, index)->duration_ms;
    zstr_free(&report);
    zlistx_destroy(&argv);
}

//  Run one binary on `names` (test names, without the binary id), in
//  batches. A binary that dies in a test (libtest's JSON says which tests
//  started without finishing): with one test in flight, that test is marked
//  CRASHED or TIMED_OUT and the binary's other tests are left for the caller
//  to run again; with several in flight (libtest threads), the ones without
//  a result run again on one thread, so the next death names its test. A
//  timeout ends the shard. Returns TSR_OK, TSR_ETIMEOUT, or an error.
static int
s_run_binary(s_session_t *self, const tsr_fw_cargo_binary_t *binary, zlistx_t *names,
             tsr_results_t *results, int *shard_exit)
{
    zlistx_t *env = s_binary_env(binary);
    zlistx_t *pending = zlistx_dup(names);
    bool serial = false; //  one test thread, after a death with several in flight
    int rc = TSR_OK;
    bool stop = false;
    while (!stop && rc == TSR_OK && zlistx_size(pending) > 0) {
        zlistx_t *batch = s_take_batch(pending);
        s_binary_run_t run = {0};
        s_run_batch(self, binary, env, batch, serial, results, &run);
        rc = run.rc;
        if (rc == TSR_OK || rc == TSR_ETIMEOUT)
            s_merge_exit(shard_exit, rc == TSR_OK ? run.exit_code : -1);
        size_t in_flight = zlistx_size(run.running);
        if (in_flight > 0 && (rc == TSR_ETIMEOUT || serial || in_flight == 1)) {
            //  Killed for silence with several in flight: the first started
            //  has been running longest (the others keep writing until done)
            s_mark_running(binary, (const char *)zlistx_first(run.running), rc, run.exit_code,
                           run.term_signal,
                           run.wall_ms > run.tests_ms ? run.wall_ms - run.tests_ms : 0, results);
            stop = true;
        } else if (rc == TSR_OK && in_flight > 1) {
            //  Which of them did it is unknown: again, one thread, first
            tsr_log_info("cargo binary=%s died with %zu tests in flight: running them again "
                         "on one test thread",
                         binary->id, in_flight);
            zlistx_t *again = tsr_fw_strlist_new();
            for (const char *name = (const char *)zlistx_first(batch); name;
                 name = (const char *)zlistx_next(batch)) {
                char *id = zsys_sprintf("%s::%s", binary->id, name);
                if (!tsr_results_find(results, id))
                    zlistx_add_end(again, (void *)name);
                zstr_free(&id);
            }
            for (const char *name = (const char *)zlistx_last(again); name;
                 name = (const char *)zlistx_prev(again))
                zlistx_add_start(pending, (void *)name);
            zlistx_destroy(&again);
            serial = true;
        } else if (rc == TSR_OK && run.exit_code == -1)
            stop = true; //  died outside any test: the caller marks and re-runs the rest
        zlistx_destroy(&run.running);
        zlistx_destroy(&batch);
    }
    zlistx_destroy(&pending);
    zlistx_destroy(&env);
    return rc;
}

static int
s_run_doctests(s_session_t *self, const char *test_id, tsr_results_t *results, int *shard_exit)
{
    char *package = tsr_fw_cargo_group(test_id);
    char *report = s_report_path(self, "docrun");
    zlistx_t *argv = s_doc_argv(self, package);
    tsr_fw_strlist_addf(argv, "--report-time");
    tsr_fw_cargo_cmd_add_test_args(self->cmd, argv, TSR_FW_CARGO_DROP_EXACT);
    zlistx_t *env = s_doc_env(self);
    int exit_code;
    int64_t started_ms = zclock_mono();
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, env, &exit_code);
    if (rc == TSR_OK) {
        int parse_rc = tsr_fw_cargo_parse_doctests(report, test_id, exit_code,
                                                   (uint64_t)(zclock_mono() - started_ms), results);
        if (parse_rc != TSR_OK)
            tsr_log_debug("cargo doctest report unreadable package=%s rc=%s", package,
                          tsr_err_name(parse_rc));
        s_merge_exit(shard_exit, exit_code);
    } else if (rc == TSR_ETIMEOUT) {
        //  The doctests are one unit: that unit hung
        char *message = zsys_sprintf("timed out: cargo test --doc -p %s wrote nothing for the "
                                     "per-test limit, and was killed",
                                     package);
        tsr_results_add(results, test_id, TESSERA__OUTCOME__TIMED_OUT,
                        (uint64_t)(zclock_mono() - started_ms), message);
        zstr_free(&message);
        s_merge_exit(shard_exit, -1);
    }
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&report);
    zstr_free(&package);
    return rc;
}

static void
s_names_destroy(void **item_p)
{
    zlistx_destroy((zlistx_t **)item_p);
}

static int
s_run(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, tsr_results_t *results, int *exit_code)
{
    assert(ctx);
    assert(test_ids);
    assert(results);
    assert(exit_code);
    *exit_code = 0;
    //  Group the ids by binary (or doctest package), in order of appearance
    zlistx_t *groups = tsr_fw_strlist_new();
    zhashx_t *names_by_group = zhashx_new();
    zhashx_set_destructor(names_by_group, s_names_destroy);
    bool needs_binaries = false;
    for (const char *id = (const char *)zlistx_first(test_ids); id;
         id = (const char *)zlistx_next(test_ids)) {
        char *group = tsr_fw_cargo_group(id);
        zlistx_t *names = (zlistx_t *)zhashx_lookup(names_by_group, group);
        if (!names) {
            names = tsr_fw_strlist_new();
            zhashx_insert(names_by_group, group, names);
            zlistx_add_end(groups, group);
        }
        zlistx_add_end(names, (void *)(id + strlen(group) + (id[strlen(group)] ? 2 : 0)));
        if (strchr(group, '/'))
            needs_binaries = true;
        free(group);
    }
    s_session_t *self = NULL;
    int rc = s_session_new(ctx, &self);
    if (rc == TSR_OK && needs_binaries) {
        rc = s_load_metadata(self);
        if (rc == TSR_OK) {
            //  Unreadable build output: no binaries, so their ids report ERROR
            rc = s_build(self, NULL);
            if (rc == TSR_EPARSE)
                rc = TSR_OK;
        }
    }
    for (const char *group = rc == TSR_OK ? (const char *)zlistx_first(groups) : NULL;
         group && rc == TSR_OK; group = (const char *)zlistx_next(groups)) {
        zlistx_t *names = (zlistx_t *)zhashx_lookup(names_by_group, group);
        if (!strchr(group, '/')) {
            char *test_id = zsys_sprintf("%s::doctests", group);
            rc = s_run_doctests(self, test_id, results, exit_code);
            zstr_free(&test_id);
        } else {
            const tsr_fw_cargo_binary_t *binary = s_find_binary(self, group);
            if (binary)
                rc = s_run_binary(self, binary, names, results, exit_code);
            else {
                //  Not built (a compile error, a target gone): definitive, not a crash
                char *message = zsys_sprintf("test binary %s was not built (cargo test "
                                             "--no-run exited with %d)",
                                             group, self->build_exit_code);
                for (const char *name = (const char *)zlistx_first(names); name;
                     name = (const char *)zlistx_next(names)) {
                    char *id = zsys_sprintf("%s::%s", group, name);
                    tsr_results_add(results, id, TESSERA__OUTCOME__ERROR, 0, message);
                    zstr_free(&id);
                }
                zstr_free(&message);
                s_merge_exit(exit_code, self->build_exit_code ? self->build_exit_code : 1);
            }
        }
    }
    if (rc == TSR_ETIMEOUT) {
        *exit_code = -1; //  killed: what finished is reported; the caller re-runs the rest
        rc = TSR_OK;
    }
    s_session_destroy(&self);
    zhashx_destroy(&names_by_group);
    zlistx_destroy(&groups);
    return rc;
}

const tsr_framework_t tsr_fw_cargo_entry = {
    .name = "cargo",
    .list = s_list,
    .run = s_run,
    .group = tsr_fw_cargo_group,
};
