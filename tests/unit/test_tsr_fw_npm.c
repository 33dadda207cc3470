/*  Unit tests for tsr_fw_npm: runner detection from commands and
    package.json, node 20's test-file rules, the parsers on captured output
    of our reporters under node 20, jest 29, mocha 10 and vitest 3
    (tests/unit/fixtures/npm, from examples/npm: normal runs, runners and
    test files that died in a test), what a report marks as crashed or
    timed out, bad input, and the procedures on copies of examples/npm:
    node --test (no install), jest, mocha and vitest (`npm ci` once per lock
    file into a cache that outlives the test, from the npm cache when it
    can; skipped when the registry is out of reach). Shards give the same
    results as one run; a test that kills or hangs its runner is reported
    and the rest of its file still runs.   */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_fw_io.h"
#include "tsr_fw_npm.h"
#include "tsr_fw_testctx.h"

#define FIXTURES TSR_SOURCE_DIR "/tests/unit/fixtures/npm"
#define EXAMPLES TSR_SOURCE_DIR "/examples/npm"

//  ------------------------------------------------------------------------
//  Runner detection

static tsr_fw_npm_cmd_t *
s_cmd(const char *const *argv, const char *package_json, tsr_fw_npm_runner_t runner)
{
    tsr_fw_npm_cmd_t *cmd = NULL;
    assert_int_equal(tsr_fw_npm_cmd_parse(argv, package_json, &cmd), TSR_OK);
    assert_int_equal(cmd->runner, runner);
    return cmd;
}

static void
test_npm_cmd_parse_reads_direct_commands(void **state)
{
    (void)state;
    tsr_fw_npm_cmd_t *cmd =
        s_cmd((const char *const[]){"npx", "jest", "--ci", NULL}, NULL, TSR_FW_NPM_JEST);
    tsr_fw_test_assert_list(cmd->args, (const char *const[]){"--ci", NULL});
    tsr_fw_npm_cmd_destroy(&cmd);
    assert_null(cmd);

    cmd = s_cmd((const char *const[]){"/usr/bin/node", "--test", "test/", NULL}, NULL,
                TSR_FW_NPM_NODE);
    tsr_fw_test_assert_list(cmd->args, (const char *const[]){"--test", "test/", NULL});
    assert_string_equal(cmd->node, "/usr/bin/node");
    tsr_fw_npm_cmd_destroy(&cmd);

    cmd = s_cmd((const char *const[]){"./node_modules/.bin/mocha", "-R", "dot", NULL}, NULL,
                TSR_FW_NPM_MOCHA);
    assert_string_equal(cmd->node, "node");
    tsr_fw_npm_cmd_destroy(&cmd);

    const char *const *unknown[] = {
        (const char *const[]){"node", "index.js", NULL},
        (const char *const[]){"make", "test", NULL},
        (const char *const[]){"npx", NULL},
        (const char *const[]){NULL},
    };
    for (size_t index = 0; index < sizeof unknown / sizeof unknown[0]; index++) {
        assert_int_equal(tsr_fw_npm_cmd_parse(unknown[index], NULL, &cmd), TSR_ECONFIG);
        assert_null(cmd);
    }
}

static void
test_npm_cmd_parse_reads_the_test_script(void **state)
{
    (void)state;
    const char *const npm_test[] = {"npm", "test", NULL};
    tsr_fw_npm_cmd_t *cmd = s_cmd(
        npm_test, "{\"scripts\": {\"test\": \"NODE_ENV=test jest --coverage\"}}", TSR_FW_NPM_JEST);
    tsr_fw_test_assert_list(cmd->args, (const char *const[]){"--coverage", NULL});
    tsr_fw_test_assert_list(cmd->env, (const char *const[]){"NODE_ENV=test", NULL});
    tsr_fw_npm_cmd_destroy(&cmd);

    //  Arguments after "--" go to the script; quotes keep globs for the runner
    cmd = s_cmd((const char *const[]){"npm", "run", "test", "--", "--bail", NULL},
                "{\"scripts\": {\"test\": \"cross-env CI=1 mocha 'test/**/*.spec.js'\"}}",
                TSR_FW_NPM_MOCHA);
    tsr_fw_test_assert_list(cmd->args, (const char *const[]){"test/**/*.spec.js", "--bail", NULL});
    tsr_fw_test_assert_list(cmd->env, (const char *const[]){"CI=1", NULL});
    tsr_fw_npm_cmd_destroy(&cmd);

    cmd = s_cmd(npm_test, "{\"scripts\": {\"test\": \"node --test\"}}", TSR_FW_NPM_NODE);
    tsr_fw_test_assert_list(cmd->args, (const char *const[]){"--test", NULL});
    tsr_fw_npm_cmd_destroy(&cmd);

    cmd = s_cmd(npm_test, "{\"scripts\": {\"test\": \"vitest run\"}}", TSR_FW_NPM_VITEST);
    tsr_fw_test_assert_list(cmd->args, (const char *const[]){"run", NULL});
    tsr_fw_npm_cmd_destroy(&cmd);
    cmd = s_cmd(npm_test, "{\"devDependencies\": {\"vite\": \"7\", \"vitest\": \"3\"}}",
                TSR_FW_NPM_VITEST);
    tsr_fw_npm_cmd_destroy(&cmd);

    //  Not a plain command (or command substitution): the dependencies decide
    cmd = s_cmd(npm_test,
                "{\"scripts\": {\"test\": \"npm run build && jest\"},"
                " \"devDependencies\": {\"jest\": \"29\"}}",
                TSR_FW_NPM_JEST);
    assert_int_equal(zlistx_size(cmd->args), 0);
    tsr_fw_npm_cmd_destroy(&cmd);
    cmd = s_cmd(npm_test,
                "{\"scripts\": {\"test\": \"$(touch /tmp/tsr-pwned) mocha\"},"
                " \"dependencies\": {\"mocha\": \"10\"}}",
                TSR_FW_NPM_MOCHA);
    tsr_fw_npm_cmd_destroy(&cmd);
    assert_int_not_equal(access("/tmp/tsr-pwned", F_OK), 0);

    assert_int_equal(tsr_fw_npm_cmd_parse(npm_test, NULL, &cmd), TSR_ECONFIG);
    assert_int_equal(tsr_fw_npm_cmd_parse(npm_test, "{\"scripts\": {\"test\": \"make\"}}", &cmd),
                     TSR_ECONFIG);
    assert_int_equal(tsr_fw_npm_cmd_parse(npm_test, "{\"scripts\": ", &cmd), TSR_EPARSE);
    assert_int_equal(tsr_fw_npm_cmd_parse(npm_test, "[1, 2]", &cmd), TSR_EPARSE);
    assert_null(cmd);
}

//  ------------------------------------------------------------------------
//  node --test files

static void
test_npm_node_test_files_follow_node_rules(void **state)
{
    (void)state;
    const char *workdir = EXAMPLES "/node-test";
    zlistx_t *files = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_npm_node_test_files(workdir, NULL, files), TSR_OK);
    //  test/ holds any .js; elsewhere names decide; lib/notatest.js is out
    tsr_fw_test_assert_list(files,
                            (const char *const[]){"lib/strings-test.cjs", "test/crash.test.mjs",
                                                  "test/helpers.js", "test/math.test.js",
                                                  "test/special.test.mjs", NULL});

    zlistx_t *args = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(args, "--test");
    tsr_fw_strlist_addf(args, "--test-name-pattern");
    tsr_fw_strlist_addf(args, "lib");
    tsr_fw_strlist_addf(args, "lib");
    zlistx_purge(files);
    assert_int_equal(tsr_fw_npm_node_test_files(workdir, args, files), TSR_OK);
    tsr_fw_test_assert_list(files, (const char *const[]){"lib/strings-test.cjs", NULL});

    //  A file named on the command line runs whatever its name
    zlistx_purge(args);
    tsr_fw_strlist_addf(args, "--test");
    tsr_fw_strlist_addf(args, "lib/math.js");
    zlistx_purge(files);
    assert_int_equal(tsr_fw_npm_node_test_files(workdir, args, files), TSR_OK);
    tsr_fw_test_assert_list(files, (const char *const[]){"lib/math.js", NULL});

    tsr_fw_strlist_addf(args, "no/such/dir");
    zlistx_purge(files);
    assert_int_equal(tsr_fw_npm_node_test_files(workdir, args, files), -ENOENT);
    zlistx_destroy(&args);
    zlistx_destroy(&files);
}

//  ------------------------------------------------------------------------
//  Parsers

static void
test_npm_parse_file_list_reads_jest_list(void **state)
{
    (void)state;
    zlistx_t *files = tsr_fw_strlist_new();
    assert_int_equal(
        tsr_fw_npm_parse_file_list(FIXTURES "/jest-list.json", "/work/example/jest", files),
        TSR_OK);
    tsr_fw_test_assert_list(files, (const char *const[]){"__tests__/special.test.js",
                                                         "__tests__/math.test.js",
                                                         "__tests__/argv.test.js", NULL});
    const char *bad[] = {"", "{\"a\": 1}", "[\"a\", 2]", "[\"a\""};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        zlistx_purge(files);
        assert_int_equal(tsr_fw_npm_parse_file_list(path, "/w", files), TSR_EPARSE);
        assert_int_equal(zlistx_size(files), 0);
        tsr_fw_test_remove(&path);
    }
    zlistx_destroy(&files);
}

static void
test_npm_parse_event_files_reads_a_mocha_dry_run(void **state)
{
    (void)state;
    zlistx_t *files = tsr_fw_strlist_new();
    assert_int_equal(
        tsr_fw_npm_parse_event_files(FIXTURES "/mocha-dry-run.jsonl", "/work/example/mocha", files),
        TSR_OK);
    tsr_fw_test_assert_list(files,
                            (const char *const[]){"test/math.spec.js", "test/special.spec.js",
                                                  "test/unit/strings.spec.js", NULL});
    zlistx_destroy(&files);
}

static void
test_npm_parse_events_reads_node_test(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(
        tsr_fw_npm_parse_events(FIXTURES "/node-events.jsonl", "/work/example/node-test", results),
        TSR_OK);
    assert_int_equal(tsr_results_size(results), 12); //  suites left out
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_non_null(strstr(tsr_results_find(results, "test/math.test.js::fails")->message,
                           "arithmetic is broken"));
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::skipped"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::todo"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::div > by zero > throws"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "lib/strings-test.cjs::upper"),
                     TESSERA__OUTCOME__PASSED);
    assert_true(tsr_results_find(results, "test/special.test.mjs::slow")->duration_ms >= 190);
    tsr_results_destroy(&results);

    //  Files that died: their own ERROR result; an empty file: PASSED
    results = tsr_results_new();
    assert_int_equal(tsr_fw_npm_parse_events(FIXTURES "/node-events-crashed.jsonl",
                                             "/work/example/node-test", results),
                     TSR_OK);
    assert_int_equal(tsr_results_size(results), 4);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.mjs"),
                     TESSERA__OUTCOME__ERROR);
    assert_int_equal(tsr_fw_test_outcome(results, "test/syntax.test.js"), TESSERA__OUTCOME__ERROR);
    assert_non_null(
        strstr(tsr_results_find(results, "test/syntax.test.js")->message, "SyntaxError"));
    assert_int_equal(tsr_fw_test_outcome(results, "test/empty.test.js"), TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/helpers.js::helpers load"),
                     TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);
}

static void
test_npm_parse_events_reads_jest_and_mocha(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(
        tsr_fw_npm_parse_events(FIXTURES "/jest-events.jsonl", "/work/example/jest", results),
        TSR_OK);
    assert_int_equal(tsr_results_size(results), 11);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/math.test.js::nested > deeper > adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/math.test.js::todo"),
                     TESSERA__OUTCOME__SKIPPED);
    //  A file that does not exist fails as a file
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/missing.test.js"),
                     TESSERA__OUTCOME__ERROR);
    assert_null(tsr_results_find(results, "__tests__/math.test.js"));
    tsr_results_destroy(&results);

    results = tsr_results_new();
    assert_int_equal(
        tsr_fw_npm_parse_events(FIXTURES "/mocha-events.jsonl", "/work/example/mocha", results),
        TSR_OK);
    assert_int_equal(tsr_results_size(results), 11);
    assert_int_equal(
        tsr_fw_test_outcome(results, "test/math.spec.js::math > pending without a body"),
        TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results,
                                         "test/unit/strings.spec.js::broken setup > \"before all\" "
                                         "hook for \"never runs\""),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.spec.js::special > slow"),
                     TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);
}

static void
test_npm_parse_events_rejects_foreign_lines(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"file\": \"/w/a.js\", \"name\": \"t\", \"outcome\": \"passed\"}\n", //  no kind
        "{\"file\": \"/w/a.js\", \"name\": \"t\", \"kind\": \"test\", \"outcome\": \"great\"}\n",
        "{\"file\": \"/w/a.js\", \"kind\": \"test\", \"outcome\": \"passed\"}\n", //  no name
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        tsr_results_t *results = tsr_results_new();
        assert_int_equal(tsr_fw_npm_parse_events(path, "/w", results), TSR_EPARSE);
        tsr_results_destroy(&results);
        tsr_fw_test_remove(&path);
    }
    //  A test's own output among the lines, and a torn last line: skipped
    char *path =
        tsr_fw_test_temp_file("console output\n"
                              "{\"file\": \"/w/a.js\", \"name\": \"t\", \"kind\": \"test\", "
                              "\"outcome\": \"passed\", \"duration_ms\": 2.6}\n"
                              "{\"file\": \"/w/a.js\", \"name\": \"u\", \"ki");
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_npm_parse_events(path, "/w", results), TSR_OK);
    assert_int_equal(tsr_results_size(results), 1);
    assert_string_equal(tsr_results_at(results, 0)->id, "a.js::t");
    assert_int_equal(tsr_results_at(results, 0)->duration_ms, 3);
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&path);
}

static void
test_npm_group_is_the_file(void **state)
{
    (void)state;
    char *group = tsr_fw_npm_group("test/math.test.js::div > by zero > throws");
    assert_string_equal(group, "test/math.test.js");
    free(group);
    group = tsr_fw_npm_group("test/empty.test.js");
    assert_string_equal(group, "test/empty.test.js");
    free(group);
}

static void
test_npm_parse_vitest_list_reads_files_and_rejects_bad_input(void **state)
{
    (void)state;
    zlistx_t *files = tsr_fw_strlist_new();
    assert_int_equal(
        tsr_fw_npm_parse_vitest_list(FIXTURES "/vitest-list.json", "/work/example/vitest", files),
        TSR_OK);
    tsr_fw_test_assert_list(files,
                            (const char *const[]){"test/math.test.js", "test/special.test.js",
                                                  "test/unit/setup.test.js", NULL});
    //  Not JSON, truncated, not an array, a missing or wrong "file"
    const char *bad[] = {"",
                         "[{\"file\": \"/w/a.test.js\"}",
                         "{\"file\": \"/w/a.test.js\"}",
                         "[{\"name\": \"adds\"}]",
                         "[{\"file\": 3}]",
                         "[\"/w/a.test.js\"]"};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        zlistx_purge(files);
        assert_int_equal(tsr_fw_npm_parse_vitest_list(path, "/w", files), TSR_EPARSE);
        assert_int_equal(zlistx_size(files), 0);
        tsr_fw_test_remove(&path);
    }
    //  Names too (vitest list without --filesOnly): each file once
    char *path = tsr_fw_test_temp_file("[{\"name\": \"a\", \"file\": \"/w/a.test.js\"},"
                                       " {\"name\": \"b\", \"file\": \"/w/a.test.js\"}]");
    zlistx_purge(files);
    assert_int_equal(tsr_fw_npm_parse_vitest_list(path, "/w", files), TSR_OK);
    tsr_fw_test_assert_list(files, (const char *const[]){"a.test.js", NULL});
    tsr_fw_test_remove(&path);
    zlistx_purge(files);
    assert_int_equal(tsr_fw_npm_parse_vitest_list("/nonexistent/list.json", "/w", files), -ENOENT);
    zlistx_destroy(&files);
}

//  Read a fixture and account it as a runner that ended so; the results and
//  the files to resume are the caller's
static tsr_fw_npm_report_t *
s_account(const char *fixture, const char *workdir, bool timed_out, int exit_code, zhashx_t *skip,
          zhashx_t *only, tsr_results_t **results_out, zlistx_t **resume_out)
{
    tsr_fw_npm_report_t *report = NULL;
    assert_int_equal(tsr_fw_npm_report_read(fixture, workdir, &report), TSR_OK);
    tsr_fw_npm_end_t end = {.timed_out = timed_out, .exit_code = exit_code};
    *results_out = tsr_results_new();
    *resume_out = tsr_fw_strlist_new();
    tsr_fw_npm_report_account(report, &end, skip, only, *results_out, *resume_out);
    return report;
}

static void
s_assert_done(tsr_fw_npm_report_t *report, const char *file, const char *const *expected)
{
    zlistx_t *names = tsr_fw_strlist_new();
    tsr_fw_npm_report_done(report, file, names);
    tsr_fw_test_assert_list(names, expected);
    zlistx_destroy(&names);
}

static void
test_npm_report_reads_vitest(void **state)
{
    (void)state;
    tsr_results_t *results = NULL;
    zlistx_t *resume = NULL;
    tsr_fw_npm_report_t *report = s_account(FIXTURES "/vitest-events.jsonl", "/work/example/vitest",
                                            false, 1, NULL, NULL, &results, &resume);
    assert_true(tsr_fw_npm_report_ended(report));
    assert_int_equal(tsr_results_size(results), 10);
    assert_int_equal(zlistx_size(resume), 0);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_non_null(
        strstr(tsr_results_find(results, "test/math.test.js::fails")->message, "expected 4"));
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::skipped"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::todo"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::nested > deeper > adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/unit/setup.test.js::the setup file ran"),
                     TESSERA__OUTCOME__PASSED);
    assert_true(tsr_results_find(results, "test/special.test.js::slow")->duration_ms >= 190);
    //  Files with their tests reported have no result of their own
    assert_null(tsr_results_find(results, "test/math.test.js"));
    s_assert_done(
        report, "test/math.test.js",
        (const char *const[]){"adds", "fails", "skipped", "todo", "nested deeper adds", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);

    //  vitest's file arguments are prefixes: results of other files go
    zhashx_t *only = zhashx_new();
    zhashx_insert(only, "test/unit/setup.test.js", (void *)1);
    zlistx_t *ignored = NULL;
    tsr_fw_npm_report_account(report, NULL, NULL, only, (results = tsr_results_new()),
                              (ignored = tsr_fw_strlist_new()));
    assert_int_equal(tsr_results_size(results), 1);
    assert_string_equal(tsr_results_at(results, 0)->id,
                        "test/unit/setup.test.js::the setup file ran");
    zhashx_destroy(&only);
    zlistx_destroy(&ignored);
    tsr_results_destroy(&results);
    tsr_fw_npm_report_destroy(&report);
    assert_null(report);
}

static void
test_npm_report_marks_the_test_a_vitest_worker_died_in(void **state)
{
    (void)state;
    //  The worker was killed in "crash": its start line came from the worker,
    //  the result of "slow" before it was still on its way to the reporter
    tsr_results_t *results = NULL;
    zlistx_t *resume = NULL;
    tsr_fw_npm_report_t *report =
        s_account(FIXTURES "/vitest-events-crashed.jsonl", "/work/example/vitest", false, 1, NULL,
                  NULL, &results, &resume);
    assert_false(tsr_fw_npm_report_ended(report));
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(tsr_results_find(results, "test/special.test.js::crash")->message,
                           "crashed: the runner exited with code 1 while this test ran"));
    assert_null(tsr_results_find(results, "test/special.test.js::slow"));
    assert_null(tsr_results_find(results, "test/special.test.js"));
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_results_size(results), 6);
    //  The rest of the file runs again without "crash" (and with "slow")
    tsr_fw_test_assert_list(resume, (const char *const[]){"test/special.test.js", NULL});
    s_assert_done(report, "test/special.test.js", (const char *const[]){"crash", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);

    //  That rerun, without slow and crash, killed in "hang" by the timeout:
    //  the tests it left out are reported by vitest as skipped, and dropped
    zhashx_t *skip = zhashx_new();
    zhashx_insert(skip, "slow", (void *)1);
    zhashx_insert(skip, "crash", (void *)1);
    report = s_account(FIXTURES "/vitest-events-hung.jsonl", "/work/example/vitest", true, -1, skip,
                       NULL, &results, &resume);
    assert_int_equal(tsr_results_size(results), 1);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::hang"),
                     TESSERA__OUTCOME__TIMED_OUT);
    assert_non_null(
        strstr(tsr_results_find(results, "test/special.test.js::hang")->message, "timed out"));
    tsr_fw_test_assert_list(resume, (const char *const[]){"test/special.test.js", NULL});
    s_assert_done(report, "test/special.test.js", (const char *const[]){"hang", NULL});
    zhashx_destroy(&skip);
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);

    //  vitest 2 goes on when a worker dies and reports the file at the end,
    //  with the tests that never finished: our reporter says it crashed
    report = s_account(FIXTURES "/vitest2-events-crashed.jsonl", "/work/example/vitest", false, 1,
                       NULL, NULL, &results, &resume);
    assert_true(tsr_fw_npm_report_ended(report));
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(tsr_results_find(results, "test/special.test.js::crash")->message,
                           "its worker died in a test"));
    assert_null(tsr_results_find(results, "test/special.test.js")); //  explained by crash
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::todo"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_results_size(results), 6);
    tsr_fw_test_assert_list(resume, (const char *const[]){"test/special.test.js", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);
}

static void
test_npm_report_marks_the_test_jest_and_mocha_died_in(void **state)
{
    (void)state;
    //  jest in band, killed by SIGKILL in "crash"
    tsr_results_t *results = NULL;
    zlistx_t *resume = NULL;
    tsr_fw_npm_report_t *report =
        s_account(FIXTURES "/jest-events-crashed.jsonl", "/work/example/jest", false, -1, NULL,
                  NULL, &results, &resume);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(tsr_results_find(results, "__tests__/special.test.js::crash")->message,
                           "killed by a signal"));
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::slow"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results,
                                         "__tests__/argv.test.js::process.argv holds no jest "
                                         "arguments"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_results_size(results), 8);
    tsr_fw_test_assert_list(resume, (const char *const[]){"__tests__/special.test.js", NULL});
    s_assert_done(report, "__tests__/special.test.js",
                  (const char *const[]){"slow", "crash", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);

    //  jest with workers: the worker died, jest went on and said so
    report = s_account(FIXTURES "/jest-events-worker-crashed.jsonl", "/work/example/jest", false, 1,
                       NULL, NULL, &results, &resume);
    assert_true(tsr_fw_npm_report_ended(report));
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(tsr_results_find(results, "__tests__/special.test.js::crash")->message,
                           "jest worker process"));
    assert_null(tsr_results_find(results, "__tests__/special.test.js")); //  explained
    tsr_fw_test_assert_list(resume, (const char *const[]){"__tests__/special.test.js", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);

    //  mocha: process.exit(3) in "special > crash"; the failed before-all hook
    //  of another file is a failure, not a crash
    report = s_account(FIXTURES "/mocha-events-crashed.jsonl", "/work/example/mocha", false, 3,
                       NULL, NULL, &results, &resume);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.spec.js::special > crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_non_null(
        strstr(tsr_results_find(results, "test/special.spec.js::special > crash")->message,
               "exited with code 3"));
    assert_int_equal(tsr_fw_test_outcome(results,
                                         "test/unit/strings.spec.js::broken setup > \"before all\" "
                                         "hook for \"never runs\""),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_results_size(results), 4);
    tsr_fw_test_assert_list(resume, (const char *const[]){"test/special.spec.js", NULL});
    s_assert_done(report, "test/special.spec.js",
                  (const char *const[]){"special slow", "special crash", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);
}

static void
test_npm_report_marks_node_test_crashes_per_file(void **state)
{
    (void)state;
    //  crash.test.mjs exited with 3 (node lost its events: a file crash);
    //  then the runner was killed by the timeout in special.test.mjs "hang"
    tsr_results_t *results = NULL;
    zlistx_t *resume = NULL;
    tsr_fw_npm_report_t *report =
        s_account(FIXTURES "/node-events-hung.jsonl", "/work/example/node-test", true, -1, NULL,
                  NULL, &results, &resume);
    assert_int_equal(tsr_fw_test_outcome(results, "test/crash.test.mjs"),
                     TESSERA__OUTCOME__CRASHED);
    assert_non_null(
        strstr(tsr_results_find(results, "test/crash.test.mjs")->message, "exited with code 3"));
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.mjs::hang"),
                     TESSERA__OUTCOME__TIMED_OUT);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.mjs::flaky"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::div > by zero > throws"),
                     TESSERA__OUTCOME__PASSED);
    assert_null(tsr_results_find(results, "test/math.test.js"));      //  failed through its tests
    assert_null(tsr_results_find(results, "test/math.test.js::div")); //  a suite
    assert_int_equal(tsr_results_size(results), 12);
    tsr_fw_test_assert_list(resume, (const char *const[]){"test/special.test.mjs", NULL});
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);
    tsr_fw_npm_report_destroy(&report);
}

static void
test_npm_report_marks_what_died_outside_tests_and_nothing_else(void **state)
{
    (void)state;
    const char *text =
        //  a.js: done; b.js: a test started, then its hook failed (mocha)
        "{\"kind\": \"start\", \"file\": \"/w/a.js\", \"name\": \"t\", \"match\": \"t\"}\n"
        "{\"kind\": \"test\", \"file\": \"/w/a.js\", \"name\": \"t\", \"match\": \"t\", "
        "\"outcome\": \"passed\"}\n"
        "{\"kind\": \"start\", \"file\": \"/w/b.js\", \"name\": \"s > u\", \"match\": \"s u\"}\n"
        "{\"kind\": \"test\", \"file\": \"/w/b.js\", \"name\": \"s > \\\"before each\\\" hook\", "
        "\"outcome\": \"failed\", \"error\": \"hook broke\"}\n"
        "{\"kind\": \"stop\", \"file\": \"/w/b.js\", \"name\": \"s > u\"}\n"
        //  c.js started, never finished, no test started: died outside tests
        "{\"kind\": \"filestart\", \"file\": \"/w/c.js\"}\n";
    char *path = tsr_fw_test_temp_file(text);
    tsr_fw_npm_report_t *report = NULL;
    assert_int_equal(tsr_fw_npm_report_read(path, "/w", &report), TSR_OK);
    assert_false(tsr_fw_npm_report_ended(report));
    tsr_fw_npm_end_t end = {.timed_out = true, .exit_code = -1};
    tsr_results_t *results = tsr_results_new();
    zlistx_t *resume = tsr_fw_strlist_new();
    tsr_fw_npm_report_account(report, &end, NULL, NULL, results, resume);
    assert_int_equal(tsr_results_size(results), 3);
    assert_int_equal(tsr_fw_test_outcome(results, "a.js::t"), TESSERA__OUTCOME__PASSED);
    assert_null(tsr_results_find(results, "b.js::s > u"));
    assert_int_equal(tsr_fw_test_outcome(results, "c.js"), TESSERA__OUTCOME__TIMED_OUT);
    assert_non_null(strstr(tsr_results_find(results, "c.js")->message, "outside its tests"));
    assert_int_equal(zlistx_size(resume), 0);
    tsr_results_destroy(&results);
    zlistx_destroy(&resume);

    //  Without `end`: nothing marked
    results = tsr_results_new();
    tsr_fw_npm_report_account(report, NULL, NULL, NULL, results, NULL);
    assert_int_equal(tsr_results_size(results), 2);
    tsr_results_destroy(&results);
    tsr_fw_npm_report_destroy(&report);
    tsr_fw_test_remove(&path);
}

static void
test_npm_report_rejects_lines_not_in_our_format(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"kind\": \"begin\", \"file\": \"/w/a.js\", \"name\": \"t\"}\n", //  unknown kind
        "{\"kind\": \"start\", \"file\": \"/w/a.js\"}\n",                  //  no name
        "{\"kind\": \"stop\", \"file\": \"/w/a.js\", \"name\": 3}\n",      //  name not a string
        "{\"kind\": \"file\", \"file\": \"/w/a.js\"}\n",                   //  no outcome
        "{\"kind\": \"test\", \"file\": \"/w/a.js\", \"name\": \"t\", \"outcome\": 1}\n",
        "{\"kind\": 7}\n",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        tsr_fw_npm_report_t *report = NULL;
        assert_int_equal(tsr_fw_npm_report_read(path, "/w", &report), TSR_EPARSE);
        assert_null(report);
        tsr_fw_test_remove(&path);
    }
    tsr_fw_npm_report_t *report = NULL;
    assert_int_equal(tsr_fw_npm_report_read("/nonexistent/events.jsonl", "/w", &report), -ENOENT);
    assert_null(report);
    //  A runner killed while writing: the torn last line is not a line
    char *path = tsr_fw_test_temp_file(
        "{\"kind\": \"start\", \"file\": \"/w/a.js\", \"name\": \"t\"}\n"
        "{\"kind\": \"test\", \"file\": \"/w/a.js\", \"name\": \"t\", \"outc");
    assert_int_equal(tsr_fw_npm_report_read(path, "/w", &report), TSR_OK);
    tsr_fw_npm_end_t end = {.exit_code = -1};
    tsr_results_t *results = tsr_results_new();
    tsr_fw_npm_report_account(report, &end, NULL, NULL, results, NULL);
    assert_int_equal(tsr_results_size(results), 1);
    assert_int_equal(tsr_fw_test_outcome(results, "a.js::t"), TESSERA__OUTCOME__CRASHED);
    tsr_results_destroy(&results);
    tsr_fw_npm_report_destroy(&report);
    tsr_fw_test_remove(&path);
}

//  ------------------------------------------------------------------------
//  Procedures on the real runners

//  List, then run the files as `shards` groups (round robin) and as one
//  shard; both must give the same ids and outcomes. Returns the merged
//  results (the caller's) for more checks.
static tsr_results_t *
s_list_and_compare_shards(tsr_fw_testctx_t *testctx, size_t shards, size_t expected_files)
{
    zlistx_t *files = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    int rc = tsr_fw_npm_entry.list(&testctx->ctx, files, errors);
    if (rc != TSR_OK) {
        char *log = tsr_fw_testctx_log(testctx);
        fail_msg("list: %s\n%s", tsr_err_name(rc), log);
    }
    assert_int_equal(zlistx_size(files), expected_files);
    assert_int_equal(zlistx_size(errors), 0);

    tsr_results_t *serial = tsr_results_new();
    int exit_code;
    assert_int_equal(tsr_fw_npm_entry.run(&testctx->ctx, files, serial, &exit_code), TSR_OK);
    assert_int_not_equal(exit_code, 0); //  each example holds a failing test

    tsr_results_t *merged = tsr_results_new();
    for (size_t shard = 0; shard < shards; shard++) {
        zlistx_t *ids = tsr_fw_strlist_new();
        size_t position = 0;
        for (const char *file = (const char *)zlistx_first(files); file;
             file = (const char *)zlistx_next(files), position++)
            if (position % shards == shard)
                zlistx_add_end(ids, (void *)file);
        assert_int_equal(tsr_fw_npm_entry.run(&testctx->ctx, ids, merged, &exit_code), TSR_OK);
        zlistx_destroy(&ids);
    }
    assert_int_equal(tsr_results_size(merged), tsr_results_size(serial));
    for (size_t index = 0; index < tsr_results_size(serial); index++) {
        const tsr_test_result_t *expected = tsr_results_at(serial, index);
        const tsr_test_result_t *got = tsr_results_find(merged, expected->id);
        if (!got)
            fail_msg("missing %s", expected->id);
        if (got->outcome != expected->outcome)
            fail_msg("%s: %d, serial %d", expected->id, got->outcome, expected->outcome);
    }
    //  Every listed file is covered by results in its group
    for (const char *file = (const char *)zlistx_first(files); file;
         file = (const char *)zlistx_next(files)) {
        bool covered = false;
        for (size_t index = 0; index < tsr_results_size(merged) && !covered; index++) {
            char *group = tsr_fw_npm_group(tsr_results_at(merged, index)->id);
            covered = streq(group, file);
            free(group);
        }
        if (!covered)
            fail_msg("no result for file %s", file);
    }
    tsr_results_destroy(&serial);
    zlistx_destroy(&files);
    zlistx_destroy(&errors);
    return merged;
}

static void
test_npm_node_test_shards_equal_one_run(void **state)
{
    (void)state;
    const char *const argv[] = {"npm", "test", NULL};
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLES "/node-test", argv);
    tsr_results_t *results = s_list_and_compare_shards(testctx, 2, 5);
    assert_int_equal(tsr_results_size(results), 12);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::div > by zero > throws"),
                     TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);

    //  A test file whose process exits in a test: the file's own CRASHED (node
    //  20 loses the events of that process), the others still run
    zlistx_t *ids = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(ids, "test/crash.test.mjs");
    tsr_fw_strlist_addf(ids, "test/helpers.js");
    results = tsr_results_new();
    int exit_code;
    setenv("TSR_EXAMPLE_CRASH", "1", 1);
    int rc = tsr_fw_npm_entry.run(&testctx->ctx, ids, results, &exit_code);
    unsetenv("TSR_EXAMPLE_CRASH");
    assert_int_equal(rc, TSR_OK);
    assert_int_equal(tsr_fw_test_outcome(results, "test/crash.test.mjs"),
                     TESSERA__OUTCOME__CRASHED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/helpers.js::helpers load"),
                     TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
    tsr_fw_testctx_destroy(&testctx);
}

//  Run one file with the misbehaving tests switched on by `env` ("K=V"
//  pairs, NULL-terminated); the results are the caller's
static tsr_results_t *
s_run_special(tsr_fw_testctx_t *testctx, const char *file, const char *const *env)
{
    for (size_t index = 0; env[index]; index++)
        assert_int_equal(putenv((char *)env[index]), 0);
    zlistx_t *ids = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(ids, "%s", file);
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    int rc = tsr_fw_npm_entry.run(&testctx->ctx, ids, results, &exit_code);
    for (size_t index = 0; env[index]; index++) {
        char *name = strndup(env[index], strcspn(env[index], "="));
        unsetenv(name);
        free(name);
    }
    if (rc != TSR_OK) {
        char *log = tsr_fw_testctx_log(testctx);
        fail_msg("run: %s\n%s", tsr_err_name(rc), log);
    }
    zlistx_destroy(&ids);
    return results;
}

//  A copy of an example with its dependencies installed, or NULL (skip)
static tsr_fw_testctx_t *
s_installed_example(const char *example, const char *const *argv)
{
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(example, argv);
    if (tsr_fw_testctx_npm_install(testctx) != 0) {
        tsr_fw_testctx_destroy(&testctx);
        return NULL;
    }
    return testctx;
}

static void
test_npm_jest_shards_equal_one_run(void **state)
{
    (void)state;
    const char *const argv[] = {"npm", "test", NULL};
    tsr_fw_testctx_t *testctx = s_installed_example(EXAMPLES "/jest", argv);
    if (!testctx)
        skip(); //  no registry and no npm cache
    //  Three shards, one file each: jest runs them in band, where its own
    //  arguments would leak into process.argv without our launcher
    tsr_results_t *results = s_list_and_compare_shards(testctx, 3, 3);
    assert_int_equal(tsr_fw_test_outcome(results,
                                         "__tests__/argv.test.js::process.argv holds no jest "
                                         "arguments"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/math.test.js::skipped"),
                     TESSERA__OUTCOME__SKIPPED);
    tsr_results_destroy(&results);

    //  A test that kills jest: reported CRASHED, the rest of its file runs
    static const char *const crash[] = {"TSR_EXAMPLE_CRASH=1", NULL};
    results = s_run_special(testctx, "__tests__/special.test.js", crash);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::slow"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::hang"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "__tests__/special.test.js::flaky"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_results_size(results), 4);
    tsr_results_destroy(&results);
    tsr_fw_testctx_destroy(&testctx);
}

static void
test_npm_mocha_shards_equal_one_run(void **state)
{
    (void)state;
    const char *const argv[] = {"npx", "mocha", NULL};
    tsr_fw_testctx_t *testctx = s_installed_example(EXAMPLES "/mocha", argv);
    if (!testctx)
        skip();
    //  .mocharc.json's spec must not add its files to each shard's
    tsr_results_t *results = s_list_and_compare_shards(testctx, 2, 3);
    assert_int_equal(tsr_results_size(results), 11);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.spec.js::math > fails"),
                     TESSERA__OUTCOME__FAILED);
    tsr_results_destroy(&results);

    //  A test that exits mocha: reported CRASHED, the rest of its file runs
    static const char *const crash[] = {"TSR_EXAMPLE_CRASH=1", NULL};
    results = s_run_special(testctx, "test/special.spec.js", crash);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.spec.js::special > crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.spec.js::special > flaky"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_results_size(results), 4);
    tsr_results_destroy(&results);
    tsr_fw_testctx_destroy(&testctx);
}

static void
test_npm_vitest_shards_equal_one_run(void **state)
{
    (void)state;
    const char *const argv[] = {"npm", "test", NULL};
    tsr_fw_testctx_t *testctx = s_installed_example(EXAMPLES "/vitest", argv);
    if (!testctx)
        skip();
    //  vitest.config.js: its include keeps test/helpers.js out, its setup
    //  file still runs beside ours
    tsr_results_t *results = s_list_and_compare_shards(testctx, 2, 3);
    assert_int_equal(tsr_results_size(results), 10);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::fails"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/math.test.js::nested > deeper > adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/unit/setup.test.js::the setup file ran"),
                     TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);

    //  A test that kills its worker, one that hangs (the per-run limit kills
    //  vitest), one that fails once: each reported once, in one run() call
    char *flaky_dir = zsys_sprintf("%s/flaky", testctx->root);
    assert_int_equal(mkdir(flaky_dir, 0755), 0);
    char *flaky_env = zsys_sprintf("TSR_EXAMPLE_FLAKY_DIR=%s", flaky_dir);
    const char *const misbehave[] = {"TSR_EXAMPLE_CRASH=1", "TSR_EXAMPLE_HANG=1", flaky_env, NULL};
    testctx->timeout_ms = 15000;
    results = s_run_special(testctx, "test/special.test.js", misbehave);
    testctx->timeout_ms = 0;
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::slow"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::hang"),
                     TESSERA__OUTCOME__TIMED_OUT);
    assert_int_equal(tsr_fw_test_outcome(results, "test/special.test.js::flaky"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_results_size(results), 4);
    tsr_results_destroy(&results);
    zstr_free(&flaky_env);
    zstr_free(&flaky_dir);

    //  Not a test run
    const char *const bench[] = {"npx", "vitest", "bench", NULL};
    tsr_fw_testctx_t *other = tsr_fw_testctx_new(NULL, bench);
    zlistx_t *ids = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_npm_entry.list(&other->ctx, ids, ids), TSR_ECONFIG);
    zlistx_destroy(&ids);
    tsr_fw_testctx_destroy(&other);
    tsr_fw_testctx_destroy(&testctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npm_cmd_parse_reads_direct_commands),
        cmocka_unit_test(test_npm_cmd_parse_reads_the_test_script),
        cmocka_unit_test(test_npm_node_test_files_follow_node_rules),
        cmocka_unit_test(test_npm_parse_file_list_reads_jest_list),
        cmocka_unit_test(test_npm_parse_event_files_reads_a_mocha_dry_run),
        cmocka_unit_test(test_npm_parse_events_reads_node_test),
        cmocka_unit_test(test_npm_parse_events_reads_jest_and_mocha),
        cmocka_unit_test(test_npm_parse_events_rejects_foreign_lines),
        cmocka_unit_test(test_npm_group_is_the_file),
        cmocka_unit_test(test_npm_node_test_shards_equal_one_run),
        cmocka_unit_test(test_npm_jest_shards_equal_one_run),
        cmocka_unit_test(test_npm_mocha_shards_equal_one_run),
        cmocka_unit_test(test_npm_parse_vitest_list_reads_files_and_rejects_bad_input),
        cmocka_unit_test(test_npm_report_reads_vitest),
        cmocka_unit_test(test_npm_report_marks_the_test_a_vitest_worker_died_in),
        cmocka_unit_test(test_npm_report_marks_the_test_jest_and_mocha_died_in),
        cmocka_unit_test(test_npm_report_marks_node_test_crashes_per_file),
        cmocka_unit_test(test_npm_report_marks_what_died_outside_tests_and_nothing_else),
        cmocka_unit_test(test_npm_report_rejects_lines_not_in_our_format),
        cmocka_unit_test(test_npm_vitest_shards_equal_one_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
