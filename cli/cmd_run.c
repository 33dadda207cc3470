/*  cmd_run - `tessera run`: hash, upload, submit, follow, summarise
    The spec comes from tessera.yml (DIR/tessera.yml or --config) or from the
    command after `--`. The workspace DIR is hashed into a tree (ignoring
    .git, DIR/.gitignore but node_modules/ for npm suites, then the spec's
    `ignore:`), the blobs the coordinator
    lacks are uploaded, the run is submitted (idempotent by a client uuid)
    and followed with Watch long polls until it ends; tsr_recap prints the
    end and writes the report files. Exit: 0 passed, 1 failed or cancelled
    (or flaky with --fail-on-flaky), 2 usage/config, 3 infrastructure.    */
#include "tsr_cmd.h"
#include "tsr_framework.h"
#include "tsr_conn.h"
#include "tsr_msg.h"
#include "tsr_output.h"
#include "tsr_progress.h"
#include "tsr_recap.h"
#include "tsr_run_opts.h"
#include "tsr_spec.h"
#include "tsr_submit.h"
#include "tsr_trace.h"
#include "tsr_tree.h"
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Watch long poll: the coordinator holds it up to WAIT; we give it GRACE more.
#define S_WATCH_WAIT_MS 1000
#define S_WATCH_GRACE_MS 4000
#define S_WATCH_RETRIES 3
#define S_SUBMIT_TIMEOUT_MS 10000
#define S_SUBMIT_RETRIES 3

//  Everything one `tessera run` holds.
typedef struct {
    const tsr_cli_t *cli;          //  borrowed
    tsr_run_opts_t opts;           //  parsed argv (strings borrowed from argv)
    tsr_spec_t *spec;              //  owned
    char *workspace;               //  owned; absolute path of DIR
    Tessera__Submit *submit;       //  owned
    tsr_conn_t *conn;              //  owned
    tsr_tree_t *tree;              //  owned; the hashed workspace
    uint64_t uploaded_bytes;       //  file and tree bytes we had to send
    char *run_id;                  //  owned; from Submitted
    tsr_progress_t *progress;      //  owned
    tsr_output_t *output;          //  owned
    Tessera__Envelope *last_reply; //  owned; the WatchReply with done and the summary
} s_run_t;

//  Load tessera.yml, or make a spec from the command after `--`.
static int
s_load_spec(s_run_t *run)
{
    run->spec = tsr_spec_new();
    if (run->opts.command_argc > 0) {
        if (tsr_spec_add_command(run->spec, NULL, run->opts.command_argc, run->opts.command_argv) !=
            TSR_OK)
            return tsr_cmd_usage_error(&tsr_cmd_run_entry, "empty command after '--'");
        return TSR_EXIT_OK;
    }
    char *default_path = NULL;
    const char *path = run->opts.config;
    if (!path) {
        default_path = strcmp(run->opts.dir, ".") == 0
                           ? strdup("tessera.yml")
                           : zsys_sprintf("%s/tessera.yml", run->opts.dir);
        path = default_path;
        if (access(path, F_OK) != 0) {
            fprintf(stderr,
                    "tessera run: no %s: write one (see 'tessera validate'), or give a command: "
                    "tessera run -- COMMAND ARGS...\n",
                    path);
            free(default_path);
            return TSR_EXIT_CONFIG;
        }
    }
    char *error = NULL;
    int rc = tsr_spec_load(run->spec, path, &error);
    if (rc != TSR_OK)
        fprintf(stderr, "%s\n", error ? error : tsr_strerror(rc));
    free(error);
    free(default_path);
    return rc == TSR_OK ? TSR_EXIT_OK : TSR_EXIT_CONFIG;
}

//  The Submit without its workspace: jobs selected and overridden.
static int
s_build_submit(s_run_t *run)
{
    char resolved[PATH_MAX];
    if (!realpath(run->opts.dir, resolved)) {
        fprintf(stderr, "tessera run: workspace %s: %s\n", run->opts.dir, strerror(errno));
        return TSR_EXIT_CONFIG;
    }
    run->workspace = strdup(resolved);
    const char *project = tsr_spec_project(run->spec);
    if (!project) {
        const char *slash = strrchr(run->workspace, '/');
        project = slash && slash[1] ? slash + 1 : "default";
    }
    zuuid_t *uuid = zuuid_new();
    char *error = NULL;
    int rc = tsr_submit_build(tsr_spec_jobs(run->spec), &run->opts, project,
                              zuuid_str_canonical(uuid), &run->submit, &error);
    zuuid_destroy(&uuid);
    if (rc != TSR_OK) {
        rc = tsr_cmd_usage_error(&tsr_cmd_run_entry, "%s", error ? error : tsr_strerror(rc));
        free(error);
        return rc;
    }
    return TSR_EXIT_OK;
}

//  Keep the embedded cluster's cache out of the workspace when it lies inside.
static void
s_ignore_cache(s_run_t *run, tsr_ignore_t *ignore)
{
    const char *cache_dir = tsr_conn_cache_dir(run->conn);
    char resolved[PATH_MAX];
    if (!cache_dir || !realpath(cache_dir, resolved))
        return;
    size_t length = strlen(run->workspace);
    if (strncmp(resolved, run->workspace, length) == 0 && resolved[length] == '/') {
        char *pattern = zsys_sprintf("/%s/", resolved + length + 1);
        tsr_ignore_add(ignore, pattern);
        free(pattern);
    }
}

//  Re-include what the spec's test runners need although .gitignore lists
//  it (tsr_framework_t.needs_ignored: node_modules/ for npm)
static void
s_include_runner_needs(tsr_spec_t *spec, tsr_ignore_t *ignore)
{
    zlistx_t *jobs = tsr_spec_jobs(spec);
    for (tsr_job_spec_t *job = jobs ? zlistx_first(jobs) : NULL; job; job = zlistx_next(jobs)) {
        const tsr_framework_t *framework =
            job->framework ? tsr_framework_find(job->framework) : NULL;
        for (size_t index = 0;
             framework && framework->needs_ignored && framework->needs_ignored[index]; index++) {
            char *pattern = zsys_sprintf("!%s", framework->needs_ignored[index]);
            tsr_ignore_add(ignore, pattern);
            free(pattern);
        }
    }
}

//  Hash the workspace.
static int
s_scan(s_run_t *run)
{
    tsr_ignore_t *ignore = tsr_ignore_new();
    tsr_ignore_add(ignore, ".git/");
    char *gitignore = zsys_sprintf("%s/.gitignore", run->workspace);
    int rc = tsr_ignore_load(ignore, gitignore);
    if (rc != TSR_OK && rc != -ENOENT)
        fprintf(stderr, "tessera run: ignoring unreadable %s: %s\n", gitignore, tsr_strerror(rc));
    free(gitignore);
    //  An npm suite's runner lives in node_modules, which .gitignore lists:
    //  agents get it anyway (uploaded once, then cached by content)
    s_include_runner_needs(run->spec, ignore);
    //  The spec's ignore: last, so it has the final word (`!x` re-includes)
    zlistx_t *patterns = tsr_spec_ignore(run->spec);
    if (patterns)
        for (const char *pattern = zlistx_first(patterns); pattern; pattern = zlistx_next(patterns))
            tsr_ignore_add(ignore, pattern);
    s_ignore_cache(run, ignore);
    run->tree = tsr_tree_new();
    rc = tsr_tree_scan(run->tree, run->workspace, ignore);
    tsr_ignore_destroy(&ignore);
    if (rc != TSR_OK) {
        fprintf(stderr, "tessera run: cannot hash the workspace %s: %s\n", run->workspace,
                tsr_strerror(rc));
        return TSR_EXIT_CONFIG;
    }
    return TSR_EXIT_OK;
}

//  Remote: one cheap request first, so an unreachable coordinator or a
//  refused key fails in seconds (an upload waits longer for big batches),
//  and say so if no agent is connected: the run would wait for one.
static int
s_probe(s_run_t *run)
{
    if (tsr_conn_is_local(run->conn))
        return TSR_EXIT_OK;
    Tessera__AgentsRequest body = TESSERA__AGENTS_REQUEST__INIT;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_AGENTS_REQUEST;
    request.agents_request = &body;
    Tessera__Envelope *reply = NULL;
    int exit_code =
        tsr_conn_call(run->conn, "run", &request, TESSERA__ENVELOPE__BODY_AGENTS_REPLY, &reply);
    if (exit_code != TSR_EXIT_OK)
        return exit_code;
    if (reply->agents_reply->n_agents == 0)
        fprintf(stderr, "tessera run: no agent is connected to %s yet; the run waits for one\n",
                tsr_conn_endpoint(run->conn));
    tsr_msg_destroy(&reply);
    return TSR_EXIT_OK;
}

//  Upload what the coordinator lacks, then submit.
static int
s_submit(s_run_t *run)
{
    int rc = tsr_client_upload(tsr_conn_client(run->conn), run->tree, &run->uploaded_bytes);
    if (rc != TSR_OK)
        return tsr_conn_fail(run->conn, "upload", rc);
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&workspace, tsr_tree_root(run->tree));
    run->submit->workspace = &workspace;
    run->submit->uploaded_bytes = run->uploaded_bytes;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_SUBMIT;
    request.submit = run->submit;
    Tessera__Envelope *reply = NULL;
    rc = tsr_conn_request(run->conn, &request, S_SUBMIT_TIMEOUT_MS, S_SUBMIT_RETRIES, &reply);
    run->submit->workspace = NULL; //  ours, on this stack
    if (rc != TSR_OK)
        return tsr_conn_fail(run->conn, "submit", rc);
    int exit_code = TSR_EXIT_OK;
    if (reply->body_case != TESSERA__ENVELOPE__BODY_SUBMITTED) {
        fprintf(stderr, "tessera run: unexpected reply '%s' to submit\n",
                tsr_msg_name(reply->body_case));
        exit_code = TSR_EXIT_INFRA;
    } else {
        run->run_id = strdup(reply->submitted->run_id);
        char *line = zsys_sprintf("run %s submitted: %zu job%s, %" PRIu64 " bytes uploaded",
                                  run->run_id, run->submit->n_jobs,
                                  run->submit->n_jobs == 1 ? "" : "s", run->uploaded_bytes);
        tsr_output_line(run->output, line);
        free(line);
    }
    tsr_msg_destroy(&reply);
    return exit_code;
}

//  Apply and print the events of one WatchReply; returns the highest seq.
static uint64_t
s_on_events(s_run_t *run, const Tessera__WatchReply *watch, uint64_t after_seq)
{
    for (size_t index = 0; index < watch->n_events; index++) {
        const Tessera__Event *event = watch->events[index];
        if (event->seq <= after_seq)
            continue; //  a retried Watch may repeat what we have seen
        after_seq = event->seq;
        const tsr_progress_shard_t *shard = tsr_progress_apply(run->progress, event, zclock_mono());
        tsr_output_event(run->output, event, shard);
    }
    return after_seq;
}

//  Watch until the run is done. TSR_EXIT_OK with run->last_reply holding the
//  summary, or the exit code of what stopped us.
static int
s_follow(s_run_t *run)
{
    uint64_t after_seq = 0;
    Tessera__Watch body = TESSERA__WATCH__INIT;
    body.run_id = run->run_id;
    body.wait_ms = S_WATCH_WAIT_MS;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_WATCH;
    request.watch = &body;
    while (true) {
        if (zsys_interrupted)
            return TSR_CONN_EXIT_INTERRUPTED;
        if (tsr_conn_check(run->conn) != TSR_OK)
            return TSR_EXIT_INFRA;
        body.after_seq = after_seq;
        Tessera__Envelope *reply = NULL;
        int64_t asked_ms = zclock_mono();
        int rc = tsr_conn_request(run->conn, &request, S_WATCH_WAIT_MS + S_WATCH_GRACE_MS,
                                  S_WATCH_RETRIES, &reply);
        if (rc != TSR_OK) {
            if (zsys_interrupted)
                return TSR_CONN_EXIT_INTERRUPTED;
            tsr_output_clear(run->output);
            char *what = zsys_sprintf("following run %s", run->run_id);
            int exit_code = tsr_conn_fail(run->conn, what, rc);
            free(what);
            return exit_code;
        }
        if (reply->body_case != TESSERA__ENVELOPE__BODY_WATCH_REPLY) {
            tsr_output_clear(run->output);
            fprintf(stderr, "tessera run: unexpected reply '%s' to watch\n",
                    tsr_msg_name(reply->body_case));
            tsr_msg_destroy(&reply);
            return TSR_EXIT_INFRA;
        }
        const Tessera__WatchReply *watch = reply->watch_reply;
        uint64_t seen_seq = s_on_events(run, watch, after_seq);
        bool progressed = seen_seq > after_seq;
        after_seq = seen_seq;
        if (watch->done && watch->summary) {
            run->last_reply = reply;
            return TSR_EXIT_OK;
        }
        tsr_msg_destroy(&reply);
        char line[160];
        tsr_progress_line(run->progress, zclock_mono(), line, sizeof line);
        tsr_output_progress(run->output, line);
        //  a coordinator that answers an idle watch at once must not make us spin
        if (!progressed && zclock_mono() - asked_ms < S_WATCH_WAIT_MS / 10)
            zclock_sleep(S_WATCH_WAIT_MS / 10);
    }
}

static int
s_run(s_run_t *run)
{
    int exit_code;
    if ((exit_code = s_load_spec(run)) != TSR_EXIT_OK ||
        (exit_code = s_build_submit(run)) != TSR_EXIT_OK)
        return exit_code;
    if (run->opts.local_agents_set && run->cli->coordinator)
        return tsr_cmd_usage_error(&tsr_cmd_run_entry,
                                   "--local-agents applies only to the embedded cluster "
                                   "(no --coordinator)");
    //  embedded agents start in the background while we hash and upload
    if ((exit_code = tsr_conn_open(run->cli, &tsr_cmd_run_entry, run->opts.local_agents,
                                   &run->conn)) != TSR_EXIT_OK ||
        (exit_code = s_probe(run)) != TSR_EXIT_OK)
        return exit_code;
    if ((exit_code = s_scan(run)) != TSR_EXIT_OK)
        return exit_code;
    run->output = tsr_output_new(stdout, run->cli->stdout_is_tty);
    if ((exit_code = s_submit(run)) != TSR_EXIT_OK)
        return exit_code;
    run->progress = tsr_progress_new(zclock_mono());
    for (size_t index = 0; index < run->submit->n_jobs; index++) {
        const Tessera__JobSpec *job = run->submit->jobs[index];
        tsr_progress_expect(run->progress, job->name, job->shards);
        if (strcmp(job->framework, "command") != 0)
            tsr_output_test_job(run->output, job->name);
    }
    exit_code = s_follow(run);
    tsr_output_clear(run->output);
    if (exit_code == TSR_CONN_EXIT_INTERRUPTED) {
        if (tsr_conn_is_local(run->conn))
            fprintf(stderr, "tessera run: interrupted; run %s stopped\n", run->run_id);
        else
            fprintf(stderr, "tessera run: interrupted; run %s goes on at %s (tessera cancel %s)\n",
                    run->run_id, tsr_conn_endpoint(run->conn), run->run_id);
        return exit_code;
    }
    if (exit_code != TSR_EXIT_OK)
        return exit_code;
    Tessera__RunSummary *summary = run->last_reply->watch_reply->summary;
    summary->uploaded_bytes = run->uploaded_bytes; //  what this client sent, by its count
    tsr_recap_opts_t recap = {
        .command = "run",
        .json_path = run->opts.json_path,
        .junit_path = run->opts.junit_path,
        .fail_on_flaky = run->opts.fail_on_flaky,
        .jobs = run->submit->jobs,
        .n_jobs = run->submit->n_jobs,
    };
    exit_code = tsr_recap_finish(&recap, summary, run->progress, stdout);
    int rc;
    if (run->opts.trace_path &&
        (rc = tsr_trace_write(run->progress, run->opts.trace_path)) != TSR_OK) {
        fprintf(stderr, "tessera run: cannot write the trace %s: %s\n", run->opts.trace_path,
                tsr_strerror(rc));
        if (exit_code == TSR_EXIT_OK)
            exit_code = TSR_EXIT_CONFIG;
    }
    return exit_code;
}

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    s_run_t run = {.cli = cli};
    tsr_run_opts_init(&run.opts);
    char *error = NULL;
    int exit_code;
    if (tsr_run_opts_parse(&run.opts, argc, argv, &error) != TSR_OK)
        exit_code = tsr_cmd_usage_error(&tsr_cmd_run_entry, "%s", error);
    else if (run.opts.help) {
        tsr_cmd_print_help(&tsr_cmd_run_entry, stdout);
        exit_code = TSR_EXIT_OK;
    } else
        exit_code = s_run(&run);
    free(error);
    tsr_output_destroy(&run.output);
    tsr_msg_destroy(&run.last_reply);
    tsr_progress_destroy(&run.progress);
    free(run.run_id);
    tsr_tree_destroy(&run.tree);
    tsr_conn_destroy(&run.conn); //  embedded cluster: agents, then coordinator
    tsr_submit_destroy(&run.submit);
    free(run.workspace);
    tsr_spec_destroy(&run.spec);
    tsr_run_opts_clear(&run.opts);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_run_entry = {
    .name = "run",
    .usage = "[-C DIR] [--config FILE] [--job NAME]... [--shards N|auto]\n"
             "                   [--retries N] [--repeat N] [--fail-on-flaky] [--slow SECONDS]\n"
             "                   [--timeout SECONDS] [--no-cache] [--local-agents N]\n"
             "                   [--junit FILE] [--json FILE] [--trace FILE] [-- COMMAND ARGS...]",
    .summary = "Run the jobs of tessera.yml, or one command, sharded across agents.",
    .help =
        "The workspace DIR is hashed (skipping .git, DIR/.gitignore's patterns except\n"
        "node_modules/ for an npm suite, and the spec's ignore:, which has the last word),\n"
        "only the files the coordinator lacks are uploaded, and the run is followed until\n"
        "it ends: a live progress line on a terminal, one line per event otherwise; each\n"
        "finished shard prints '── ID OUTCOME in TIME on AGENT', and a command job's shard\n"
        "its output tail. A test job (pytest, cargo, npm: detected from the command, or\n"
        "framework: in tessera.yml) is listed, split by measured test times and reported\n"
        "per test: the progress line counts tests, and the end lists the first failed tests\n"
        "with their messages, the flaky tests and the slow ones.\n"
        "With no --coordinator, an embedded cluster (coordinator + local agents on this\n"
        "machine's CPUs, cache in $XDG_CACHE_HOME/tessera or ~/.cache/tessera) runs it.\n"
        "\n"
        "Options:\n"
        "  -C DIR              workspace root (default: .)\n"
        "  --config FILE       spec file (default: DIR/tessera.yml)\n"
        "  --job NAME          run only this job and the jobs it needs (repeatable)\n"
        "  --shards N|auto     shards per job, overriding the spec (test jobs: auto, from\n"
        "                      the recorded test times)\n"
        "  --retries N         re-runs of a failed test (test jobs; on another agent when\n"
        "                      there is one) or of a failed shard (command jobs), overriding\n"
        "                      the spec; a test that fails, then passes, is flaky\n"
        "  --repeat N          run every selected test N times across agents, to hunt flaky\n"
        "                      tests: mixed outcomes are flaky, all failed is failed\n"
        "  --fail-on-flaky     a flaky test fails the run (exit 1); by default it passes\n"
        "  --slow SECONDS      list the tests that took longer than this (0 = off);\n"
        "                      overrides the spec's slow:\n"
        "  --timeout SECONDS   per-test limit of a test job (a test making no progress for\n"
        "                      that long is killed: timed_out), per-shard limit of a command\n"
        "                      job; overrides the spec (0 = none)\n"
        "  --no-cache          run everything even if a result is cached\n"
        "  --local-agents N    embedded cluster: N agents sharing the CPUs (default 1)\n"
        "  --json FILE         write the run summary: {\"run\",\"status\",\"tests\":{\"total\",\n"
        "                      \"passed\",\"failed\",\"skipped\",\"flaky\"},\"shards\",\n"
        "                      "
        "\"cached_shards\",\"wall_s\",\"uploaded_bytes\",\"results\":[{\"id\",\n"
        "                      "
        "\"outcome\",\"duration_s\",\"attempts\",\"agent\",\"job\",\"group\",\n"
        "                      \"flaky\",\"message\"}]}: one result per test (per shard for\n"
        "                      a command job)\n"
        "  --junit FILE        write JUnit XML: a testsuite per job, a testcase per test\n"
        "                      (per shard for a command job) with its failure text; retried\n"
        "                      tests get rerunFailure, flaky ones flakyFailure elements\n"
        "  --trace FILE        write a Chrome trace (chrome://tracing, Perfetto) of the shards,\n"
        "                      one track per agent; times as observed by this client\n"
        "  -- COMMAND ARGS...  run this command instead of tessera.yml: a test runner\n"
        "                      (pytest, python3 -m pytest, cargo test, npm test, jest,\n"
        "                      mocha, vitest, node --test) makes a test job; anything else\n"
        "                      runs once, or as --shards N shards with TSR_SHARD_INDEX /\n"
        "                      TSR_SHARD_COUNT set\n"
        "\n"
        "The results of a run can be fetched again with 'tessera results RUN'.\n"
        "Exit status: 0 passed; 1 tests failed (or flaky, with --fail-on-flaky), or the run\n"
        "was cancelled; 2 usage or config error; 3 infrastructure error (no agent, key\n"
        "refused, coordinator unreachable); 130 interrupted.\n",
    .exec = s_exec,
};
