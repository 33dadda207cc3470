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

//  A temp file holding `text`; the caller unlinks and frees the path
static char *
s_temp_file(const char *text)
{
    char *path = strdup("/tmp/tsr-fw-pytest-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(tsr_fw_file_write(path, text), TSR_OK);
    return path;
}

//  The first `bytes` of a fixture, as a temp file (a torn report)
static char *
s_truncated_fixture(const char *fixture, size_t bytes)
{
    char *text = NULL;
    assert_int_equal(tsr_fw_file_read(fixture, 1u << 20, &text), TSR_OK);
    assert_true(strlen(text) > bytes);
    text[bytes] = '\0';
    char *path = s_temp_file(text);
    free(text);
    return path;
}

static void
s_remove(char **path_p)
{
    unlink(*path_p);
    free(*path_p);
    *path_p = NULL;
}

static Tessera__Outcome
s_outcome(tsr_results_t *results, const char *id)
{
    const tsr_test_result_t *result = tsr_results_find(results, id);
    if (!result)
        fail_msg("no result for %s", id);
    return result->outcome;
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
        char *path = s_temp_file(bad[index]);
        zlistx_t *ids = tsr_fw_strlist_new();
        zlistx_t *errors = tsr_fw_strlist_new();
        assert_int_equal(tsr_fw_pytest_parse_list(path, ids, errors), TSR_EPARSE);
        assert_int_equal(zlistx_size(ids), 0); //  all or nothing
        assert_int_equal(zlistx_size(errors), 0);
        zlistx_destroy(&ids);
        zlistx_destroy(&errors);
        s_remove(&path);
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
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_pass"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_fail"),
                     TESSERA__OUTCOME__FAILED);
    const tsr_test_result_t *failed = tsr_results_find(results, "tests/test_basic.py::test_fail");
    assert_non_null(failed->message);
    assert_non_null(strstr(failed->message, "arithmetic is broken"));
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_skip"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_skip_inside"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_xfail"),
                     TESSERA__OUTCOME__XFAILED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_xpass"),
                     TESSERA__OUTCOME__XPASSED);
    //  strict: an unexpected pass is a failure
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_xpass_strict"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_fixture_error"),
                     TESSERA__OUTCOME__ERROR);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_param[2]"),
                     TESSERA__OUTCOME__FAILED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_param[a::b]"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(s_outcome(results, "tests/test_basic.py::TestGroup::TestInner::test_nested"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(s_outcome(results, "tests/test_importorskip.py"), TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(s_outcome(results, "tests/test_broken.py"), TESSERA__OUTCOME__ERROR);
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
    assert_int_equal(s_outcome(results, "tests/test_basic.py::test_xpass"),
                     TESSERA__OUTCOME__PASSED);
    //  Not requested: rebuilt from the dotted module name
    assert_int_equal(s_outcome(results, "tests/test_broken.py"), TESSERA__OUTCOME__ERROR);
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
        char *path = s_temp_file(bad[index]);
        tsr_results_t *results = tsr_results_new();
        assert_int_equal(tsr_fw_pytest_parse_junit(path, NULL, results), TSR_EPARSE);
        assert_int_equal(tsr_results_size(results), 0);
        tsr_results_destroy(&results);
        s_remove(&path);
    }
    char *torn = s_truncated_fixture(FIXTURES "/junit.xml", 3000);
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_junit(torn, NULL, results), TSR_EPARSE);
    assert_int_equal(tsr_results_size(results), 0);
    assert_int_equal(tsr_fw_pytest_parse_junit("/nonexistent.xml", NULL, results), -ENOENT);
    tsr_results_destroy(&results);
    s_remove(&torn);
}

static void
test_pytest_parse_junit_never_expands_entities(void **state)
{
    (void)state;
    char *path = s_temp_file("<?xml version=\"1.0\"?>\n"
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
    s_remove(&path);
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
    s_remove(&torn);

    char *bad = s_temp_file("{\"id\": \"a\", \"outcome\": \"exploded\", \"duration_s\": 1}\n");
    results = tsr_results_new();
    assert_int_equal(tsr_fw_pytest_parse_progress(bad, results), TSR_EPARSE);
    tsr_results_destroy(&results);
    s_remove(&bad);
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
    assert_int_equal(s_outcome(merged, "tests/test_basic.py::test_xpass"),
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
    assert_int_equal(s_outcome(results, "tests/test_special.py::test_slow"),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
