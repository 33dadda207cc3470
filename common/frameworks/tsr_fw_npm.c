/*  tsr_fw_npm - the npm adapter's procedures (ids, runners and reports: see
    tsr_fw_npm.h): list and run through the ctx, on an agent worker thread.
    The command and the reports are read in tsr_fw_npm_parse.c; the scripts
    we write are in tsr_fw_npm_scripts.c.                                   */
#include "tsr_fw_io.h"
#include "tsr_fw_npm.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Largest package.json we read
#define TSR_NPM_PACKAGE_MAX (16u << 20)

//  Options of the runners we set ourselves (with their values): the user's
//  would clash with ours or undo the shard
static const char *const s_node_owned[] = {"--test-reporter", "--test-reporter-destination",
                                           "--test-shard", NULL};
static const char *const s_jest_owned[] = {"--shard", "--outputFile", "--json", "--listTests",
                                           "--watch", "--watchAll",   NULL};
static const char *const s_jest_value_options[] = {"--shard", "--outputFile", NULL};
static const char *const s_mocha_owned[] = {
    "--reporter", "-R", "--reporter-option", "--reporter-options", "-O", "--parallel", "-p", NULL};
static const char *const s_mocha_value_options[] = {"--reporter",         "-R", "--reporter-option",
                                                    "--reporter-options", "-O", NULL};
static const char *const s_vitest_owned[] = {"--reporter",  "--outputFile", "--shard", "--json",
                                             "--filesOnly", "--watch",      "-w",      NULL};
static const char *const s_vitest_value_options[] = {"--reporter", "--outputFile", "--shard", NULL};

//  Resumed runs of one shard, at most (each excludes at least one more test)
#define TSR_NPM_MAX_ROUNDS 256

//  `arg` is one of `names`, alone or as "name=value"
static bool
s_option_in(const char *arg, const char *const *names)
{
    for (size_t index = 0; names[index]; index++) {
        size_t length = strlen(names[index]);
        if (strncmp(arg, names[index], length) == 0 && (arg[length] == '\0' || arg[length] == '='))
            return true;
    }
    return false;
}

static bool
s_option_is(const char *arg, const char *const *names)
{
    for (size_t index = 0; names[index]; index++)
        if (streq(arg, names[index]))
            return true;
    return false;
}

//  Append `args` to `argv` without the options in `owned` (and the next
//  argument after those in `value_options`); for node, without path
//  arguments either (`drop_paths`)
static void
s_add_args(zlistx_t *argv, zlistx_t *args, const char *const *owned,
           const char *const *value_options, bool drop_paths)
{
    bool skip_value = false;
    bool keep_value = false;
    for (const char *arg = (const char *)zlistx_first(args); arg;
         arg = (const char *)zlistx_next(args)) {
        if (skip_value) {
            skip_value = false;
            continue;
        }
        if (keep_value) {
            keep_value = false;
            zlistx_add_end(argv, (void *)arg);
            continue;
        }
        if (s_option_in(arg, owned)) {
            skip_value = s_option_is(arg, value_options);
            continue;
        }
        if (drop_paths && arg[0] != '-')
            continue;
        if (drop_paths)
            keep_value = tsr_fw_npm_node_option_takes_value(arg);
        zlistx_add_end(argv, (void *)arg);
    }
}

//  The runner of the user's command (reading the workdir's package.json)
static int
s_load_cmd(tsr_fw_ctx_t *ctx, tsr_fw_npm_cmd_t **cmd_out)
{
    char *package_path = zsys_sprintf("%s/package.json", ctx->workdir);
    char *package_json = NULL;
    int rc = tsr_fw_file_read(package_path, TSR_NPM_PACKAGE_MAX, &package_json);
    if (rc != TSR_OK && rc != -ENOENT) {
        zstr_free(&package_path);
        return rc;
    }
    rc = tsr_fw_npm_cmd_parse(ctx->argv, package_json, cmd_out);
    if (rc == TSR_OK && (*cmd_out)->runner == TSR_FW_NPM_VITEST) {
        //  vitest's other commands (related, bench, list, init) are no test runs
        const char *first = (const char *)zlistx_first((*cmd_out)->args);
        if (first && (streq(first, "related") || streq(first, "bench") || streq(first, "list") ||
                      streq(first, "init") || streq(first, "typecheck")))
            rc = TSR_ECONFIG;
    }
    if (rc != TSR_OK)
        tsr_fw_npm_cmd_destroy(cmd_out);
    free(package_json);
    zstr_free(&package_path);
    return rc;
}

//  Write one of our scripts into the scratch directory; *path_out is the
//  caller's
static int
s_write_script(tsr_fw_ctx_t *ctx, const char *name, const char *source, char **path_out)
{
    *path_out = tsr_fw_scratch_path(ctx, name);
    return tsr_fw_file_write(*path_out, source);
}

//  Add a JSON array of `list` (NULL: null) to `object` as `name`
static void
s_add_strings(cJSON *object, const char *name, zlistx_t *list)
{
    cJSON *array = list ? cJSON_CreateArray() : cJSON_CreateNull();
    for (const char *item = list ? (const char *)zlistx_first(list) : NULL; item;
         item = (const char *)zlistx_next(list))
        cJSON_AddItemToArray(array, cJSON_CreateString(item));
    cJSON_AddItemToObject(object, name, array);
}

//  Write a launcher's request: {"mode", "args", "files", "exclude",
//  "output", "reporter"} (lists and strings may be NULL: null)
static int
s_write_request(const char *path, const char *mode, zlistx_t *args, zlistx_t *files,
                zlistx_t *exclude, const char *output, const char *reporter)
{
    cJSON *request = cJSON_CreateObject();
    cJSON_AddItemToObject(request, "mode", cJSON_CreateString(mode));
    s_add_strings(request, "args", args);
    s_add_strings(request, "files", files);
    s_add_strings(request, "exclude", exclude);
    cJSON_AddItemToObject(request, "output",
                          output ? cJSON_CreateString(output) : cJSON_CreateNull());
    cJSON_AddItemToObject(request, "reporter",
                          reporter ? cJSON_CreateString(reporter) : cJSON_CreateNull());
    char *text = cJSON_PrintUnformatted(request);
    assert(text);
    int rc = tsr_fw_file_write(path, text);
    cJSON_free(text);
    cJSON_Delete(request);
    return rc;
}

//  Everything one list or run needs
typedef struct {
    tsr_fw_ctx_t *ctx;     //  borrowed
    tsr_fw_npm_cmd_t *cmd; //  owned
    char *request_path;    //  owned: the launchers' arguments
    char *events_path;     //  owned: our reporters' lines
    char *reporter_path;   //  owned: the runner's reporter script
    zlistx_t *argv;        //  owned strings: the command to run (node [LAUNCHER])
    zlistx_t *env;         //  owned strings
} s_session_t;

static void
s_session_destroy(s_session_t **self_p)
{
    s_session_t *self = *self_p;
    if (!self)
        return;
    tsr_fw_npm_cmd_destroy(&self->cmd);
    zstr_free(&self->request_path);
    zstr_free(&self->events_path);
    zstr_free(&self->reporter_path);
    zlistx_destroy(&self->argv);
    zlistx_destroy(&self->env);
    free(self);
    *self_p = NULL;
}

//  A session with the runner's reporter written and, for jest and mocha,
//  the launcher as the command (argv: node LAUNCHER)
static int
s_session_new(tsr_fw_ctx_t *ctx, s_session_t **self_out)
{
    *self_out = NULL;
    tsr_fw_npm_cmd_t *cmd = NULL;
    int rc = s_load_cmd(ctx, &cmd);
    if (rc != TSR_OK)
        return rc;
    s_session_t *self = (s_session_t *)zmalloc(sizeof *self);
    self->ctx = ctx;
    self->cmd = cmd;
    self->request_path = tsr_fw_scratch_path(ctx, "npm-request.json");
    self->events_path = tsr_fw_scratch_path(ctx, "npm-events.jsonl");
    unlink(self->events_path);
    self->argv = tsr_fw_strlist_new();
    self->env = zlistx_dup(cmd->env);
    tsr_fw_strlist_addf(self->env, "TSR_NPM_ARGS=%s", self->request_path);
    tsr_fw_strlist_addf(self->env, "TSR_NPM_EVENTS=%s", self->events_path);
    tsr_fw_strlist_addf(self->argv, "%s", cmd->node);
    char *launcher_path = NULL;
    if (cmd->runner == TSR_FW_NPM_NODE)
        rc = s_write_script(ctx, "tsr_node_reporter.mjs", tsr_fw_npm_node_reporter,
                            &self->reporter_path);
    else if (cmd->runner == TSR_FW_NPM_JEST) {
        rc = s_write_script(ctx, "tsr_jest_reporter.js", tsr_fw_npm_jest_reporter,
                            &self->reporter_path);
        if (rc == TSR_OK)
            rc = s_write_script(ctx, "tsr_jest.js", tsr_fw_npm_jest_launcher, &launcher_path);
    } else if (cmd->runner == TSR_FW_NPM_MOCHA) {
        rc = s_write_script(ctx, "tsr_mocha_reporter.js", tsr_fw_npm_mocha_reporter,
                            &self->reporter_path);
        if (rc == TSR_OK)
            rc = s_write_script(ctx, "tsr_mocha.js", tsr_fw_npm_mocha_launcher, &launcher_path);
    } else {
        char *setup_path = NULL;
        rc = s_write_script(ctx, "tsr_vitest_reporter.mjs", tsr_fw_npm_vitest_reporter,
                            &self->reporter_path);
        if (rc == TSR_OK)
            rc = s_write_script(ctx, "tsr_vitest_setup.mjs", tsr_fw_npm_vitest_setup, &setup_path);
        if (rc == TSR_OK)
            rc = s_write_script(ctx, "tsr_vitest.mjs", tsr_fw_npm_vitest_launcher, &launcher_path);
        if (setup_path)
            tsr_fw_strlist_addf(self->env, "TSR_NPM_VITEST_SETUP=%s", setup_path);
        zstr_free(&setup_path);
    }
    if (launcher_path)
        zlistx_add_end(self->argv, launcher_path);
    zstr_free(&launcher_path);
    if (rc == TSR_OK)
        *self_out = self;
    else
        s_session_destroy(&self);
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
    if (rc != TSR_OK)
        return rc;
    zlistx_t *args = tsr_fw_strlist_new();
    int exit_code;
    if (self->cmd->runner == TSR_FW_NPM_NODE)
        //  node 20 cannot list: apply its file rules ourselves
        rc = tsr_fw_npm_node_test_files(ctx->workdir, self->cmd->args, test_ids);
    else if (self->cmd->runner == TSR_FW_NPM_JEST) {
        char *list_path = tsr_fw_scratch_path(ctx, "npm-list.json");
        unlink(list_path);
        s_add_args(args, self->cmd->args, s_jest_owned, s_jest_value_options, false);
        tsr_fw_strlist_addf(args, "--listTests");
        tsr_fw_strlist_addf(args, "--json");
        rc = s_write_request(self->request_path, "list", args, NULL, NULL, NULL, NULL);
        if (rc == TSR_OK)
            rc = tsr_fw_exec(ctx, self->argv, NULL, list_path, self->env, &exit_code);
        if (rc == TSR_OK)
            rc = tsr_fw_npm_parse_file_list(list_path, ctx->workdir, test_ids);
        if (rc == -ENOENT)
            rc = TSR_EPARSE;
        zstr_free(&list_path);
    } else if (self->cmd->runner == TSR_FW_NPM_VITEST) {
        char *list_path = tsr_fw_scratch_path(ctx, "npm-list.json");
        unlink(list_path);
        s_add_args(args, self->cmd->args, s_vitest_owned, s_vitest_value_options, false);
        rc = s_write_request(self->request_path, "list", args, NULL, NULL, list_path, NULL);
        if (rc == TSR_OK)
            rc = tsr_fw_exec(ctx, self->argv, NULL, NULL, self->env, &exit_code);
        if (rc == TSR_OK)
            rc = tsr_fw_npm_parse_vitest_list(list_path, ctx->workdir, test_ids);
        if (rc == -ENOENT)
            rc = TSR_EPARSE; //  it did not list: see the shard log
        zstr_free(&list_path);
    } else {
        //  A dry run (mocha >= 9) reports every test, and so their files
        s_add_args(args, self->cmd->args, s_mocha_owned, s_mocha_value_options, false);
        tsr_fw_strlist_addf(args, "--dry-run");
        tsr_fw_strlist_addf(args, "--reporter");
        tsr_fw_strlist_addf(args, "%s", self->reporter_path);
        rc = s_write_request(self->request_path, "list", args, NULL, NULL, NULL, NULL);
        if (rc == TSR_OK)
            rc = tsr_fw_exec(ctx, self->argv, NULL, NULL, self->env, &exit_code);
        if (rc == TSR_OK && exit_code != 0)
            rc = TSR_EPARSE; //  a spec that does not load: see the shard log
        if (rc == TSR_OK)
            rc = tsr_fw_npm_parse_event_files(self->events_path, ctx->workdir, test_ids);
        if (rc == -ENOENT)
            rc = TSR_OK; //  no test at all
    }
    zlistx_destroy(&args);
    s_session_destroy(&self);
    return rc;
}

//  A zhashx set of the strings of `list` (borrowed keys); NULL for NULL
static zhashx_t *
s_set_of(zlistx_t *list)
{
    if (!list)
        return NULL;
    zhashx_t *set = zhashx_new();
    for (const char *item = (const char *)zlistx_first(list); item;
         item = (const char *)zlistx_next(list))
        zhashx_update(set, item, (void *)item);
    return set;
}

static void
s_strlist_free(void **item_p)
{
    zlistx_destroy((zlistx_t **)item_p);
}

//  One runner process over `files`, without the tests whose full names are
//  in `exclude` (may be NULL); its results go to `results`. The files it
//  died in, with tests left to run, are appended to `resume` and their
//  reported tests to `exclusions` (file -> zlistx of full names).
static int
s_round(s_session_t *self, zlistx_t *files, zlistx_t *exclude, zhashx_t *only,
        tsr_results_t *results, zhashx_t *exclusions, zlistx_t *resume, int *exit_code)
{
    tsr_fw_ctx_t *ctx = self->ctx;
    zlistx_t *argv = zlistx_dup(self->argv);
    zlistx_t *args = tsr_fw_strlist_new();
    int rc = TSR_OK;
    if (self->cmd->runner == TSR_FW_NPM_NODE) {
        s_add_args(argv, self->cmd->args, s_node_owned, s_node_owned, true);
        tsr_fw_strlist_addf(argv, "--test-reporter=%s", self->reporter_path);
        tsr_fw_strlist_addf(argv, "--test-reporter-destination=%s", self->events_path);
        tsr_fw_strlist_addf(argv, "--test-reporter=spec");
        tsr_fw_strlist_addf(argv, "--test-reporter-destination=stdout");
        for (const char *file = (const char *)zlistx_first(files); file;
             file = (const char *)zlistx_next(files))
            zlistx_add_end(argv, (void *)file);
    } else if (self->cmd->runner == TSR_FW_NPM_JEST) {
        s_add_args(args, self->cmd->args, s_jest_owned, s_jest_value_options, false);
        tsr_fw_strlist_addf(args, "--reporters=default");
        tsr_fw_strlist_addf(args, "--reporters=%s", self->reporter_path);
        //  Paths, not patterns; the user's own patterns then match nothing extra
        tsr_fw_strlist_addf(args, "--runTestsByPath");
        for (const char *file = (const char *)zlistx_first(files); file;
             file = (const char *)zlistx_next(files))
            zlistx_add_end(args, (void *)file);
        rc = s_write_request(self->request_path, "run", args, NULL, exclude, NULL, NULL);
    } else if (self->cmd->runner == TSR_FW_NPM_MOCHA) {
        s_add_args(args, self->cmd->args, s_mocha_owned, s_mocha_value_options, false);
        tsr_fw_strlist_addf(args, "--reporter");
        tsr_fw_strlist_addf(args, "%s", self->reporter_path);
        rc = s_write_request(self->request_path, "run", args, files, exclude, NULL, NULL);
    } else {
        s_add_args(args, self->cmd->args, s_vitest_owned, s_vitest_value_options, false);
        rc = s_write_request(self->request_path, "run", args, files, exclude, NULL,
                             self->reporter_path);
    }
    unlink(self->events_path);
    bool timed_out = false;
    int term_signal = 0;
    if (rc == TSR_OK)
        rc = tsr_fw_exec_signal(ctx, argv, NULL, NULL, self->env, exit_code, &term_signal);
    if (rc == TSR_ETIMEOUT) {
        *exit_code = -1; //  killed: what finished is reported
        timed_out = true;
        rc = TSR_OK;
    }
    tsr_fw_npm_report_t *report = NULL;
    int read_rc =
        rc == TSR_OK ? tsr_fw_npm_report_read(self->events_path, ctx->workdir, &report) : rc;
    if (rc == TSR_OK && read_rc != TSR_OK && read_rc != -ENOENT)
        tsr_log_debug("npm report unreadable rc=%s", tsr_err_name(read_rc));
    if (report) {
        tsr_fw_npm_end_t end = {
            .timed_out = timed_out, .exit_code = *exit_code, .term_signal = term_signal};
        zhashx_t *skip = s_set_of(exclude);
        zlistx_t *died_in = tsr_fw_strlist_new();
        tsr_fw_npm_report_account(report, &end, skip, only, results, died_in);
        for (const char *file = (const char *)zlistx_first(died_in); file;
             file = (const char *)zlistx_next(died_in)) {
            zlistx_t *names = (zlistx_t *)zhashx_lookup(exclusions, file);
            if (!names) {
                names = tsr_fw_strlist_new();
                zhashx_insert(exclusions, file, names);
            }
            size_t before = zlistx_size(names);
            zlistx_t *done = tsr_fw_strlist_new();
            tsr_fw_npm_report_done(report, file, done);
            for (const char *name = (const char *)zlistx_first(done); name;
                 name = (const char *)zlistx_next(done))
                if (!tsr_fw_strlist_has(names, name))
                    zlistx_add_end(names, (void *)name);
            zlistx_destroy(&done);
            //  Resume only what got further: the test it died in is then excluded
            if (zlistx_size(names) > before && !tsr_fw_strlist_has(resume, file))
                zlistx_add_end(resume, (void *)file);
        }
        zlistx_destroy(&died_in);
        zhashx_destroy(&skip);
    }
    tsr_fw_npm_report_destroy(&report);
    zlistx_destroy(&args);
    zlistx_destroy(&argv);
    return rc;
}

static int
s_run(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, tsr_results_t *results, int *exit_code)
{
    assert(ctx);
    assert(test_ids);
    assert(results);
    assert(exit_code);
    *exit_code = -1;
    s_session_t *self = NULL;
    int rc = s_session_new(ctx, &self);
    if (rc != TSR_OK)
        return rc;
    //  The shard's files, in order, once each
    zlistx_t *files = tsr_fw_strlist_new();
    for (const char *id = (const char *)zlistx_first(test_ids); id;
         id = (const char *)zlistx_next(test_ids)) {
        char *file = tsr_fw_npm_group(id);
        if (!tsr_fw_strlist_has(files, file))
            zlistx_add_end(files, file);
        free(file);
    }
    //  vitest's file arguments are prefixes: keep to the files asked for
    zhashx_t *only = self->cmd->runner == TSR_FW_NPM_VITEST ? s_set_of(files) : NULL;
    zhashx_t *exclusions = zhashx_new();
    zhashx_set_destructor(exclusions, s_strlist_free);
    zlistx_t *resume = tsr_fw_strlist_new();
    rc = s_round(self, files, NULL, only, results, exclusions, resume, exit_code);
    //  The rest of each file a test died in, without the tests reported
    //  (node 20 cannot leave tests out by name)
    size_t rounds = 1;
    while (rc == TSR_OK && self->cmd->runner != TSR_FW_NPM_NODE && zlistx_size(resume) > 0 &&
           rounds < TSR_NPM_MAX_ROUNDS) {
        char *file = (char *)zlistx_detach(resume, NULL);
        zlistx_t *one = tsr_fw_strlist_new();
        zlistx_add_end(one, file);
        tsr_log_debug("npm: running the rest of %s", file);
        int round_exit = -1;
        rc = s_round(self, one, (zlistx_t *)zhashx_lookup(exclusions, file), only, results,
                     exclusions, resume, &round_exit);
        rounds++;
        zlistx_destroy(&one);
        free(file);
    }
    zlistx_destroy(&resume);
    zhashx_destroy(&exclusions);
    zhashx_destroy(&only);
    zlistx_destroy(&files);
    s_session_destroy(&self);
    return rc;
}

//  The runner and its packages: installed by `npm ci`, listed in .gitignore
static const char *const s_needs_ignored[] = {"node_modules/", NULL};

const tsr_framework_t tsr_fw_npm_entry = {
    .name = "npm",
    .list = s_list,
    .run = s_run,
    .group = tsr_fw_npm_group,
    .needs_ignored = s_needs_ignored,
};
