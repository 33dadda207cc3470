/*  Unit tests for tsr_report's JSON summary (tsr_report_json), checked key
    by key with cJSON: every key and outcome of the sample report, an empty
    report, and a long message cut on a character boundary (JUnit keeps it
    whole). Shared fixtures: tests/support/tsr_report_fixture.              */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_report_fixture.h"

static int
s_compare_keys(const void *key1, const void *key2)
{
    return strcmp(key1, key2);
}

//  The object's keys, sorted and joined with ","
static char *
s_json_keys(const cJSON *object)
{
    zlistx_t *keys = zlistx_new();
    zlistx_set_comparator(keys, s_compare_keys);
    const cJSON *item = NULL;
    cJSON_ArrayForEach(item, object)
    {
        zlistx_add_end(keys, item->string);
    }
    zlistx_sort(keys);
    char *joined = strdup("");
    const char *key = zlistx_first(keys);
    while (key) {
        char *longer = zsys_sprintf("%s%s%s", joined, *joined ? "," : "", key);
        free(joined);
        joined = longer;
        key = zlistx_next(keys);
    }
    zlistx_destroy(&keys);
    return joined;
}

static void
s_assert_keys(const cJSON *object, const char *expected)
{
    char *keys = s_json_keys(object);
    assert_string_equal(keys, expected);
    free(keys);
}

static const cJSON *
s_json_result_by_id(const cJSON *root, const char *id)
{
    const cJSON *result = NULL;
    cJSON_ArrayForEach(result, cJSON_GetObjectItemCaseSensitive(root, "results"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(result, "id")->valuestring, id) == 0)
            return result;
    }
    fail_msg("no result %s", id);
    return NULL;
}

static void
s_assert_result(const cJSON *root, const char *id, const char *job, const char *group,
                const char *outcome, double duration_s, int attempts, const char *agent, bool flaky,
                const char *message)
{
    const cJSON *result = s_json_result_by_id(root, id);
    s_assert_keys(result, "agent,attempts,duration_s,flaky,group,id,job,message,outcome");
    assert_string_equal(tsr_report_fixture_json_string(result, "job"), job);
    if (group)
        assert_string_equal(tsr_report_fixture_json_string(result, "group"), group);
    else
        assert_null(tsr_report_fixture_json_string(result, "group"));
    assert_string_equal(tsr_report_fixture_json_string(result, "outcome"), outcome);
    assert_float_equal(tsr_report_fixture_json_number(result, "duration_s"), duration_s, 1e-9);
    assert_int_equal((int)tsr_report_fixture_json_number(result, "attempts"), attempts);
    if (agent)
        assert_string_equal(tsr_report_fixture_json_string(result, "agent"), agent);
    else
        assert_null(tsr_report_fixture_json_string(result, "agent"));
    const cJSON *flaky_item = cJSON_GetObjectItemCaseSensitive(result, "flaky");
    assert_true(cJSON_IsBool(flaky_item));
    assert_int_equal(cJSON_IsTrue(flaky_item), flaky);
    if (message)
        assert_string_equal(tsr_report_fixture_json_string(result, "message"), message);
    else
        assert_null(tsr_report_fixture_json_string(result, "message"));
}

static void
test_report_json_round_trips_every_key(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    char *json = tsr_report_json(report);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    s_assert_keys(root, "cached_shards,results,run,shards,status,tests,uploaded_bytes,wall_s");
    assert_string_equal(tsr_report_fixture_json_string(root, "run"), "run-42");
    assert_string_equal(tsr_report_fixture_json_string(root, "status"), "failed");
    assert_int_equal((int)tsr_report_fixture_json_number(root, "shards"), 6);
    assert_int_equal((int)tsr_report_fixture_json_number(root, "cached_shards"), 2);
    assert_float_equal(tsr_report_fixture_json_number(root, "wall_s"), 12.345, 1e-9);
    assert_float_equal(tsr_report_fixture_json_number(root, "uploaded_bytes"), 5000000000.0, 0.5);
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    s_assert_keys(tests, "failed,flaky,passed,skipped,total");
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "total"), 14);
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "passed"), 6);
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "failed"), 5);
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "skipped"), 3);
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "flaky"), 2);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    assert_true(cJSON_IsArray(results));
    assert_int_equal(cJSON_GetArraySize(results), 14);
    //  Results keep the order tests were added in
    assert_string_equal(tsr_report_fixture_json_string(cJSON_GetArrayItem(results, 0), "id"),
                        "tests/unit/test_a.py::TestC::test_y[p::q]");
    assert_string_equal(tsr_report_fixture_json_string(cJSON_GetArrayItem(results, 13), "id"),
                        "lint");

    //  Every outcome string, with its other keys
    s_assert_result(root, "tests/unit/test_a.py::TestC::test_y[p::q]", "py", "tests/unit/test_a.py",
                    "passed", 0.012, 1, "a1", false, NULL);
    s_assert_result(root, "tests/unit/test_a.py::test_fail", "py", "tests/unit/test_a.py", "failed",
                    0.030, 2, "a2", false, "assert 1 == 2\nE first");
    s_assert_result(root, "tests/unit/test_a.py::test_flaky", "py", "tests/unit/test_a.py",
                    "passed", 0.007, 2, "a2", true, "boom first\ntraceback");
    s_assert_result(root, "tests/test_b.py::test_skip", "py", "tests/test_b.py", "skipped", 0.0, 1,
                    "a1", false, NULL);
    s_assert_result(root, "tests/test_b.py::test_xfail", "py", "tests/test_b.py", "xfailed", 0.003,
                    1, "a1", false, NULL);
    s_assert_result(root, "tests/test_b.py::test_xpass", "py", "tests/test_b.py", "xpassed", 0.004,
                    1, "a1", false, NULL);
    s_assert_result(root, "tests/test_b.py::test_hang", "py", "tests/test_b.py", "timed_out", 5.0,
                    2, "a2", false, "timed out after 5 s (first)");
    s_assert_result(root, "tests/test_b.py::test_segv", "py", "tests/test_b.py", "crashed", 0.001,
                    1, "a1", false, "Fatal Python error: Segmentation fault");
    s_assert_result(root, "unit_bin::parser::tests::flaky_io", "rs", "unit_bin", "passed", 0.002, 2,
                    "a1", true, "test timed out");
    s_assert_result(root, "integration::smoke", "rs", "integration", "error", 0.0, 1, NULL, false,
                    "could not start binary");
    s_assert_result(root, "integration::cancelled", "rs", "integration", "cancelled", 0.0, 0, NULL,
                    false, NULL);
    s_assert_result(root, "shard-0", "sh", NULL, "failed", 1.5, 1, "a1", false, "exit code 1");
    cJSON_Delete(root);
    free(json);
    tsr_report_destroy(&report);
}

static void
test_report_json_of_empty_report_is_valid(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("empty");
    char *json = tsr_report_json(report);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    s_assert_keys(root, "cached_shards,results,run,shards,status,tests,uploaded_bytes,wall_s");
    assert_string_equal(tsr_report_fixture_json_string(root, "run"), "empty");
    assert_string_equal(tsr_report_fixture_json_string(root, "status"), "passed");
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "total"), 0);
    assert_int_equal((int)tsr_report_fixture_json_number(tests, "flaky"), 0);
    assert_int_equal((int)tsr_report_fixture_json_number(root, "wall_s"), 0);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    assert_true(cJSON_IsArray(results));
    assert_int_equal(cJSON_GetArraySize(results), 0);
    cJSON_Delete(root);
    free(json);
    tsr_report_destroy(&report);
}

static void
test_report_json_message_is_bounded_on_a_character_boundary(void **state)
{
    (void)state;
    //  10,000 two-byte characters: cut at 4096 bytes, never mid-character
    char *long_message = malloc(20001);
    for (size_t at = 0; at < 20000; at += 2)
        memcpy(long_message + at, "\xc3\xa9", 2);
    long_message[20000] = '\0';
    tsr_report_t *report = tsr_report_new("r");
    tsr_report_test_t *test = tsr_report_add_test(report, "t", "j", NULL, FAILED, 1, NULL);
    tsr_report_test_add_attempt(test, FAILED, 1, NULL, long_message);
    char *json = tsr_report_json(report);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const char *message = tsr_report_fixture_json_string(
        cJSON_GetArrayItem(cJSON_GetObjectItem(root, "results"), 0), "message");
    size_t length = strlen(message);
    assert_true(length <= TSR_REPORT_MESSAGE_MAX + 3);
    assert_true(length > TSR_REPORT_MESSAGE_MAX - 4);
    assert_string_equal(message + length - 3, "...");
    assert_int_equal((length - 3) % 2, 0);
    assert_memory_equal(message, long_message, length - 3);
    cJSON_Delete(root);
    free(json);
    //  JUnit keeps the whole text, and a one-line message attribute
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    char *text = tsr_report_fixture_xpath_string(doc, "//failure");
    assert_string_equal(text, long_message);
    free(text);
    text = tsr_report_fixture_xpath_string(doc, "//failure/@message");
    assert_true(strlen(text) <= 512 + 3);
    free(text);
    xmlFreeDoc(doc);
    free(long_message);
    tsr_report_destroy(&report);
}

int
main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_json_round_trips_every_key),
        cmocka_unit_test(test_report_json_of_empty_report_is_valid),
        cmocka_unit_test(test_report_json_message_is_bounded_on_a_character_boundary),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return failed;
}
