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
    if (rc == TSR_OK && (*cmd_out)->runner == TSR_FW_NPM_VITEST)
        rc = TSR_ECONFIG; //  TODO(#4): vitest (`vitest list --json`, its JSON reporter)
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

//  Write a launcher's request: a JSON array of `args`, or with `files` (may
//  be NULL) {"args": [...], "files": [...]|null}
static int
s_write_request(const char *path, zlistx_t *args, zlistx_t *files, bool with_files)
{
    cJSON *args_json = cJSON_CreateArray();
    for (const char *arg = (const char *)zlistx_first(args); arg;
         arg = (const char *)zlistx_next(args))
        cJSON_AddItemToArray(args_json, cJSON_CreateString(arg));
    cJSON *request = args_json;
    if (with_files) {
        request = cJSON_CreateObject();
        cJSON_AddItemToObject(request, "args", args_json);
        cJSON *files_json = files ? cJSON_CreateArray() : cJSON_CreateNull();
        for (const char *file = files ? (const char *)zlistx_first(files) : NULL; file;
             file = (const char *)zlistx_next(files))
            cJSON_AddItemToArray(files_json, cJSON_CreateString(file));
        cJSON_AddItemToObject(request, "files", files_json);
    }
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
    zlistx_t *argv;        //  owned strings: the command to run
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
    } else {
        rc = s_write_script(ctx, "tsr_mocha_reporter.js", tsr_fw_npm_mocha_reporter,
                            &self->reporter_path);
        if (rc == TSR_OK)
            rc = s_write_script(ctx, "tsr_mocha.js", tsr_fw_npm_mocha_launcher, &launcher_path);
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
        rc = s_write_request(self->request_path, args, NULL, false);
        if (rc == TSR_OK)
            rc = tsr_fw_exec(ctx, self->argv, NULL, list_path, self->env, &exit_code);
        if (rc == TSR_OK)
            rc = tsr_fw_npm_parse_file_list(list_path, ctx->workdir, test_ids);
        if (rc == -ENOENT)
            rc = TSR_EPARSE;
        zstr_free(&list_path);
    } else {
        //  A dry run (mocha >= 9) reports every test, and so their files
        s_add_args(args, self->cmd->args, s_mocha_owned, s_mocha_value_options, false);
        tsr_fw_strlist_addf(args, "--dry-run");
        tsr_fw_strlist_addf(args, "--reporter");
        tsr_fw_strlist_addf(args, "%s", self->reporter_path);
        rc = s_write_request(self->request_path, args, NULL, true);
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
    zlistx_t *args = tsr_fw_strlist_new();
    if (self->cmd->runner == TSR_FW_NPM_NODE) {
        s_add_args(self->argv, self->cmd->args, s_node_owned, s_node_owned, true);
        tsr_fw_strlist_addf(self->argv, "--test-reporter=%s", self->reporter_path);
        tsr_fw_strlist_addf(self->argv, "--test-reporter-destination=%s", self->events_path);
        tsr_fw_strlist_addf(self->argv, "--test-reporter=spec");
        tsr_fw_strlist_addf(self->argv, "--test-reporter-destination=stdout");
        for (const char *file = (const char *)zlistx_first(files); file;
             file = (const char *)zlistx_next(files))
            zlistx_add_end(self->argv, (void *)file);
    } else if (self->cmd->runner == TSR_FW_NPM_JEST) {
        s_add_args(args, self->cmd->args, s_jest_owned, s_jest_value_options, false);
        tsr_fw_strlist_addf(args, "--reporters=default");
        tsr_fw_strlist_addf(args, "--reporters=%s", self->reporter_path);
        //  Paths, not patterns; the user's own patterns then match nothing extra
        tsr_fw_strlist_addf(args, "--runTestsByPath");
        for (const char *file = (const char *)zlistx_first(files); file;
             file = (const char *)zlistx_next(files))
            zlistx_add_end(args, (void *)file);
        rc = s_write_request(self->request_path, args, NULL, false);
    } else {
        s_add_args(args, self->cmd->args, s_mocha_owned, s_mocha_value_options, false);
        tsr_fw_strlist_addf(args, "--reporter");
        tsr_fw_strlist_addf(args, "%s", self->reporter_path);
        rc = s_write_request(self->request_path, args, files, true);
    }
    if (rc == TSR_OK)
        rc = tsr_fw_exec(ctx, self->argv, NULL, NULL, self->env, exit_code);
    if (rc == TSR_ETIMEOUT) {
        *exit_code = -1; //  killed: what finished is reported; the caller re-runs the rest
        rc = TSR_OK;
    }
    if (rc == TSR_OK) {
        int parse_rc = tsr_fw_npm_parse_events(self->events_path, ctx->workdir, results);
        if (parse_rc != TSR_OK && parse_rc != -ENOENT)
            tsr_log_debug("npm report unreadable rc=%s", tsr_err_name(parse_rc));
    }
    zlistx_destroy(&args);
    zlistx_destroy(&files);
    s_session_destroy(&self);
    return rc;
}

const tsr_framework_t tsr_fw_npm_entry = {
    .name = "npm",
    .list = s_list,
    .run = s_run,
    .group = tsr_fw_npm_group,
};
