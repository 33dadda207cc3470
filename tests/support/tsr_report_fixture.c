/*  tsr_report_fixture - what the tsr_report unit tests share             */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_report_fixture.h"

tsr_report_t *
tsr_report_fixture_sample(void)
{
    tsr_report_t *report = tsr_report_new("run-42");
    tsr_report_set_status(report, "failed");
    tsr_report_set_wall_ms(report, 12345);
    tsr_report_set_uploaded_bytes(report, 5000000000ULL);
    tsr_report_set_shards(report, 6, 2);
    tsr_report_test_t *test;

    test = tsr_report_add_test(report, "tests/unit/test_a.py::TestC::test_y[p::q]", "py",
                               "tests/unit/test_a.py", PASSED, 12, "a1");
    tsr_report_test_add_attempt(test, PASSED, 12, "a1", NULL);
    test = tsr_report_add_test(report, "tests/unit/test_a.py::test_fail", "py",
                               "tests/unit/test_a.py", FAILED, 30, "a2");
    tsr_report_test_add_attempt(test, FAILED, 20, "a1", "assert 1 == 2\nE first");
    tsr_report_test_add_attempt(test, FAILED, 30, "a2", "assert 1 == 3\nE second");
    test = tsr_report_add_test(report, "tests/unit/test_a.py::test_flaky", "py",
                               "tests/unit/test_a.py", PASSED, 7, "a2");
    tsr_report_test_add_attempt(test, FAILED, 9, "a1", "boom first\ntraceback");
    tsr_report_test_add_attempt(test, PASSED, 7, "a2", NULL);
    test = tsr_report_add_test(report, "tests/test_b.py::test_skip", "py", "tests/test_b.py",
                               SKIPPED, 0, "a1");
    tsr_report_test_add_attempt(test, SKIPPED, 0, "a1", "no network");
    test = tsr_report_add_test(report, "tests/test_b.py::test_xfail", "py", "tests/test_b.py",
                               XFAILED, 3, "a1");
    tsr_report_test_add_attempt(test, XFAILED, 3, "a1", "known bug");
    test = tsr_report_add_test(report, "tests/test_b.py::test_xpass", "py", "tests/test_b.py",
                               XPASSED, 4, "a1");
    tsr_report_test_add_attempt(test, XPASSED, 4, "a1", NULL);
    test = tsr_report_add_test(report, "tests/test_b.py::test_hang", "py", "tests/test_b.py",
                               TIMED_OUT, 5000, "a2");
    tsr_report_test_add_attempt(test, TIMED_OUT, 5000, "a1", "timed out after 5 s (first)");
    tsr_report_test_add_attempt(test, TIMED_OUT, 5000, "a2", "timed out after 5 s (second)");
    test = tsr_report_add_test(report, "tests/test_b.py::test_segv", "py", "tests/test_b.py",
                               CRASHED, 1, "a1");
    tsr_report_test_add_attempt(test, CRASHED, 1, "a1", "Fatal Python error: Segmentation fault");

    test = tsr_report_add_test(report, "unit_bin::parser::tests::parses", "rs", "unit_bin", PASSED,
                               1, "a2");
    tsr_report_test_add_attempt(test, PASSED, 1, "a2", NULL);
    test = tsr_report_add_test(report, "unit_bin::parser::tests::flaky_io", "rs", "unit_bin",
                               PASSED, 2, "a1");
    tsr_report_test_add_attempt(test, TIMED_OUT, 1000, "a2", "test timed out");
    tsr_report_test_add_attempt(test, PASSED, 2, "a1", NULL);
    test = tsr_report_add_test(report, "integration::smoke", "rs", "integration", ERROR, 0, NULL);
    tsr_report_test_add_attempt(test, ERROR, 0, NULL, "could not start binary");
    test = tsr_report_add_test(report, "integration::cancelled", "rs", "integration", CANCELLED, 0,
                               NULL);

    test = tsr_report_add_test(report, "shard-0", "sh", NULL, FAILED, 1500, "a1");
    tsr_report_test_add_attempt(test, FAILED, 1500, "a1", "exit code 1");
    test = tsr_report_add_test(report, "lint", "sh", "checks", PASSED, 10, "a2");
    tsr_report_test_add_attempt(test, PASSED, 10, "a2", NULL);
    return report;
}

xmlDocPtr
tsr_report_fixture_junit(tsr_report_t *report)
{
    char *xml = NULL;
    size_t size = 0;
    assert_int_equal(tsr_report_junit(report, &xml, &size), TSR_OK);
    assert_non_null(xml);
    assert_int_equal(strlen(xml), size);
    xmlDocPtr doc = xmlReadMemory(xml, (int)size, "junit.xml", NULL, XML_PARSE_NONET);
    if (!doc)
        fail_msg("not well-formed XML:\n%s", xml);
    free(xml);
    return doc;
}

char *
tsr_report_fixture_xpath_string(xmlDocPtr doc, const char *expression)
{
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    assert_non_null(context);
    char *wrapped = zsys_sprintf("string(%s)", expression);
    xmlXPathObjectPtr result = xmlXPathEvalExpression(BAD_CAST wrapped, context);
    assert_non_null(result);
    assert_int_equal(result->type, XPATH_STRING);
    char *value = strdup((const char *)result->stringval);
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    free(wrapped);
    return value;
}

double
tsr_report_fixture_json_number(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    assert_non_null(item);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

const char *
tsr_report_fixture_json_string(const cJSON *object, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    assert_non_null(item);
    if (cJSON_IsNull(item))
        return NULL;
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}
