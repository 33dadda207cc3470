/*  Unit tests for tsr_spec: every key of tessera.yml, the errors a user gets
    (file, line, column), `needs` checks, and framework detection.         */
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

#include "tsr_spec.h"
#include "tsr_testdir.h"

//  Parse `text` as "tessera.yml" into `spec`; *error_out gets the message.
static int
s_parse(tsr_spec_t *spec, const char *text, char **error_out)
{
    return tsr_spec_parse(spec, "tessera.yml", text, strlen(text), error_out);
}

//  Parsing `text` must fail with exactly `expected`.
static void
s_assert_rejected(const char *text, const char *expected)
{
    tsr_spec_t *spec = tsr_spec_new();
    char *error = NULL;
    int rc = s_parse(spec, text, &error);
    if (rc != TSR_ECONFIG || !error || strcmp(error, expected) != 0)
        print_error("text:\n%s\nexpected: %s\ngot (%d): %s\n", text, expected, rc,
                    error ? error : "(none)");
    assert_int_equal(rc, TSR_ECONFIG);
    assert_non_null(error);
    assert_string_equal(error, expected);
    assert_int_equal(zlistx_size(tsr_spec_jobs(spec)), 0);
    free(error);
    tsr_spec_destroy(&spec);
}

//  The list's items, joined by '|'.
static char *
s_join(zlistx_t *list)
{
    static char joined[1024];
    joined[0] = '\0';
    for (const char *item = zlistx_first(list); item; item = zlistx_next(list)) {
        if (joined[0])
            strcat(joined, "|");
        strcat(joined, item);
    }
    return joined;
}

static void
test_spec_parse_reads_every_key(void **state)
{
    (void)state;
    tsr_spec_t *spec = tsr_spec_new();
    char *error = NULL;
    int rc = s_parse(spec,
                     "project: demo\n"
                     "ignore: [build/, \"*.o\"]\n"
                     "jobs:\n"
                     "  build:\n"
                     "    command: [make, -j4]\n"
                     "  unit:\n"
                     "    command: python3 -m pytest tests\n"
                     "    framework: pytest\n"
                     "    env: {PYTHONHASHSEED: \"0\", CI: true}\n"
                     "    timeout: 600\n"
                     "    slow: 5\n"
                     "    threads: 2\n"
                     "    labels:\n"
                     "      os: linux\n"
                     "      arch: x86_64\n"
                     "    needs: [build]\n"
                     "    shards: auto\n"
                     "    retries: 1\n"
                     "    workdir: sub/dir\n",
                     &error);
    assert_null(error);
    assert_int_equal(rc, TSR_OK);
    assert_string_equal(tsr_spec_project(spec), "demo");
    assert_string_equal(s_join(tsr_spec_ignore(spec)), "build/|*.o");
    assert_int_equal(zlistx_size(tsr_spec_jobs(spec)), 2);

    tsr_job_spec_t *build = zlistx_first(tsr_spec_jobs(spec));
    assert_string_equal(build->name, "build"); //  file order
    assert_string_equal(s_join(build->argv), "make|-j4");
    assert_string_equal(build->framework, "command");
    assert_int_equal(build->shards, 1); //  a plain command runs once by default
    assert_int_equal(build->threads, 1);
    assert_int_equal(build->timeout_s, 0);
    assert_int_equal(build->slow_s, 0); //  off unless asked
    assert_int_equal(build->retries, 0);
    assert_string_equal(build->workdir, "");
    assert_int_equal(zlistx_size(build->needs), 0);

    tsr_job_spec_t *unit = zlistx_next(tsr_spec_jobs(spec));
    assert_non_null(unit);
    assert_ptr_equal(tsr_spec_job(spec, "unit"), unit);
    //  A lookup leaves the cursor where it was
    assert_ptr_equal(zlistx_handle_item(zlistx_cursor(tsr_spec_jobs(spec))), unit);
    assert_string_equal(unit->name, "unit");
    assert_string_equal(s_join(unit->argv), "sh|-c|python3 -m pytest tests");
    assert_string_equal(unit->framework, "pytest");
    assert_string_equal(s_join(unit->env), "PYTHONHASHSEED=0|CI=true");
    assert_int_equal(unit->timeout_s, 600);
    assert_int_equal(unit->slow_s, 5);
    assert_int_equal(unit->threads, 2);
    assert_string_equal(s_join(unit->labels), "os=linux|arch=x86_64");
    assert_string_equal(s_join(unit->needs), "build");
    assert_int_equal(unit->shards, 0);
    assert_int_equal(unit->retries, 1);
    assert_string_equal(unit->workdir, "sub/dir");
    assert_null(tsr_spec_job(spec, "absent"));
    tsr_spec_destroy(&spec);
    assert_null(spec);
    tsr_spec_destroy(&spec); //  NULL-safe
}

static void
test_spec_string_command_runs_via_sh(void **state)
{
    (void)state;
    tsr_spec_t *spec = tsr_spec_new();
    int rc = s_parse(spec, "jobs:\n  lint:\n    command: ./lint.sh && echo ok\n", NULL);
    assert_int_equal(rc, TSR_OK);
    tsr_job_spec_t *lint = tsr_spec_job(spec, "lint");
    assert_non_null(lint);
    assert_string_equal(s_join(lint->argv), "sh|-c|./lint.sh && echo ok");
    assert_string_equal(lint->framework, "command");
    assert_null(tsr_spec_project(spec));

    //  A plain command line is looked into; shell syntax is not guessed at
    int rc2 = s_parse(spec,
                      "jobs:\n"
                      "  py: {command: \"python3  -m pytest\\ttests\"}\n"
                      "  rs: {command: cargo test}\n"
                      "  cd: {command: cd sub && pytest}\n"
                      "  var: {command: PYTHONPATH=. pytest}\n",
                      NULL);
    assert_int_equal(rc2, TSR_OK);
    assert_string_equal(tsr_spec_job(spec, "py")->framework, "pytest");
    assert_string_equal(s_join(tsr_spec_job(spec, "py")->argv), "sh|-c|python3  -m pytest\ttests");
    assert_string_equal(tsr_spec_job(spec, "rs")->framework, "cargo");
    assert_string_equal(tsr_spec_job(spec, "cd")->framework, "command");
    assert_string_equal(tsr_spec_job(spec, "var")->framework, "command");
    tsr_spec_destroy(&spec);
}

static void
test_spec_detects_framework_of_list_command(void **state)
{
    (void)state;
    tsr_spec_t *spec = tsr_spec_new();
    int rc = s_parse(spec,
                     "jobs:\n"
                     "  rust: {command: [cargo, test, --workspace]}\n"
                     "  js: {command: [npx, jest], shards: 4}\n",
                     NULL);
    assert_int_equal(rc, TSR_OK);
    tsr_job_spec_t *rust = tsr_spec_job(spec, "rust");
    assert_string_equal(rust->framework, "cargo");
    assert_int_equal(rust->shards, 0); //  a test framework is split automatically
    tsr_job_spec_t *js = tsr_spec_job(spec, "js");
    assert_string_equal(js->framework, "npm");
    assert_int_equal(js->shards, 4);
    tsr_spec_destroy(&spec);
}

static void
test_spec_syntax_error_reports_line(void **state)
{
    (void)state;
    //  Unclosed bracket on line 4: reported there, not where libyaml gave up
    tsr_spec_t *spec = tsr_spec_new();
    char *error = NULL;
    int rc = s_parse(spec,
                     "project: demo\n"
                     "jobs:\n"
                     "  unit:\n"
                     "    command: [pytest, -x\n"
                     "    timeout: 60\n",
                     &error);
    assert_int_equal(rc, TSR_ECONFIG);
    assert_non_null(error);
    assert_memory_equal(error, "tessera.yml:4:14: ", strlen("tessera.yml:4:14: "));
    assert_non_null(strstr(error, "did not find expected ',' or ']'"));
    free(error);

    //  A problem without an open construct is reported where libyaml saw it
    error = NULL;
    rc = s_parse(spec, "jobs:\n  unit:\n    command: x\n   timeout: 5\n", &error);
    assert_int_equal(rc, TSR_ECONFIG);
    assert_non_null(error);
    assert_memory_equal(error, "tessera.yml:4:4: did not find expected key",
                        strlen("tessera.yml:4:4: did not find expected key"));
    free(error);
    tsr_spec_destroy(&spec);
}

static void
test_spec_rejects_unknown_key_at_its_line_and_column(void **state)
{
    (void)state;
    s_assert_rejected("jobs:\n"
                      "  unit:\n"
                      "    command: pytest\n"
                      "    timeout: 60\n"
                      "    shrads: 4\n",
                      "tessera.yml:5:5: unknown key 'shrads'");
    s_assert_rejected("project: x\nproject_name: y\njobs: {a: {command: x}}\n",
                      "tessera.yml:2:1: unknown key 'project_name'");
}

static void
test_spec_rejects_wrong_types(void **state)
{
    (void)state;
    s_assert_rejected("jobs:\n  a:\n    command: x\n    timeout: -1\n",
                      "tessera.yml:4:14: 'timeout' must be a non-negative integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    timeout: 1m\n",
                      "tessera.yml:4:14: 'timeout' must be a non-negative integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    slow: -1\n",
                      "tessera.yml:4:11: 'slow' must be a non-negative integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    slow: 1.5\n",
                      "tessera.yml:4:11: 'slow' must be a non-negative integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    slow: 2s\n",
                      "tessera.yml:4:11: 'slow' must be a non-negative integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    slow: [1]\n",
                      "tessera.yml:4:11: 'slow' must be a non-negative integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    slow: 4294967296\n",
                      "tessera.yml:4:11: 'slow' must be at most 4294967295");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    threads: 0\n",
                      "tessera.yml:4:14: 'threads' must be a positive integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    shards: many\n",
                      "tessera.yml:4:13: 'shards' must be a positive integer or 'auto'");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    shards: 0\n",
                      "tessera.yml:4:13: 'shards' must be a positive integer");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    env: [A, B]\n",
                      "tessera.yml:4:10: 'env' must be a mapping");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    env: {A: [1]}\n",
                      "tessera.yml:4:14: 'env.A' must be a string");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    needs: b\n",
                      "tessera.yml:4:12: 'needs' must be a list of strings");
    s_assert_rejected("jobs:\n  a:\n    command: {run: x}\n",
                      "tessera.yml:3:14: 'command' must be a string or a list of strings");
    s_assert_rejected("jobs:\n  a:\n    command: []\n",
                      "tessera.yml:3:14: 'command' must not be empty");
    s_assert_rejected("jobs:\n  a:\n    command: \"\"\n",
                      "tessera.yml:3:14: 'command' must not be empty");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    framework: maven\n",
                      "tessera.yml:4:16: 'framework' must be command, pytest, cargo or npm");
    s_assert_rejected("jobs:\n  a: echo hi\n", "tessera.yml:2:6: 'a' must be a mapping");
    s_assert_rejected("jobs: [a]\n", "tessera.yml:1:7: 'jobs' must be a mapping");
    s_assert_rejected("ignore: build/\njobs: {a: {command: x}}\n",
                      "tessera.yml:1:9: 'ignore' must be a list of strings");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    command: y\n",
                      "tessera.yml:4:5: duplicate key 'command'");
    s_assert_rejected("jobs:\n  \"a b\":\n    command: x\n",
                      "tessera.yml:2:3: job name 'a b' must be 1-128 letters, digits, '.', '_' "
                      "or '-' (not starting with '.')");
    s_assert_rejected("jobs:\n  a:\n    command: \"x\\0y\"\n",
                      "tessera.yml:3:14: 'command' must be a string");
}

static void
test_spec_rejects_unsafe_workdir(void **state)
{
    (void)state;
    s_assert_rejected("jobs:\n  a:\n    command: x\n    workdir: /etc\n",
                      "tessera.yml:4:14: 'workdir' must be a relative path without '..'");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    workdir: sub/../../up\n",
                      "tessera.yml:4:14: 'workdir' must be a relative path without '..'");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    workdir: ..\n",
                      "tessera.yml:4:14: 'workdir' must be a relative path without '..'");
    tsr_spec_t *spec = tsr_spec_new();
    assert_int_equal(s_parse(spec, "jobs: {a: {command: x, workdir: a/..b/c..}}\n", NULL), TSR_OK);
    assert_string_equal(tsr_spec_job(spec, "a")->workdir, "a/..b/c..");
    tsr_spec_destroy(&spec);
}

static void
test_spec_rejects_job_without_command(void **state)
{
    (void)state;
    s_assert_rejected("jobs:\n  a:\n    command: x\n  b:\n    timeout: 5\n",
                      "tessera.yml:4:3: job 'b' has no 'command'");
}

static void
test_spec_rejects_no_jobs(void **state)
{
    (void)state;
    s_assert_rejected("", "tessera.yml:1:1: no jobs");
    s_assert_rejected("# just a comment\n", "tessera.yml:1:1: no jobs");
    s_assert_rejected("project: demo\n", "tessera.yml:1:1: no jobs");
    s_assert_rejected("project: demo\njobs: {}\n", "tessera.yml:2:7: no jobs");
    s_assert_rejected("- jobs\n", "tessera.yml:1:1: the top level must be a mapping");
    s_assert_rejected("jobs: {a: {command: x}}\n---\njobs: {b: {command: y}}\n",
                      "tessera.yml:3:1: only one YAML document is allowed");
}

static void
test_spec_rejects_needs_of_missing_job(void **state)
{
    (void)state;
    s_assert_rejected("jobs:\n"
                      "  build:\n"
                      "    command: make\n"
                      "  unit:\n"
                      "    command: pytest\n"
                      "    needs:\n"
                      "      - build\n"
                      "      - generate\n",
                      "tessera.yml:8:9: job 'unit' needs unknown job 'generate'");
    s_assert_rejected("jobs:\n  a:\n    command: x\n    needs: [a]\n",
                      "tessera.yml:4:13: job 'a' needs itself");
}

static void
test_spec_rejects_needs_cycle(void **state)
{
    (void)state;
    s_assert_rejected("jobs:\n"
                      "  a:\n"
                      "    command: x\n"
                      "    needs: [b]\n"
                      "  b:\n"
                      "    command: y\n"
                      "    needs: [a]\n",
                      "tessera.yml:4:5: job 'a' is in a dependency cycle: a -> b -> a");
    //  A longer cycle behind a job that is not part of it
    s_assert_rejected("jobs:\n"
                      "  top: {command: x, needs: [c]}\n"
                      "  c: {command: x, needs: [d]}\n"
                      "  d: {command: x, needs: [e]}\n"
                      "  e: {command: x, needs: [c]}\n",
                      "tessera.yml:3:19: job 'c' is in a dependency cycle: c -> d -> e -> c");
    //  A diamond is not a cycle
    tsr_spec_t *spec = tsr_spec_new();
    int rc = s_parse(spec,
                     "jobs:\n"
                     "  a: {command: x, needs: [b, c]}\n"
                     "  b: {command: x, needs: [d]}\n"
                     "  c: {command: x, needs: [d]}\n"
                     "  d: {command: x}\n",
                     NULL);
    assert_int_equal(rc, TSR_OK);
    tsr_spec_destroy(&spec);
}

static void
test_spec_failed_parse_keeps_previous_contents(void **state)
{
    (void)state;
    tsr_spec_t *spec = tsr_spec_new();
    assert_int_equal(s_parse(spec, "project: one\njobs: {a: {command: x}}\n", NULL), TSR_OK);
    char *error = NULL;
    assert_int_equal(s_parse(spec, "project: two\njobs: {b: {command: x, oops: 1}}\n", &error),
                     TSR_ECONFIG);
    free(error);
    assert_string_equal(tsr_spec_project(spec), "one");
    assert_non_null(tsr_spec_job(spec, "a"));
    assert_null(tsr_spec_job(spec, "b"));
    //  A good parse replaces everything
    assert_int_equal(s_parse(spec, "jobs: {c: {command: x}}\n", NULL), TSR_OK);
    assert_null(tsr_spec_project(spec));
    assert_null(tsr_spec_job(spec, "a"));
    assert_non_null(tsr_spec_job(spec, "c"));
    tsr_spec_destroy(&spec);
}

static void
test_spec_load_reads_file_and_reports_path(void **state)
{
    (void)state;
    char *dir = tsr_testdir_new("spec");
    char path[300];
    snprintf(path, sizeof path, "%s/tessera.yml", dir);

    tsr_spec_t *spec = tsr_spec_new();
    char *error = NULL;
    assert_int_equal(tsr_spec_load(spec, path, &error), -ENOENT);
    assert_non_null(error);
    assert_non_null(strstr(error, path));
    free(error);

    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("jobs:\n  unit:\n    command: pytest\n    shrads: 2\n", file);
    assert_int_equal(fclose(file), 0);
    error = NULL;
    assert_int_equal(tsr_spec_load(spec, path, &error), TSR_ECONFIG);
    char expected[400];
    snprintf(expected, sizeof expected, "%s:4:5: unknown key 'shrads'", path);
    assert_string_equal(error, expected);
    free(error);

    file = fopen(path, "w");
    assert_non_null(file);
    fputs("jobs:\n  unit:\n    command: pytest\n", file);
    assert_int_equal(fclose(file), 0);
    error = NULL;
    assert_int_equal(tsr_spec_load(spec, path, &error), TSR_OK);
    assert_null(error);
    assert_string_equal(tsr_spec_job(spec, "unit")->framework, "pytest");

    tsr_spec_destroy(&spec);
    tsr_testdir_destroy(&dir);
}

static void
test_spec_add_command_copies_argv_and_detects_framework(void **state)
{
    (void)state;
    tsr_spec_t *spec = tsr_spec_new();
    char arg0[] = "cargo", arg1[] = "test", arg2[] = "--release";
    char *argv[] = {arg0, arg1, arg2, NULL};
    assert_int_equal(tsr_spec_add_command(spec, NULL, 3, argv), TSR_OK);
    arg1[0] = 'X'; //  the spec holds its own copy
    tsr_job_spec_t *job = tsr_spec_job(spec, "default");
    assert_non_null(job);
    assert_string_equal(s_join(job->argv), "cargo|test|--release");
    assert_string_equal(job->framework, "cargo");
    assert_int_equal(job->threads, 1);
    assert_string_equal(job->workdir, "");

    char *echo[] = {"echo", "hi", NULL};
    assert_int_equal(tsr_spec_add_command(spec, "greet", 2, echo), TSR_OK);
    assert_string_equal(tsr_spec_job(spec, "greet")->framework, "command");
    assert_int_equal(tsr_spec_job(spec, "greet")->shards, 1);
    assert_int_equal(zlistx_size(tsr_spec_jobs(spec)), 2);

    assert_int_equal(tsr_spec_add_command(spec, "greet", 2, echo), TSR_EINVAL); //  taken
    assert_int_equal(tsr_spec_add_command(spec, "other", 0, echo), TSR_EINVAL);
    char *empty[] = {"", NULL};
    assert_int_equal(tsr_spec_add_command(spec, "other", 1, empty), TSR_EINVAL);
    assert_int_equal(zlistx_size(tsr_spec_jobs(spec)), 2);
    tsr_spec_destroy(&spec);
}

static void
test_spec_detect_framework_table(void **state)
{
    (void)state;
    static const struct {
        const char *framework;
        const char *argv[8];
    } cases[] = {
        {"pytest", {"pytest", "-x", "tests"}},
        {"pytest", {"/usr/bin/py.test"}},
        {"pytest", {"python3", "-m", "pytest", "tests"}},
        {"pytest", {"python", "-u", "-W", "error", "-m", "pytest"}},
        {"pytest", {"/opt/venv/bin/python3.12", "-m", "pytest"}},
        {"command", {"python3", "script.py", "-m", "pytest"}},
        {"command", {"python3", "-m", "unittest"}},
        {"command", {"python3", "-c", "import pytest"}},
        {"cargo", {"cargo", "test"}},
        {"cargo", {"cargo", "+nightly", "test", "--workspace"}},
        {"cargo", {"cargo", "--color", "always", "nextest", "run"}},
        {"command", {"cargo", "build"}},
        {"command", {"cargo"}},
        {"npm", {"npm", "test"}},
        {"npm", {"npm", "t"}},
        {"npm", {"npm", "run", "test"}},
        {"npm", {"npm", "--silent", "run", "test", "--", "--ci"}},
        {"command", {"npm", "run", "build"}},
        {"command", {"npm", "install"}},
        {"npm", {"npx", "jest", "--ci"}},
        {"npm", {"npx", "mocha"}},
        {"npm", {"npx", "--yes", "vitest", "run"}},
        {"command", {"npx", "eslint"}},
        {"npm", {"jest"}},
        {"npm", {"./node_modules/.bin/mocha"}},
        {"npm", {"vitest", "run"}},
        {"npm", {"node", "--test"}},
        {"npm", {"node", "--test", "test/"}},
        {"command", {"node", "server.js", "--test"}},
        {"command", {"make", "check"}},
        {"command", {"sh", "-c", "pytest"}},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        int argc = 0;
        while (cases[index].argv[argc])
            argc++;
        const char *detected =
            tsr_spec_detect_framework(argc, (char *const *)(uintptr_t)cases[index].argv);
        if (strcmp(detected, cases[index].framework) != 0)
            print_error("case %zu (%s ...): got %s\n", index, cases[index].argv[0], detected);
        assert_string_equal(detected, cases[index].framework);
    }
    assert_string_equal(tsr_spec_detect_framework(0, NULL), "command");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse_reads_every_key),
        cmocka_unit_test(test_spec_string_command_runs_via_sh),
        cmocka_unit_test(test_spec_detects_framework_of_list_command),
        cmocka_unit_test(test_spec_syntax_error_reports_line),
        cmocka_unit_test(test_spec_rejects_unknown_key_at_its_line_and_column),
        cmocka_unit_test(test_spec_rejects_wrong_types),
        cmocka_unit_test(test_spec_rejects_unsafe_workdir),
        cmocka_unit_test(test_spec_rejects_job_without_command),
        cmocka_unit_test(test_spec_rejects_no_jobs),
        cmocka_unit_test(test_spec_rejects_needs_of_missing_job),
        cmocka_unit_test(test_spec_rejects_needs_cycle),
        cmocka_unit_test(test_spec_failed_parse_keeps_previous_contents),
        cmocka_unit_test(test_spec_load_reads_file_and_reports_path),
        cmocka_unit_test(test_spec_add_command_copies_argv_and_detects_framework),
        cmocka_unit_test(test_spec_detect_framework_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
