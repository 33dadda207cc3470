/*  Unit tests for tsr_framework: the adapter registry, tsr_results_t
    (order, lookup, bounded messages), the command adapter on real
    processes, and the adapters' shared helpers (tsr_fw_io).              */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_framework.h"
#include "tsr_fw_io.h"
#include "tsr_fw_testctx.h"

static void
test_framework_find_knows_every_adapter(void **state)
{
    (void)state;
    const char *const names[] = {"pytest", "cargo", "npm", "command"};
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++) {
        const tsr_framework_t *framework = tsr_framework_find(names[index]);
        assert_non_null(framework);
        assert_string_equal(framework->name, names[index]);
        assert_non_null(framework->list);
        assert_non_null(framework->run);
        assert_non_null(framework->group);
    }
    assert_null(tsr_framework_find("jest")); //  a runner of "npm", not a framework
    assert_null(tsr_framework_find(""));
    assert_null(tsr_framework_find(NULL));
}

static void
test_framework_groups_by_file_or_binary(void **state)
{
    (void)state;
    const struct {
        const char *framework;
        const char *id;
        const char *group;
    } cases[] = {
        {"pytest", "tests/test_a.py::TestX::test_y[a::b]", "tests/test_a.py"},
        {"cargo", "calc/test/integration::adds", "calc/test/integration"},
        {"cargo", "calc::doctests", "calc"},
        {"npm", "test/a.test.js::suite > case", "test/a.test.js"},
        {"command", "", ""},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        char *group = tsr_framework_find(cases[index].framework)->group(cases[index].id);
        assert_string_equal(group, cases[index].group);
        free(group);
    }
}

static void
test_results_keep_order_and_find_the_first(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_results_size(results), 0);
    assert_null(tsr_results_find(results, "a"));
    tsr_results_add(results, "a", TESSERA__OUTCOME__PASSED, 10, NULL);
    tsr_results_add(results, "b", TESSERA__OUTCOME__FAILED, 20, "assert 1 == 2");
    tsr_results_add(results, "a", TESSERA__OUTCOME__FAILED, 30, "again"); //  a re-run
    assert_int_equal(tsr_results_size(results), 3);
    //  Forwards, backwards, jumping: at() is right whatever the order
    const size_t order[] = {0, 1, 2, 1, 0, 2, 2};
    const char *const ids[] = {"a", "b", "a"};
    for (size_t step = 0; step < sizeof order / sizeof order[0]; step++)
        assert_string_equal(tsr_results_at(results, order[step])->id, ids[order[step]]);
    const tsr_test_result_t *first = tsr_results_find(results, "a");
    assert_int_equal(first->duration_ms, 10);
    assert_null(first->message);
    const tsr_test_result_t *failed = tsr_results_find(results, "b");
    assert_int_equal(failed->outcome, TESSERA__OUTCOME__FAILED);
    assert_string_equal(failed->message, "assert 1 == 2");
    //  Adding after at() keeps at() right
    tsr_results_add(results, "c", TESSERA__OUTCOME__SKIPPED, 0, NULL);
    assert_string_equal(tsr_results_at(results, 3)->id, "c");
    tsr_results_destroy(&results);
    assert_null(results);
    tsr_results_destroy(&results); //  NULL-safe
}

static void
test_results_bound_messages_on_a_character(void **state)
{
    (void)state;
    //  "é" is two bytes: 3000 of them are 6000 bytes, cut to <= 4096 whole ones
    size_t count = 3000;
    char *text = (char *)calloc(count * 2 + 1, 1);
    for (size_t index = 0; index < count; index++)
        memcpy(text + index * 2, "\xc3\xa9", 2);
    char *odd = (char *)calloc(count * 2 + 2, 1);
    odd[0] = 'x'; //  shifts the characters by one byte
    memcpy(odd + 1, text, count * 2);
    tsr_results_t *results = tsr_results_new();
    tsr_results_add(results, "even", TESSERA__OUTCOME__FAILED, 0, text);
    tsr_results_add(results, "odd", TESSERA__OUTCOME__FAILED, 0, odd);
    const char *even_message = tsr_results_find(results, "even")->message;
    const char *odd_message = tsr_results_find(results, "odd")->message;
    assert_int_equal(strlen(even_message), 4096);
    assert_int_equal(strlen(odd_message), 4095); //  'x' + 2047 whole characters
    assert_int_equal((unsigned char)odd_message[4094], 0xa9);
    tsr_results_add(results, "short", TESSERA__OUTCOME__FAILED, 0, "short");
    assert_string_equal(tsr_results_find(results, "short")->message, "short");
    tsr_results_destroy(&results);
    free(text);
    free(odd);
}

//  ------------------------------------------------------------------------
//  The command adapter on real processes

static const tsr_test_result_t *
s_run_command(const char *script, uint64_t timeout_ms, int expected_rc, int *exit_code,
              tsr_results_t *results)
{
    const char *const argv[] = {"/bin/sh", "-c", script, NULL};
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(NULL, argv);
    testctx->timeout_ms = timeout_ms;
    const tsr_framework_t *command = tsr_framework_find("command");
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(command->list(&testctx->ctx, ids, errors), TSR_OK);
    assert_int_equal(zlistx_size(ids), 0);
    assert_int_equal(zlistx_size(errors), 0);
    assert_int_equal(command->run(&testctx->ctx, ids, results, exit_code), expected_rc);
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
    tsr_fw_testctx_destroy(&testctx);
    return tsr_results_size(results) ? tsr_results_at(results, 0) : NULL;
}

static void
test_command_reports_one_result_by_exit_code(void **state)
{
    (void)state;
    int exit_code;
    tsr_results_t *results = tsr_results_new();
    const tsr_test_result_t *result = s_run_command("exit 0", 0, TSR_OK, &exit_code, results);
    assert_int_equal(exit_code, 0);
    assert_string_equal(result->id, "");
    assert_int_equal(result->outcome, TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);

    results = tsr_results_new();
    result = s_run_command("sleep 0.1; exit 3", 0, TSR_OK, &exit_code, results);
    assert_int_equal(exit_code, 3);
    assert_int_equal(result->outcome, TESSERA__OUTCOME__FAILED);
    assert_true(result->duration_ms >= 90);
    tsr_results_destroy(&results);

    results = tsr_results_new();
    result = s_run_command("kill -9 $$", 0, TSR_OK, &exit_code, results);
    assert_int_equal(exit_code, -1);
    assert_int_equal(result->outcome, TESSERA__OUTCOME__CRASHED);
    tsr_results_destroy(&results);

    //  Timed out: nothing finished, the caller knows why
    results = tsr_results_new();
    result = s_run_command("sleep 30", 300, TSR_OK, &exit_code, results);
    assert_null(result);
    assert_int_equal(exit_code, -1);
    tsr_results_destroy(&results);
}

static void
test_command_reports_a_missing_command(void **state)
{
    (void)state;
    const char *const argv[] = {"/nonexistent/tsr-no-such-command", NULL};
    tsr_fw_testctx_t *testctx = tsr_fw_testctx_new(NULL, argv);
    tsr_results_t *results = tsr_results_new();
    zlistx_t *ids = tsr_fw_strlist_new();
    int exit_code;
    assert_int_equal(tsr_framework_find("command")->run(&testctx->ctx, ids, results, &exit_code),
                     -ENOENT);
    assert_int_equal(tsr_results_size(results), 0);
    zlistx_destroy(&ids);
    tsr_results_destroy(&results);
    tsr_fw_testctx_destroy(&testctx);
}

//  ------------------------------------------------------------------------
//  tsr_fw_io

static void
test_fw_io_path_relative(void **state)
{
    (void)state;
    const struct {
        const char *path;
        const char *base;
        const char *expected;
    } cases[] = {
        {"/w/a/b.js", "/w", "a/b.js"},
        {"/w/a/b.js", "/w/", "a/b.js"},
        {"/wx/a.js", "/w", "/wx/a.js"}, //  a prefix, not a parent
        {"/elsewhere/a.js", "/w", "/elsewhere/a.js"},
        {"/w", "/w", "/w"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        char *relative = tsr_fw_path_relative(cases[index].path, cases[index].base);
        assert_string_equal(relative, cases[index].expected);
        free(relative);
    }
    //  Resolved paths of a base reached through a symlink
    char *dir = strdup("/tmp/tsr-fw-io-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char *real = zsys_sprintf("%s/real", dir);
    char *link = zsys_sprintf("%s/link", dir);
    char *file = zsys_sprintf("%s/real/t.js", dir);
    assert_int_equal(mkdir(real, 0755), 0);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(tsr_fw_file_write(file, "x"), TSR_OK);
    char *relative = tsr_fw_path_relative(file, link);
    assert_string_equal(relative, "t.js");
    free(relative);
    unlink(file);
    unlink(link);
    rmdir(real);
    rmdir(dir);
    zstr_free(&file);
    zstr_free(&link);
    zstr_free(&real);
    free(dir);
}

static int
s_count_objects(const cJSON *value, void *arg)
{
    (void)value;
    (*(size_t *)arg)++;
    return TSR_OK;
}

static int
s_stop_at_first(const cJSON *value, void *arg)
{
    (void)value;
    (void)arg;
    return TSR_EPARSE;
}

static void
test_fw_io_reads_files_and_json_lines(void **state)
{
    (void)state;
    char *path = strdup("/tmp/tsr-fw-io-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(
        tsr_fw_file_write(path, "{\"a\": 1}\nnot json\n[1, 2]\n\n{\"b\": 2}\n{\"torn\": "), TSR_OK);
    char *text = NULL;
    assert_int_equal(tsr_fw_file_read(path, 1024, &text), TSR_OK);
    assert_int_equal(strlen(text), 44);
    free(text);
    assert_int_equal(tsr_fw_file_read(path, 44, &text), TSR_OK); //  exactly the limit
    free(text);
    assert_int_equal(tsr_fw_file_read(path, 43, &text), TSR_ETOOBIG);
    assert_null(text);
    assert_int_equal(tsr_fw_file_read("/nonexistent/x", 10, &text), -ENOENT);

    size_t seen = 0, objects = 0;
    assert_int_equal(tsr_fw_jsonl_read(path, s_count_objects, &seen, &objects), TSR_OK);
    assert_int_equal(seen, 2); //  arrays, text and the torn line are skipped
    assert_int_equal(objects, 2);
    assert_int_equal(tsr_fw_jsonl_read(path, s_stop_at_first, NULL, &objects), TSR_EPARSE);
    assert_int_equal(objects, 1);
    assert_int_equal(tsr_fw_jsonl_read("/nonexistent/x", s_count_objects, &seen, NULL), -ENOENT);
    unlink(path);
    free(path);

    assert_int_equal(tsr_fw_seconds_to_ms(1.2345), 1235);
    assert_int_equal(tsr_fw_seconds_to_ms(-1), 0);
    assert_int_equal(tsr_fw_seconds_to_ms(NAN), 0);
    assert_int_equal(tsr_fw_seconds_to_ms(1e300), UINT64_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framework_find_knows_every_adapter),
        cmocka_unit_test(test_framework_groups_by_file_or_binary),
        cmocka_unit_test(test_results_keep_order_and_find_the_first),
        cmocka_unit_test(test_results_bound_messages_on_a_character),
        cmocka_unit_test(test_command_reports_one_result_by_exit_code),
        cmocka_unit_test(test_command_reports_a_missing_command),
        cmocka_unit_test(test_fw_io_path_relative),
        cmocka_unit_test(test_fw_io_reads_files_and_json_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
