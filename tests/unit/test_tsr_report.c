/*  Unit tests for tsr_report: the model (counts, flaky included), the JUnit
    XML checked by re-parsing it with libxml2, XPath and a schema (fixtures/
    report/junit.xsd), and writing files. The JSON summary and the terminal
    output have their own files (test_tsr_report_json.c, _term.c); shared
    fixtures: tests/support/tsr_report_fixture.                              */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_report_fixture.h"
#include "tsr_testdir.h"

//  ---------------------------------------------------------------- XML helpers

static void
s_assert_xpath(xmlDocPtr doc, const char *expression, const char *expected)
{
    char *value = tsr_report_fixture_xpath_string(doc, expression);
    if (strcmp(value, expected) != 0)
        fail_msg("%s: '%s', expected '%s'", expression, value, expected);
    free(value);
}

static int
s_xpath_count(xmlDocPtr doc, const char *expression)
{
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    assert_non_null(context);
    char *wrapped = zsys_sprintf("count(%s)", expression);
    xmlXPathObjectPtr result = xmlXPathEvalExpression(BAD_CAST wrapped, context);
    assert_non_null(result);
    int count = (int)result->floatval;
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    free(wrapped);
    return count;
}

static void
s_assert_valid(xmlDocPtr doc)
{
    xmlSchemaParserCtxtPtr parser = xmlSchemaNewParserCtxt(TSR_REPORT_FIXTURES "/junit.xsd");
    assert_non_null(parser);
    xmlSchemaPtr schema = xmlSchemaParse(parser);
    assert_non_null(schema);
    xmlSchemaValidCtxtPtr validator = xmlSchemaNewValidCtxt(schema);
    assert_non_null(validator);
    assert_int_equal(xmlSchemaValidateDoc(validator, doc), 0);
    xmlSchemaFreeValidCtxt(validator);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(parser);
}

//  The testcase whose classname and name are these (an XPath)
static char *
s_case(const char *classname, const char *name)
{
    return zsys_sprintf("//testcase[@classname='%s' and @name='%s']", classname, name);
}

//  ---------------------------------------------------------------- model

static void
test_report_counts_classify_every_outcome(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    assert_int_equal(counts.total, 14);
    assert_int_equal(counts.passed, 6); //  incl. xpassed and both flaky
    assert_int_equal(counts.failed, 5);
    assert_int_equal(counts.errors, 3);  //  timed out, crashed, error
    assert_int_equal(counts.skipped, 3); //  skipped, xfailed, cancelled
    assert_int_equal(counts.flaky, 2);
    assert_int_equal(counts.passed + counts.failed + counts.skipped, counts.total);
    assert_int_equal(tsr_report_size(report), 14);
    tsr_report_destroy(&report);
    assert_null(report);
    tsr_report_destroy(&report); //  NULL-safe
}

static void
test_report_status_is_derived_unless_set(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r");
    assert_string_equal(tsr_report_status(report), "passed");
    tsr_report_test_t *test = tsr_report_add_test(report, "t", "j", NULL, CRASHED, 0, NULL);
    assert_non_null(test);
    assert_string_equal(tsr_report_status(report), "failed");
    tsr_report_set_status(report, "cancelled");
    assert_string_equal(tsr_report_status(report), "cancelled");
    tsr_report_set_status(report, NULL);
    assert_string_equal(tsr_report_status(report), "failed");
    tsr_report_destroy(&report);
}

static void
test_report_flaky_needs_a_failed_attempt_then_a_pass(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r");
    tsr_report_test_t *always = tsr_report_add_test(report, "always", "j", NULL, PASSED, 1, NULL);
    tsr_report_test_add_attempt(always, PASSED, 1, NULL, NULL);
    tsr_report_test_add_attempt(always, PASSED, 1, NULL, NULL);
    tsr_report_test_t *never = tsr_report_add_test(report, "never", "j", NULL, FAILED, 1, NULL);
    tsr_report_test_add_attempt(never, FAILED, 1, NULL, "a");
    tsr_report_test_add_attempt(never, FAILED, 1, NULL, "b");
    tsr_report_test_t *skip_then_pass =
        tsr_report_add_test(report, "skip_then_pass", "j", NULL, PASSED, 1, NULL);
    tsr_report_test_add_attempt(skip_then_pass, SKIPPED, 1, NULL, NULL);
    tsr_report_test_add_attempt(skip_then_pass, PASSED, 1, NULL, NULL);
    tsr_report_test_t *crash_then_pass =
        tsr_report_add_test(report, "crash_then_pass", "j", NULL, PASSED, 1, NULL);
    tsr_report_test_add_attempt(crash_then_pass, CRASHED, 1, NULL, "segv");
    tsr_report_test_add_attempt(crash_then_pass, PASSED, 1, NULL, NULL);
    tsr_report_test_t *fail_then_skip =
        tsr_report_add_test(report, "fail_then_skip", "j", NULL, SKIPPED, 1, NULL);
    tsr_report_test_add_attempt(fail_then_skip, FAILED, 1, NULL, "x");
    tsr_report_test_add_attempt(fail_then_skip, SKIPPED, 1, NULL, NULL);

    assert_false(tsr_report_test_is_flaky(always));
    assert_false(tsr_report_test_is_flaky(never));
    assert_false(tsr_report_test_is_flaky(skip_then_pass));
    assert_true(tsr_report_test_is_flaky(crash_then_pass));
    assert_false(tsr_report_test_is_flaky(fail_then_skip));
    assert_string_equal(tsr_report_test_message(never), "a");
    assert_string_equal(tsr_report_test_message(crash_then_pass), "segv");
    assert_null(tsr_report_test_message(always));

    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    assert_int_equal(counts.flaky, 1);
    assert_int_equal(counts.passed, 3);
    assert_int_equal(counts.failed, 1);
    assert_int_equal(counts.skipped, 1);
    tsr_report_destroy(&report);
}

static void
test_report_add_test_refuses_duplicates(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r");
    tsr_report_test_t *first = tsr_report_add_test(report, "t", "job", NULL, PASSED, 1, NULL);
    assert_non_null(first);
    assert_null(tsr_report_add_test(report, "t", "job", NULL, FAILED, 1, NULL));
    tsr_report_test_t *other = tsr_report_add_test(report, "t", "other", NULL, FAILED, 1, NULL);
    assert_non_null(other);
    assert_ptr_equal(tsr_report_find(report, "job", "t"), first);
    assert_ptr_equal(tsr_report_find(report, "other", "t"), other);
    assert_null(tsr_report_find(report, "job", "missing"));
    assert_int_equal(tsr_report_size(report), 2);
    assert_int_equal(tsr_report_test_outcome(first), PASSED);
    tsr_report_destroy(&report);
}

static void
test_report_accessors_return_what_was_set(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    assert_string_equal(tsr_report_run_id(report), "run-42");
    assert_int_equal(tsr_report_wall_ms(report), 12345);
    assert_int_equal(tsr_report_uploaded_bytes(report), 5000000000ULL);
    assert_int_equal(tsr_report_shards(report), 6);
    assert_int_equal(tsr_report_cached_shards(report), 2);
    tsr_report_test_t *test = tsr_report_find(report, "py", "tests/unit/test_a.py::test_fail");
    assert_non_null(test);
    assert_string_equal(tsr_report_test_id(test), "tests/unit/test_a.py::test_fail");
    assert_string_equal(tsr_report_test_job(test), "py");
    assert_string_equal(tsr_report_test_group(test), "tests/unit/test_a.py");
    assert_int_equal(tsr_report_test_outcome(test), FAILED);
    assert_int_equal(tsr_report_test_duration_ms(test), 30);
    assert_string_equal(tsr_report_test_agent(test), "a2");
    assert_int_equal(tsr_report_test_attempts(test), 2);
    const tsr_report_attempt_t *attempt = tsr_report_test_attempt(test, 1);
    assert_int_equal(attempt->outcome, FAILED);
    assert_int_equal(attempt->duration_ms, 30);
    assert_string_equal(attempt->agent, "a2");
    assert_string_equal(attempt->message, "assert 1 == 3\nE second");
    attempt = tsr_report_test_attempt(test, 0);
    assert_string_equal(attempt->agent, "a1");
    test = tsr_report_find(report, "rs", "integration::cancelled");
    assert_null(tsr_report_test_group(tsr_report_find(report, "sh", "shard-0")));
    assert_null(tsr_report_test_agent(test));
    assert_int_equal(tsr_report_test_attempts(test), 0);
    tsr_report_destroy(&report);
}

static void
test_report_iteration_is_in_added_order_and_writers_keep_the_cursor(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    tsr_report_test_t *test = tsr_report_first(report);
    assert_string_equal(tsr_report_test_id(test), "tests/unit/test_a.py::TestC::test_y[p::q]");
    test = tsr_report_next(report);
    assert_string_equal(tsr_report_test_id(test), "tests/unit/test_a.py::test_fail");
    //  Everything that walks the tests leaves the public cursor alone
    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    char *json = tsr_report_json(report);
    free(json);
    char *xml = NULL;
    assert_int_equal(tsr_report_junit(report, &xml, NULL), TSR_OK);
    free(xml);
    FILE *sink = fopen("/dev/null", "w");
    assert_non_null(sink);
    assert_int_equal(tsr_report_print_failures(report, sink, 10, 10), TSR_OK);
    fclose(sink);
    test = tsr_report_next(report);
    assert_string_equal(tsr_report_test_id(test), "tests/unit/test_a.py::test_flaky");
    size_t seen = 3;
    while (tsr_report_next(report))
        seen++;
    assert_int_equal(seen, 14);
    tsr_report_destroy(&report);
}

static void
test_report_outcome_names_follow_the_json_contract(void **state)
{
    (void)state;
    assert_string_equal(tsr_report_outcome_name(PASSED), "passed");
    assert_string_equal(tsr_report_outcome_name(FAILED), "failed");
    assert_string_equal(tsr_report_outcome_name(ERROR), "error");
    assert_string_equal(tsr_report_outcome_name(SKIPPED), "skipped");
    assert_string_equal(tsr_report_outcome_name(XFAILED), "xfailed");
    assert_string_equal(tsr_report_outcome_name(XPASSED), "xpassed");
    assert_string_equal(tsr_report_outcome_name(TIMED_OUT), "timed_out");
    assert_string_equal(tsr_report_outcome_name(CRASHED), "crashed");
    assert_string_equal(tsr_report_outcome_name(CANCELLED), "cancelled");
    assert_string_equal(tsr_report_outcome_name(TESSERA__OUTCOME__OUTCOME_UNKNOWN), "unknown");
    assert_string_equal(tsr_report_outcome_name((Tessera__Outcome)42), "unknown");
    assert_false(tsr_report_outcome_is_failure(XFAILED));
    assert_false(tsr_report_outcome_is_failure(XPASSED));
    assert_false(tsr_report_outcome_is_failure(CANCELLED));
    assert_true(tsr_report_outcome_is_failure(TIMED_OUT));
    assert_true(tsr_report_outcome_is_failure(TESSERA__OUTCOME__OUTCOME_UNKNOWN));
}

//  ---------------------------------------------------------------- JUnit

static void
test_report_junit_of_empty_report_is_valid(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("empty");
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_valid(doc);
    s_assert_xpath(doc, "/testsuites/@name", "empty");
    s_assert_xpath(doc, "/testsuites/@tests", "0");
    s_assert_xpath(doc, "/testsuites/@failures", "0");
    s_assert_xpath(doc, "/testsuites/@errors", "0");
    s_assert_xpath(doc, "/testsuites/@skipped", "0");
    s_assert_xpath(doc, "/testsuites/@time", "0.000");
    assert_int_equal(s_xpath_count(doc, "//testsuite"), 0);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_has_one_suite_per_job_with_its_counts(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_valid(doc);
    s_assert_xpath(doc, "/testsuites/@name", "run-42");
    s_assert_xpath(doc, "/testsuites/@tests", "14");
    s_assert_xpath(doc, "/testsuites/@failures", "2");
    s_assert_xpath(doc, "/testsuites/@errors", "3");
    s_assert_xpath(doc, "/testsuites/@skipped", "3");
    s_assert_xpath(doc, "/testsuites/@time", "12.345");
    assert_int_equal(s_xpath_count(doc, "/testsuites/testsuite"), 3);
    s_assert_xpath(doc, "/testsuites/testsuite[1]/@name", "py");
    s_assert_xpath(doc, "/testsuites/testsuite[2]/@name", "rs");
    s_assert_xpath(doc, "/testsuites/testsuite[3]/@name", "sh");

    s_assert_xpath(doc, "//testsuite[@name='py']/@tests", "8");
    s_assert_xpath(doc, "//testsuite[@name='py']/@failures", "1");
    s_assert_xpath(doc, "//testsuite[@name='py']/@errors", "2");
    s_assert_xpath(doc, "//testsuite[@name='py']/@skipped", "2");
    s_assert_xpath(doc, "//testsuite[@name='py']/@time", "5.057");
    assert_int_equal(s_xpath_count(doc, "//testsuite[@name='py']/testcase"), 8);

    s_assert_xpath(doc, "//testsuite[@name='rs']/@tests", "4");
    s_assert_xpath(doc, "//testsuite[@name='rs']/@failures", "0");
    s_assert_xpath(doc, "//testsuite[@name='rs']/@errors", "1");
    s_assert_xpath(doc, "//testsuite[@name='rs']/@skipped", "1");

    s_assert_xpath(doc, "//testsuite[@name='sh']/@tests", "2");
    s_assert_xpath(doc, "//testsuite[@name='sh']/@failures", "1");
    s_assert_xpath(doc, "//testsuite[@name='sh']/@errors", "0");
    s_assert_xpath(doc, "//testsuite[@name='sh']/@time", "1.510");

    //  Element counts agree with the attributes
    assert_int_equal(s_xpath_count(doc, "//testcase/failure"), 2);
    assert_int_equal(s_xpath_count(doc, "//testcase/error"), 3);
    assert_int_equal(s_xpath_count(doc, "//testcase/skipped"), 3);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_splits_pytest_ids_like_pytest(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    tsr_report_test_t *test =
        tsr_report_add_test(report, "test_top.py::test_z", "py", "test_top.py", PASSED, 5, NULL);
    assert_non_null(test);
    test = tsr_report_add_test(report, "a/b/test_c.py::TestOuter::TestInner::test_w[x/y]", "py",
                               "a/b/test_c.py", PASSED, 5, NULL);
    assert_non_null(test);
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_valid(doc);
    char *xpath = s_case("tests.unit.test_a.TestC", "test_y[p::q]");
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    char *time = zsys_sprintf("%s/@time", xpath);
    s_assert_xpath(doc, time, "0.012");
    free(time);
    free(xpath);
    xpath = s_case("tests.unit.test_a", "test_fail");
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xpath = s_case("test_top", "test_z");
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xpath = s_case("a.b.test_c.TestOuter.TestInner", "test_w[x/y]");
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

//  The (classname, name) pairs of every testcase of `doc`, in document order,
//  as "classname|name" lines (new string)
static char *
s_testcase_names(xmlDocPtr doc)
{
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xmlXPathObjectPtr result = xmlXPathEvalExpression(BAD_CAST "//testcase", context);
    assert_non_null(result);
    assert_non_null(result->nodesetval);
    char *lines = strdup("");
    for (int index = 0; index < result->nodesetval->nodeNr; index++) {
        xmlNodePtr node = result->nodesetval->nodeTab[index];
        xmlChar *classname = xmlGetProp(node, BAD_CAST "classname");
        xmlChar *name = xmlGetProp(node, BAD_CAST "name");
        char *longer = zsys_sprintf("%s%s|%s\n", lines, classname, name);
        free(lines);
        lines = longer;
        xmlFree(classname);
        xmlFree(name);
    }
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    return lines;
}

static void
test_report_junit_names_match_real_pytest_junitxml(void **state)
{
    (void)state;
    //  Ids from `pytest --collect-only -q`, names from `pytest --junitxml`
    FILE *ids = fopen(TSR_REPORT_FIXTURES "/pytest-ids.txt", "r");
    assert_non_null(ids);
    tsr_report_t *report = tsr_report_new("r");
    char line[1024];
    while (fgets(line, sizeof line, ids)) {
        line[strcspn(line, "\n")] = '\0';
        assert_non_null(tsr_report_add_test(report, line, "py", NULL, PASSED, 1, NULL));
    }
    fclose(ids);
    assert_int_equal(tsr_report_size(report), 7);
    xmlDocPtr pytest_doc =
        xmlReadFile(TSR_REPORT_FIXTURES "/pytest-junit.xml", NULL, XML_PARSE_NONET);
    assert_non_null(pytest_doc);
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    char *expected = s_testcase_names(pytest_doc);
    char *actual = s_testcase_names(doc);
    assert_string_equal(actual, expected);
    free(actual);
    free(expected);
    xmlFreeDoc(doc);
    xmlFreeDoc(pytest_doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_splits_cargo_ids_and_falls_back_to_group_or_job(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    char *xpath = s_case("unit_bin", "parser::tests::parses");
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xpath = s_case("integration", "smoke");
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xpath = s_case("sh", "shard-0"); //  no group: the job
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xpath = s_case("checks", "lint"); //  the group
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    free(xpath);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_flaky_test_passes_with_flaky_failures(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    char *xpath = s_case("tests.unit.test_a", "test_flaky");
    char *child = NULL;
    assert_int_equal(s_xpath_count(doc, xpath), 1);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/@time", xpath)), "0.007");
    free(child);
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/*", xpath))), 1);
    free(child);
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/flakyFailure", xpath))), 1);
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/flakyFailure/@message", xpath)), "boom first");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/flakyFailure/@type", xpath)), "failed");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/flakyFailure/stackTrace", xpath)),
                   "boom first\ntraceback");
    free(child);
    free(xpath);

    //  A timed-out attempt before the pass is a flakyError
    xpath = s_case("unit_bin", "parser::tests::flaky_io");
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/flakyError", xpath))), 1);
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/flakyError/@type", xpath)), "timed_out");
    free(child);
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/flakyFailure", xpath))), 0);
    free(child);
    free(xpath);

    //  No other test has flaky elements
    assert_int_equal(s_xpath_count(doc, "//flakyFailure | //flakyError"), 2);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_test_failing_twice_has_rerun_failure(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    char *xpath = s_case("tests.unit.test_a", "test_fail");
    char *child = NULL;
    //  <failure> is the last attempt, <rerunFailure> the earlier one
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/failure", xpath))), 1);
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/failure/@message", xpath)), "assert 1 == 3");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/failure/@type", xpath)), "failed");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/failure", xpath)), "assert 1 == 3\nE second");
    free(child);
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/rerunFailure", xpath))), 1);
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/rerunFailure/@message", xpath)), "assert 1 == 2");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/rerunFailure/stackTrace", xpath)),
                   "assert 1 == 2\nE first");
    free(child);
    free(xpath);

    //  Timeouts are errors: <error> and <rerunError>
    xpath = s_case("tests.test_b", "test_hang");
    s_assert_xpath(doc, (child = zsys_sprintf("%s/error/@type", xpath)), "timed_out");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/error/@message", xpath)),
                   "timed out after 5 s (second)");
    free(child);
    s_assert_xpath(doc, (child = zsys_sprintf("%s/rerunError/@message", xpath)),
                   "timed out after 5 s (first)");
    free(child);
    assert_int_equal(s_xpath_count(doc, (child = zsys_sprintf("%s/failure", xpath))), 0);
    free(child);
    free(xpath);

    xpath = s_case("tests.test_b", "test_segv");
    s_assert_xpath(doc, (child = zsys_sprintf("%s/error/@type", xpath)), "crashed");
    free(child);
    free(xpath);
    assert_int_equal(s_xpath_count(doc, "//rerunFailure | //rerunError"), 2);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_skipped_tests_say_why(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_fixture_sample();
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_xpath(doc, "//testcase[@name='test_skip']/skipped/@message", "no network");
    s_assert_xpath(doc, "//testcase[@name='test_xfail']/skipped/@message", "xfailed: known bug");
    s_assert_xpath(doc, "//testcase[@name='cancelled']/skipped/@message", "cancelled");
    //  xpassed is a pass: no child at all
    assert_int_equal(s_xpath_count(doc, "//testcase[@name='test_xpass']/*"), 0);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_strips_control_characters(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r\x01un");
    tsr_report_test_t *test = tsr_report_add_test(report,
                                                  "t.py::test_\x07"
                                                  "bell",
                                                  "j\x1b[1mob", NULL, FAILED, 1, "ag\x02");
    //  Terminal colours, C0 controls, a vertical tab, invalid and overlong
    //  UTF-8, a lone surrogate, U+FFFE, and valid multi-byte text
    tsr_report_test_add_attempt(test, FAILED, 1, "ag",
                                "\x1b[31mred\x1b[0m \x01\x02\x03x\x0b\x0cy\r\n"
                                "bad \xff\xfe ok, overlong \xc0\xaf, surrogate \xed\xa0\x80, "
                                "nonchar \xef\xbf\xbe, caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"
                                "\x1b]0;title\x07 end\x1b");
    char *xml = NULL;
    size_t size = 0;
    assert_int_equal(tsr_report_junit(report, &xml, &size), TSR_OK);
    //  No C0 control but tab and line feed reaches the file, raw or as a reference
    for (size_t at = 0; at < size; at++)
        if ((unsigned char)xml[at] < 0x20 && xml[at] != '\n' && xml[at] != '\t')
            fail_msg("control character 0x%02x at %zu", xml[at], at);
    assert_null(strstr(xml, "&#"));
    free(xml);

    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_valid(doc);
    s_assert_xpath(doc, "/testsuites/@name", "run");
    s_assert_xpath(doc, "//testsuite/@name", "job");
    s_assert_xpath(doc, "//testcase/@name", "test_bell");
    const char *expected = "red xy\n"
                           "bad \xef\xbf\xbd\xef\xbf\xbd ok, overlong \xef\xbf\xbd\xef\xbf\xbd, "
                           "surrogate , nonchar , "
                           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end";
    s_assert_xpath(doc, "//testcase/failure", expected);
    s_assert_xpath(doc, "//testcase/failure/@message", "red xy");
    xmlFreeDoc(doc);

    //  The JSON message is cleaned the same way
    char *json = tsr_report_json(report);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    cJSON *result = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "results"), 0);
    assert_string_equal(cJSON_GetObjectItem(result, "message")->valuestring, expected);
    assert_string_equal(cJSON_GetObjectItem(result, "id")->valuestring, "t.py::test_bell");
    cJSON_Delete(root);
    free(json);
    tsr_report_destroy(&report);
}

static void
test_report_junit_escapes_special_characters(void **state)
{
    (void)state;
    const char *id = "t.py::test_x[<a&b>\"'] ]]>]";
    const char *message = "<tag attr=\"x\">&amp; ]]> 'q'\n\tindented";
    tsr_report_t *report = tsr_report_new("r&<>\"");
    tsr_report_test_t *test = tsr_report_add_test(report, id, "j<&>", NULL, FAILED, 1, NULL);
    tsr_report_test_add_attempt(test, FAILED, 1, NULL, message);
    tsr_report_test_add_attempt(test, FAILED, 1, NULL, message);
    char *xml = NULL;
    assert_int_equal(tsr_report_junit(report, &xml, NULL), TSR_OK);
    assert_null(strstr(xml, "<a&b>"));
    assert_null(strstr(xml, "<tag"));
    free(xml);

    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_valid(doc);
    s_assert_xpath(doc, "/testsuites/@name", "r&<>\"");
    s_assert_xpath(doc, "//testsuite/@name", "j<&>");
    s_assert_xpath(doc, "//testcase/@classname", "t");
    s_assert_xpath(doc, "//testcase/@name", "test_x[<a&b>\"'] ]]>]");
    s_assert_xpath(doc, "//testcase/failure", message);
    s_assert_xpath(doc, "//testcase/failure/@message", "<tag attr=\"x\">&amp; ]]> 'q'");
    s_assert_xpath(doc, "//testcase/rerunFailure/stackTrace", message);
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

static void
test_report_junit_gives_unknown_outcomes_an_error(void **state)
{
    (void)state;
    tsr_report_t *report = tsr_report_new("r");
    tsr_report_test_t *test =
        tsr_report_add_test(report, "t", "j", NULL, (Tessera__Outcome)42, 0, NULL);
    assert_non_null(test);
    xmlDocPtr doc = tsr_report_fixture_junit(report);
    s_assert_valid(doc);
    s_assert_xpath(doc, "//testcase/error/@type", "unknown");
    assert_int_equal(s_xpath_count(doc, "//testcase/error/@message"), 0);
    s_assert_xpath(doc, "/testsuites/@errors", "1");
    xmlFreeDoc(doc);
    tsr_report_destroy(&report);
}

//  Swallows libxml2 errors we expect
static void
s_quiet(void *context, xmlErrorPtr error)
{
    (void)context;
    (void)error;
}

static void
test_report_schema_rejects_a_broken_document(void **state)
{
    (void)state;
    //  The schema check can fail: a testcase without time, and a failure
    //  after an error, are refused
    const char *broken = "<testsuites name='r' tests='1' failures='1' errors='0' skipped='0'"
                         " time='0.000'><testsuite name='j' tests='1' failures='1' errors='0'"
                         " skipped='0' time='0.000'><testcase classname='c' name='n'>"
                         "<error type='error'/><failure type='failed'/></testcase>"
                         "</testsuite></testsuites>";
    xmlDocPtr doc = xmlReadMemory(broken, (int)strlen(broken), "broken.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    xmlSchemaParserCtxtPtr parser = xmlSchemaNewParserCtxt(TSR_REPORT_FIXTURES "/junit.xsd");
    xmlSchemaPtr schema = xmlSchemaParse(parser);
    assert_non_null(schema);
    xmlSchemaValidCtxtPtr validator = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(validator, s_quiet, NULL); //  expected errors
    assert_int_not_equal(xmlSchemaValidateDoc(validator, doc), 0);
    xmlSchemaFreeValidCtxt(validator);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(parser);
    xmlFreeDoc(doc);
}

//  ---------------------------------------------------------------- files

static size_t
s_dir_entries(const char *path)
{
    DIR *dir = opendir(path);
    assert_non_null(dir);
    size_t entries = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)))
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            entries++;
    closedir(dir);
    return entries;
}

static void
test_report_write_files_that_parse_back(void **state)
{
    (void)state;
    char *dir = tsr_testdir_new("report");
    char *junit_path = zsys_sprintf("%s/junit.xml", dir);
    char *json_path = zsys_sprintf("%s/summary.json", dir);
    tsr_report_t *report = tsr_report_fixture_sample();
    assert_int_equal(tsr_report_write_junit(report, junit_path), TSR_OK);
    assert_int_equal(tsr_report_write_json(report, json_path), TSR_OK);
    //  Overwriting works, and leaves no temporary file behind
    assert_int_equal(tsr_report_write_junit(report, junit_path), TSR_OK);
    assert_int_equal(s_dir_entries(dir), 2);

    xmlDocPtr doc = xmlReadFile(junit_path, NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    s_assert_valid(doc);
    s_assert_xpath(doc, "/testsuites/@tests", "14");
    xmlFreeDoc(doc);

    zfile_t *file = zfile_new(NULL, json_path);
    assert_int_equal(zfile_input(file), 0);
    zchunk_t *chunk = zfile_read(file, zfile_cursize(file), 0);
    char *text = zchunk_strdup(chunk);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_int_equal(
        (int)tsr_report_fixture_json_number(cJSON_GetObjectItem(root, "tests"), "total"), 14);
    cJSON_Delete(root);
    free(text);
    zchunk_destroy(&chunk);
    zfile_destroy(&file);

    tsr_report_destroy(&report);
    free(json_path);
    free(junit_path);
    tsr_testdir_destroy(&dir);
}

static void
test_report_write_into_missing_directory_fails(void **state)
{
    (void)state;
    char *dir = tsr_testdir_new("report");
    char *path = zsys_sprintf("%s/missing/junit.xml", dir);
    tsr_report_t *report = tsr_report_fixture_sample();
    assert_int_equal(tsr_report_write_junit(report, path), -ENOENT);
    assert_int_equal(tsr_report_write_json(report, path), -ENOENT);
    //  A directory in the way of the rename
    char *in_the_way = zsys_sprintf("%s/taken", dir);
    assert_int_equal(zsys_dir_create("%s", in_the_way), 0);
    assert_int_equal(tsr_report_write_junit(report, in_the_way), -EISDIR);
    assert_int_equal(s_dir_entries(dir), 1); //  only "taken": no temporary left
    tsr_report_destroy(&report);
    free(in_the_way);
    free(path);
    tsr_testdir_destroy(&dir);
}

int
main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_counts_classify_every_outcome),
        cmocka_unit_test(test_report_status_is_derived_unless_set),
        cmocka_unit_test(test_report_flaky_needs_a_failed_attempt_then_a_pass),
        cmocka_unit_test(test_report_add_test_refuses_duplicates),
        cmocka_unit_test(test_report_accessors_return_what_was_set),
        cmocka_unit_test(test_report_iteration_is_in_added_order_and_writers_keep_the_cursor),
        cmocka_unit_test(test_report_outcome_names_follow_the_json_contract),
        cmocka_unit_test(test_report_junit_of_empty_report_is_valid),
        cmocka_unit_test(test_report_junit_has_one_suite_per_job_with_its_counts),
        cmocka_unit_test(test_report_junit_splits_pytest_ids_like_pytest),
        cmocka_unit_test(test_report_junit_names_match_real_pytest_junitxml),
        cmocka_unit_test(test_report_junit_splits_cargo_ids_and_falls_back_to_group_or_job),
        cmocka_unit_test(test_report_junit_flaky_test_passes_with_flaky_failures),
        cmocka_unit_test(test_report_junit_test_failing_twice_has_rerun_failure),
        cmocka_unit_test(test_report_junit_skipped_tests_say_why),
        cmocka_unit_test(test_report_junit_strips_control_characters),
        cmocka_unit_test(test_report_junit_escapes_special_characters),
        cmocka_unit_test(test_report_junit_gives_unknown_outcomes_an_error),
        cmocka_unit_test(test_report_schema_rejects_a_broken_document),
        cmocka_unit_test(test_report_write_files_that_parse_back),
        cmocka_unit_test(test_report_write_into_missing_directory_fails),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return failed;
}
