/*  Unit tests for tsr_fw_pytest: the listing, JUnit and progress parsers on
    captured pytest 7.2 output (tests/unit/fixtures/pytest, from
    examples/pytest), bad input, and the procedures running the real
    /usr/bin/python3 -m pytest on a copy of examples/pytest: shards equal a
    serial run, crashes and timeouts keep what finished.                  */
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
#include "tsr_fw_pytest.h"
#include "tsr_fw_testctx.h"

#define FIXTURES TSR_SOURCE_DIR "/tests/unit/fixtures/pytest"
#define EXAMPLE TSR_SOURCE_DIR "/examples/pytest"

static const char *const s_pytest_argv[] = {"/usr/bin/python3", "-m", "pytest", NULL};

//  The first `bytes` of a fixture, as a temp file (a torn report)
static char *
s_truncated_fixture(const char *fixture, size_t bytes)
{
    char *text = NULL;
    assert_int_equal(tsr_fw_file_read(fixture, 1u << 20, &text), TSR_OK);
    assert_true(strlen(text) > bytes);
    text[bytes] = '\0';
    char *path = tsr_fw_test_temp_file(text);
    free(text);
    return path;
}

static void
test_pytest_parse_list_reads_ids_and_collection_errors(void **state)
{
    (void)state;
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_pytest_parse_list(FIXTURES "/list.json", ids, errors), TSR_OK);
    assert_int_equal(zlistx_size(ids), 27);
    assert_string_equal(zlistx_first(ids), "tests/test_basic.py::test_pass");
    //  pytest's order: files of a directory before its subdirectories
    assert_true(tsr_fw_strlist_has(ids, "tests/test_basic.py::test_param[a::b]"));
    assert_true(tsr_fw_strlist_has(ids, "tests/test_basic.py::TestGroup::TestInner::test_nested"));
    //  The module skipped at collection is listed, so a shard runs and reports it
    assert_string_equal(zlistx_last(ids), "tests/test_importorskip.py");
    assert_int_equal(zlistx_size(errors), 1);
    assert_string_equal(zlistx_first(errors), "tests/test_broken.py");
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
}

static void
test_pytest_parse_list_rejects_bad_json(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "garbage",
        "{\"ids\": [\"a\", \"b\"",               //  torn
        "[\"a\"]",                               //  not an object
        "{\"ids\": \"a\", \"errors\": []}",      //  not an array
        "{\"ids\": [\"a\", 3], \"errors\": []}", //  not strings
        "{\"ids\": [\"a\"]}",                    //  no errors
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        zlistx_t *ids = tsr_fw_strlist_new();
        zlistx_t *errors = tsr_fw_strlist_new();
        assert_int_equal(tsr_fw_pytest_parse_list(path, ids, errors), TSR_EPARSE);
        assert_int_equal(zlistx_size(ids), 0); //  all or nothing
        assert_int_equal(zlistx_size(errors), 0);
        zlistx_destroy(&ids);
        zlistx_destroy(&errors);
        tsr_fw_test_remove(&path);
    }
    zlistx_t *ids = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_pytest_parse_list("/nonexistent/list.json", ids, ids), -ENOENT);
    zlistx_destroy(&ids);
}

static void
test_pytest_parse_junit_maps_every_outcome(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_junit(FIXTURES "/junit.xml", NULL, results), TSR_OK);
    //  26 tests + the module skipped at collection + the collection error
    assert_int_equal(tsr_results_size(results), 28);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_pass"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_fail"),
                     TESSERA__OUTCOME__FAILED);
    const tsr_test_result_t *failed = tsr_results_find(results, "tests/test_basic.py::test_fail");
    assert_non_null(failed->message);
    assert_non_null(strstr(failed->message, "arithmetic is broken"));
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_skip"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_skip_inside"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_xfail"),
                     TESSERA__OUTCOME__XFAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_xpass"),
                     TESSERA__OUTCOME__XPASSED);
    //  strict: an unexpected pass is a failure
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_xpass_strict"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_fixture_error"),
                     TESSERA__OUTCOME__ERROR);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_param[2]"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_param[a::b]"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(
        tsr_fw_test_outcome(results, "tests/test_basic.py::TestGroup::TestInner::test_nested"),
        TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_importorskip.py"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_broken.py"), TESSERA__OUTCOME__ERROR);
    const tsr_test_result_t *slow = tsr_results_find(results, "tests/test_special.py::test_slow");
    assert_non_null(slow);
    assert_true(slow->duration_ms >= 190 && slow->duration_ms < 2000);
    tsr_results_destroy(&results);
}

static void
test_pytest_parse_junit_maps_names_back_without_plugin(void **state)
{
    (void)state;
    //  pytest's own naming (classname "tests.test_basic.TestGroup") maps back
    //  to the requested node ids; xpass is not visible there
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_pytest_parse_list(FIXTURES "/list.json", ids, errors), TSR_OK);
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_junit(FIXTURES "/junit-without-plugin.xml", ids, results),
                     TSR_OK);
    assert_int_equal(tsr_results_size(results), 28);
    for (const char *id = (const char *)zlistx_first(ids); id; id = (const char *)zlistx_next(ids))
        assert_non_null(tsr_results_find(results, id));
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_basic.py::test_xpass"),
                     TESSERA__OUTCOME__PASSED);
    //  Not requested: rebuilt from the dotted module name
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_broken.py"), TESSERA__OUTCOME__ERROR);
    tsr_results_destroy(&results);
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
}

static void
test_pytest_parse_junit_rejects_bad_xml(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "garbage", "<html><body>not junit</body></html>",
        "<?xml version=\"1.0\"?><testsuites><testsuite><testcase name=\"x\">",
        "<!DOCTYPE t [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><testsuites>&e;</testsuites"};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        tsr_results_t *results = tsr_results_new();
        assert_int_equal(tsr_fw_pytest_parse_junit(path, NULL, results), TSR_EPARSE);
        assert_int_equal(tsr_results_size(results), 0);
        tsr_results_destroy(&results);
        tsr_fw_test_remove(&path);
    }
    char *torn = s_truncated_fixture(FIXTURES "/junit.xml", 3000);
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_junit(torn, NULL, results), TSR_EPARSE);
    assert_int_equal(tsr_results_size(results), 0);
    assert_int_equal(tsr_fw_pytest_parse_junit("/nonexistent.xml", NULL, results), -ENOENT);
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&torn);
}

static void
test_pytest_parse_junit_never_expands_entities(void **state)
{
    (void)state;
    char *path =
        tsr_fw_test_temp_file("<?xml version=\"1.0\"?>\n"
                              "<!DOCTYPE testsuites [<!ENTITY secret SYSTEM \"/etc/hostname\">]>\n"
                              "<testsuites><testsuite><testcase classname=\"c\" name=\"n\">"
                              "<failure>&secret;</failure></testcase></testsuite></testsuites>\n");
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_junit(path, NULL, results), TSR_OK);
    assert_int_equal(tsr_results_size(results), 1);
    const tsr_test_result_t *result = tsr_results_at(results, 0);
    assert_string_equal(result->id, "c::n");
    assert_int_equal(result->outcome, TESSERA__OUTCOME__FAILED);
    //  The failure text is empty, not the file's content
    assert_true(result->message == NULL || *result->message == '\0');
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&path);
}

static void
test_pytest_parse_progress_keeps_finished_tests(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_progress(FIXTURES "/progress-crashed.jsonl", results),
                     TSR_OK);
    assert_int_equal(tsr_results_size(results), 3);
    assert_string_equal(tsr_results_at(results, 2)->id, "tests/test_special.py::test_slow");
    assert_true(tsr_results_at(results, 2)->duration_ms >= 190);
    tsr_results_destroy(&results);

    //  A line torn by the crash is skipped
    char *torn = s_truncated_fixture(FIXTURES "/progress-crashed.jsonl", 250);
    results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_progress(torn, results), TSR_OK);
    assert_int_equal(tsr_results_size(results), 2);
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&torn);

    char *bad =
        tsr_fw_test_temp_file("{\"id\": \"a\", \"outcome\": \"exploded\", \"duration_s\": 1}\n");
    results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_progress(bad, results), TSR_EPARSE);
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&bad);
}

static void
test_pytest_group_is_the_file(void **state)
{
    (void)state;
    char *group = tsr_fw_pytest_group("tests/test_basic.py::test_param[a::b]");
    assert_string_equal(group, "tests/test_basic.py");
    free(group);
    group = tsr_fw_pytest_group("tests/test_importorskip.py");
    assert_string_equal(group, "tests/test_importorskip.py");
    free(group);
}

static void
test_pytest_argv_appends_to_the_user_command(void **state)
{
    (void)state;
    const char *const user[] = {"pytest", "-x", "tests", NULL};
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_pytest_list_argv(user, argv);
    assert_string_equal(zlistx_first(argv), "pytest");
    assert_true(tsr_fw_strlist_has(argv, "--collect-only"));
    assert_string_equal(zlistx_last(argv), TSR_FW_PYTEST_PLUGIN);
    zlistx_purge(argv);
    tsr_fw_pytest_run_argv(user, "/s/junit.xml", argv);
    assert_true(tsr_fw_strlist_has(argv, "tests"));
    assert_true(tsr_fw_strlist_has(argv, "--junitxml=/s/junit.xml"));
    assert_true(tsr_fw_strlist_has(argv, "no:cacheprovider"));
    assert_false(tsr_fw_strlist_has(argv, "--collect-only"));
    zlistx_destroy(&argv);
}

//  ------------------------------------------------------------------------
//  Procedures on the real pytest

static void
s_list_example(tsr_fw_testctx_t *testctx, zlistx_t *ids)
{
    zlistx_t *errors = tsr_fw_strlist_new();
    int rc = tsr_fw_pytest_entry.list(&testctx->ctx, ids, errors);
    if (rc != TSR_OK) {
        char *log = tsr_fw_testctx_log(testctx);
        fail_msg("list: %s\n%s", tsr_err_name(rc), log);
    }
    assert_int_equal(zlistx_size(errors), 0);
    zlistx_destroy(&errors);
}

static void
test_pytest_list_and_shards_equal_a_serial_run(void **state)
{
    (void)state;
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLE, s_pytest_argv);
    zlistx_t *ids = tsr_fw_strlist_new();
    s_list_example(testctx, ids);
    assert_int_equal(zlistx_size(ids), 27);
    assert_string_equal(zlistx_last(ids), "tests/test_importorskip.py");

    //  The serial run: plain pytest, its JUnit mapped to the listed ids
    char *serial_junit = zsys_sprintf("%s/serial.xml", testctx->root);
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_strlist_add_all(argv, s_pytest_argv);
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "no:cacheprovider");
    tsr_fw_strlist_addf(argv, "--junitxml=%s", serial_junit);
    int exit_code;
    assert_int_equal(tsr_fw_exec(&testctx->ctx, argv, NULL, NULL, NULL, &exit_code), TSR_OK);
    assert_int_equal(exit_code, 1);
    tsr_results_t *serial = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_junit(serial_junit, ids, serial), TSR_OK);

    //  Two shards by file: even and odd groups
    zlistx_t *shards[2] = {tsr_fw_strlist_new(), tsr_fw_strlist_new()};
    size_t group_index = 0;
    char *previous = NULL;
    for (const char *id = (const char *)zlistx_first(ids); id;
         id = (const char *)zlistx_next(ids)) {
        char *group = tsr_fw_pytest_group(id);
        if (previous && !streq(previous, group))
            group_index++;
        free(previous);
        previous = group;
        zlistx_add_end(shards[group_index % 2], (void *)id);
    }
    free(previous);
    tsr_results_t *merged = tsr_results_new();
    for (size_t shard = 0; shard < 2; shard++) {
        assert_int_equal(tsr_fw_pytest_entry.run(&testctx->ctx, shards[shard], merged, &exit_code),
                         TSR_OK);
        assert_int_equal(exit_code, shard == 0 ? 1 : 0); //  test_basic.py fails
    }
    //  Same ids, same outcomes, nothing twice (xpass is only visible to us)
    assert_int_equal(tsr_results_size(merged), tsr_results_size(serial));
    assert_int_equal(tsr_results_size(merged), 27);
    for (size_t index = 0; index < tsr_results_size(serial); index++) {
        const tsr_test_result_t *expected = tsr_results_at(serial, index);
        const tsr_test_result_t *got = tsr_results_find(merged, expected->id);
        if (!got)
            fail_msg("missing %s", expected->id);
        Tessera__Outcome outcome =
            got->outcome == TESSERA__OUTCOME__XPASSED ? TESSERA__OUTCOME__PASSED : got->outcome;
        if (outcome != expected->outcome)
            fail_msg("%s: %d, serial %d", expected->id, got->outcome, expected->outcome);
    }
    assert_int_equal(tsr_fw_test_outcome(merged, "tests/test_basic.py::test_xpass"),
                     TESSERA__OUTCOME__XPASSED);
    //  Bytecode went to the cache dir, not the workspace
    char *pycache = zsys_sprintf("%s/pycache", testctx->cache_dir);
    struct stat info;
    assert_int_equal(stat(pycache, &info), 0);
    zstr_free(&pycache);

    tsr_results_destroy(&merged);
    tsr_results_destroy(&serial);
    zlistx_destroy(&shards[0]);
    zlistx_destroy(&shards[1]);
    zlistx_destroy(&argv);
    zstr_free(&serial_junit);
    zlistx_destroy(&ids);
    tsr_fw_testctx_destroy(&testctx);
}

static void
test_pytest_run_selects_exactly_the_ids_and_keeps_order(void **state)
{
    (void)state;
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLE, s_pytest_argv);
    //  Thousands of ids go through the file, never the command line
    assert_int_equal(tsr_fw_testctx_shell(testctx, "printf 'import pytest\\n\\n"
                                                   "@pytest.mark.parametrize(\"n\", range(3000))\\n"
                                                   "def test_many(n):\\n    pass\\n'"
                                                   " > tests/test_many.py"),
                     0);
    zlistx_t *ids = tsr_fw_strlist_new();
    s_list_example(testctx, ids);
    assert_int_equal(zlistx_size(ids), 3027);
    //  Every other param, and two ids of other files given in reverse order
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(shard, "tests/sub/test_more.py::test_sub_pass");
    for (int n = 0; n < 3000; n += 2)
        tsr_fw_strlist_addf(shard, "tests/test_many.py::test_many[%d]", n);
    tsr_fw_strlist_addf(shard, "tests/test_basic.py::test_pass");
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    assert_int_equal(tsr_fw_pytest_entry.run(&testctx->ctx, shard, results, &exit_code), TSR_OK);
    assert_int_equal(exit_code, 0);
    assert_int_equal(tsr_results_size(results), 1502);
    //  pytest's order, not ours: test_basic.py runs first, tests/sub last
    assert_string_equal(tsr_results_at(results, 0)->id, "tests/test_basic.py::test_pass");
    assert_string_equal(tsr_results_at(results, 1501)->id, "tests/sub/test_more.py::test_sub_pass");
    assert_null(tsr_results_find(results, "tests/test_many.py::test_many[1]"));
    assert_non_null(tsr_results_find(results, "tests/test_many.py::test_many[2998]"));
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    zlistx_destroy(&ids);
    tsr_fw_testctx_destroy(&testctx);
}

static void
test_pytest_list_reports_collection_errors(void **state)
{
    (void)state;
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLE, s_pytest_argv);
    assert_int_equal(
        tsr_fw_testctx_shell(testctx, "echo 'import no_such_module_xyz' > tests/test_broken.py"),
        0);
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_pytest_entry.list(&testctx->ctx, ids, errors), TSR_OK);
    assert_int_equal(zlistx_size(ids), 27);
    assert_int_equal(zlistx_size(errors), 1);
    assert_string_equal(zlistx_first(errors), "tests/test_broken.py");
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
    tsr_fw_testctx_destroy(&testctx);
}

static void
test_pytest_list_fails_cleanly_on_a_usage_error(void **state)
{
    (void)state;
    const char *const argv[] = {"/usr/bin/python3", "-m", "pytest", "--no-such-option", NULL};
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLE, argv);
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_pytest_entry.list(&testctx->ctx, ids, errors), TSR_EPARSE);
    assert_int_equal(zlistx_size(ids), 0);
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
    tsr_fw_testctx_destroy(&testctx);
}

static zlistx_t *
s_special_shard(void)
{
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(shard, "tests/test_basic.py::test_pass");
    tsr_fw_strlist_addf(shard, "tests/test_special.py::test_slow");
    tsr_fw_strlist_addf(shard, "tests/test_special.py::test_crash");
    tsr_fw_strlist_addf(shard, "tests/test_special.py::test_hang");
    tsr_fw_strlist_addf(shard, "tests/test_special.py::test_after_crash");
    return shard;
}

static void
test_pytest_run_keeps_finished_tests_when_pytest_dies(void **state)
{
    (void)state;
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLE, s_pytest_argv);
    zlistx_t *shard = s_special_shard();
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    setenv("TSR_EXAMPLE_CRASH", "1", 1);
    int rc = tsr_fw_pytest_entry.run(&testctx->ctx, shard, results, &exit_code);
    unsetenv("TSR_EXAMPLE_CRASH");
    assert_int_equal(rc, TSR_OK);
    assert_int_equal(exit_code, 3); //  os._exit(3): no JUnit XML
    //  What finished before the crash; the caller re-runs the rest
    assert_int_equal(tsr_results_size(results), 2);
    assert_int_equal(tsr_fw_test_outcome(results, "tests/test_special.py::test_slow"),
                     TESSERA__OUTCOME__PASSED);
    assert_null(tsr_results_find(results, "tests/test_special.py::test_crash"));
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    tsr_fw_testctx_destroy(&testctx);
}

static void
test_pytest_run_keeps_finished_tests_on_timeout(void **state)
{
    (void)state;
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(EXAMPLE, s_pytest_argv);
    testctx->timeout_ms = 10000; //  pytest starts slowly on a loaded machine (ASan, ctest -j)
    zlistx_t *shard = s_special_shard();
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    setenv("TSR_EXAMPLE_HANG", "1", 1);
    int rc = tsr_fw_pytest_entry.run(&testctx->ctx, shard, results, &exit_code);
    unsetenv("TSR_EXAMPLE_HANG");
    assert_int_equal(rc, TSR_OK);
    assert_int_equal(exit_code, -1);
    assert_int_equal(tsr_results_size(results), 3); //  pass, slow, crash (not asked to crash)
    assert_null(tsr_results_find(results, "tests/test_special.py::test_hang"));
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    tsr_fw_testctx_destroy(&testctx);
}

//  ------------------------------------------------------------------------
//  Work stealing: the plugin gives up the not-started tail when asked

//  A suite of `count` tests in test_steal.py (ids "test_steal.py::test_t[N]");
//  each appends N to ran.txt, and the tests listed in $TSR_TEST_STEAL_AT
//  create the steal request themselves (mid-run)
static tsr_fw_testctx_t *
s_steal_suite(zlistx_t *shard, int count)
{
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(NULL, s_pytest_argv);
    char *path = zsys_sprintf("%s/test_steal.py", testctx->workdir);
    char *source = zsys_sprintf(
        "import os\n"
        "import pytest\n"
        "\n"
        "\n"
        "@pytest.mark.parametrize('n', range(%d))\n"
        "def test_t(n):\n"
        "    with open('ran.txt', 'a') as ran:\n"
        "        ran.write('%%d\\n' %% n)\n"
        "    if str(n) in os.environ.get('TSR_TEST_STEAL_AT', '').split(','):\n"
        "        open(os.path.join(os.environ['TSR_STEAL_DIR'], 'request'), 'w').close()\n",
        count);
    assert_int_equal(tsr_fw_file_write(path, source), TSR_OK);
    zstr_free(&source);
    zstr_free(&path);
    for (int n = 0; n < count; n++)
        tsr_fw_strlist_addf(shard, "test_steal.py::test_t[%d]", n);
    testctx->ctx.steal_dir = zsys_sprintf("%s/steal", testctx->scratch_dir);
    return testctx;
}

static void
s_steal_suite_destroy(tsr_fw_testctx_t **testctx_p)
{
    free((char *)(*testctx_p)->ctx.steal_dir);
    tsr_fw_testctx_destroy(testctx_p);
}

//  Run the shard; the ids in ack (owned list) and the tests that ran (ran.txt
//  as "0,1,2,")
static void
s_steal_run(tsr_fw_testctx_t *testctx, zlistx_t *shard, tsr_results_t *results, zlistx_t *ack,
            char *ran, size_t size)
{
    int exit_code;
    int rc = tsr_fw_pytest_entry.run(&testctx->ctx, shard, results, &exit_code);
    if (rc != TSR_OK || exit_code != 0) {
        char *log = tsr_fw_testctx_log(testctx);
        fail_msg("run: %s exit=%d\n%s", tsr_err_name(rc), exit_code, log);
    }
    assert_int_equal(tsr_framework_steal_read(testctx->ctx.steal_dir, TSR_FW_STEAL_ACK, ack),
                     TSR_OK);
    char *path = zsys_sprintf("%s/ran.txt", testctx->workdir);
    char *text = NULL;
    assert_int_equal(tsr_fw_file_read(path, 1u << 20, &text), TSR_OK);
    size_t length = 0;
    for (char *scan = text; *scan && length + 1 < size; scan++)
        ran[length++] = *scan == '\n' ? ',' : *scan;
    ran[length] = '\0';
    free(text);
    zstr_free(&path);
}

static void
s_assert_ids(zlistx_t *ids, int first, int last)
{
    assert_int_equal(zlistx_size(ids), (size_t)(last - first + 1));
    int n = first;
    for (const char *id = (const char *)zlistx_first(ids); id;
         id = (const char *)zlistx_next(ids), n++) {
        char expected[64];
        snprintf(expected, sizeof expected, "test_steal.py::test_t[%d]", n);
        assert_string_equal(id, expected);
    }
}

static void
test_pytest_steal_requested_from_the_start_gives_the_tail_half(void **state)
{
    (void)state;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_testctx_t *testctx = s_steal_suite(shard, 11);
    //  The request is there before pytest starts: 11 not started, 5 given
    assert_int_equal(mkdir(testctx->ctx.steal_dir, 0755), 0);
    char *request = zsys_sprintf("%s/request", testctx->ctx.steal_dir);
    assert_int_equal(tsr_fw_file_write(request, ""), TSR_OK);
    tsr_results_t *results = tsr_results_new();
    zlistx_t *ack = tsr_fw_strlist_new();
    char ran[256];
    s_steal_run(testctx, shard, results, ack, ran, sizeof ran);
    s_assert_ids(ack, 6, 10);
    assert_string_equal(ran, "0,1,2,3,4,5,");
    assert_int_equal(tsr_results_size(results), 6);
    assert_null(tsr_results_find(results, "test_steal.py::test_t[6]"));
    //  The given ids left the shard; the request was answered
    s_assert_ids(shard, 0, 5);
    assert_int_equal(access(request, F_OK), -1);
    zstr_free(&request);
    zlistx_destroy(&ack);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    s_steal_suite_destroy(&testctx);
}

static void
test_pytest_steal_requested_mid_run_gives_half_of_the_rest_once(void **state)
{
    (void)state;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_testctx_t *testctx = s_steal_suite(shard, 10);
    //  test 3 asks: before test 4, 6 not started, 3 given (7-9); test 5 asks
    //  again: an empty ack, nothing more given
    setenv("TSR_TEST_STEAL_AT", "3,5", 1);
    tsr_results_t *results = tsr_results_new();
    zlistx_t *ack = tsr_fw_strlist_new();
    char ran[256];
    s_steal_run(testctx, shard, results, ack, ran, sizeof ran);
    unsetenv("TSR_TEST_STEAL_AT");
    assert_int_equal(zlistx_size(ack), 0);
    zlistx_t *given = tsr_fw_strlist_new();
    assert_int_equal(tsr_framework_steal_read(testctx->ctx.steal_dir, TSR_FW_STEAL_GIVEN, given),
                     TSR_OK);
    s_assert_ids(given, 7, 9);
    assert_string_equal(ran, "0,1,2,3,4,5,6,");
    assert_int_equal(tsr_results_size(results), 7);
    for (int n = 0; n < 7; n++) {
        char id[64];
        snprintf(id, sizeof id, "test_steal.py::test_t[%d]", n);
        assert_int_equal(tsr_fw_test_outcome(results, id), TESSERA__OUTCOME__PASSED);
    }
    s_assert_ids(shard, 0, 6);
    zlistx_destroy(&given);
    zlistx_destroy(&ack);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    s_steal_suite_destroy(&testctx);
}

static void
test_pytest_steal_with_one_test_left_gives_nothing(void **state)
{
    (void)state;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_testctx_t *testctx = s_steal_suite(shard, 4);
    setenv("TSR_TEST_STEAL_AT", "2", 1);
    tsr_results_t *results = tsr_results_new();
    zlistx_t *ack = tsr_fw_strlist_new();
    char ran[256];
    s_steal_run(testctx, shard, results, ack, ran, sizeof ran);
    unsetenv("TSR_TEST_STEAL_AT");
    assert_int_equal(zlistx_size(ack), 0); //  an empty ack: nothing given
    assert_string_equal(ran, "0,1,2,3,");
    assert_int_equal(tsr_results_size(results), 4);
    s_assert_ids(shard, 0, 3);
    zlistx_t *given = tsr_fw_strlist_new();
    assert_int_equal(tsr_framework_steal_read(testctx->ctx.steal_dir, TSR_FW_STEAL_GIVEN, given),
                     -ENOENT);
    zlistx_destroy(&given);
    zlistx_destroy(&ack);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    s_steal_suite_destroy(&testctx);
}

static void
test_pytest_steal_before_the_second_last_test_runs_it_last(void **state)
{
    (void)state;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_testctx_t *testctx = s_steal_suite(shard, 4);
    //  test 1 asks: before test 2, 2 not started, the last one given; test 2
    //  then runs as the session's last test
    setenv("TSR_TEST_STEAL_AT", "1", 1);
    tsr_results_t *results = tsr_results_new();
    zlistx_t *ack = tsr_fw_strlist_new();
    char ran[256];
    s_steal_run(testctx, shard, results, ack, ran, sizeof ran);
    unsetenv("TSR_TEST_STEAL_AT");
    s_assert_ids(ack, 3, 3);
    assert_string_equal(ran, "0,1,2,");
    assert_int_equal(tsr_results_size(results), 3);
    assert_int_equal(tsr_fw_test_outcome(results, "test_steal.py::test_t[2]"),
                     TESSERA__OUTCOME__PASSED);
    s_assert_ids(shard, 0, 2);
    zlistx_destroy(&ack);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
    s_steal_suite_destroy(&testctx);
}

static void
test_pytest_steal_read_rejects_torn_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/tsr-steal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = zsys_sprintf("%s/ack", dir);
    zlistx_t *ids = tsr_fw_strlist_new();
    assert_int_equal(tsr_framework_steal_read(dir, "ack", ids), -ENOENT);
    assert_int_equal(tsr_fw_file_write(path, "a::b\nc::d"), TSR_OK);
    assert_int_equal(tsr_framework_steal_read(dir, "ack", ids), TSR_EPARSE);
    assert_int_equal(tsr_fw_file_write(path, "a::b\n\nc::d\n"), TSR_OK);
    assert_int_equal(tsr_framework_steal_read(dir, "ack", ids), TSR_EPARSE);
    assert_int_equal(zlistx_size(ids), 0);
    assert_int_equal(tsr_fw_file_write(path, "a::b\nc::d\n"), TSR_OK);
    assert_int_equal(tsr_framework_steal_read(dir, "ack", ids), TSR_OK);
    assert_int_equal(zlistx_size(ids), 2);
    assert_string_equal(zlistx_last(ids), "c::d");
    unlink(path);
    rmdir(dir);
    zstr_free(&path);
    zlistx_destroy(&ids);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pytest_parse_list_reads_ids_and_collection_errors),
        cmocka_unit_test(test_pytest_parse_list_rejects_bad_json),
        cmocka_unit_test(test_pytest_parse_junit_maps_every_outcome),
        cmocka_unit_test(test_pytest_parse_junit_maps_names_back_without_plugin),
        cmocka_unit_test(test_pytest_parse_junit_rejects_bad_xml),
        cmocka_unit_test(test_pytest_parse_junit_never_expands_entities),
        cmocka_unit_test(test_pytest_parse_progress_keeps_finished_tests),
        cmocka_unit_test(test_pytest_group_is_the_file),
        cmocka_unit_test(test_pytest_argv_appends_to_the_user_command),
        cmocka_unit_test(test_pytest_list_and_shards_equal_a_serial_run),
        cmocka_unit_test(test_pytest_run_selects_exactly_the_ids_and_keeps_order),
        cmocka_unit_test(test_pytest_list_reports_collection_errors),
        cmocka_unit_test(test_pytest_list_fails_cleanly_on_a_usage_error),
        cmocka_unit_test(test_pytest_run_keeps_finished_tests_when_pytest_dies),
        cmocka_unit_test(test_pytest_run_keeps_finished_tests_on_timeout),
        cmocka_unit_test(test_pytest_steal_requested_from_the_start_gives_the_tail_half),
        cmocka_unit_test(test_pytest_steal_requested_mid_run_gives_half_of_the_rest_once),
        cmocka_unit_test(test_pytest_steal_with_one_test_left_gives_nothing),
        cmocka_unit_test(test_pytest_steal_before_the_second_last_test_runs_it_last),
        cmocka_unit_test(test_pytest_steal_read_rejects_torn_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
