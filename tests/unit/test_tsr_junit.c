/*  Unit tests for tsr_junit: JUnit XML of a run.                           */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <string.h>

#include "tsr_junit.h"

//  Number of nodes an XPath expression selects.
static int
s_count(xmlDocPtr doc, const char *xpath)
{
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xmlXPathObjectPtr result = xmlXPathEvalExpression(BAD_CAST xpath, context);
    int count = result && result->nodesetval ? result->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    return count;
}

//  The string value of an XPath expression. Caller frees with xmlFree.
static char *
s_value(xmlDocPtr doc, const char *xpath)
{
    xmlXPathContextPtr context = xmlXPathNewContext(doc);
    xmlXPathObjectPtr result = xmlXPathEvalExpression(BAD_CAST xpath, context);
    char *value = (char *)xmlXPathCastToString(result);
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    return value;
}

static void
test_junit_one_testcase_per_shard_with_status_and_output(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(0);
    Tessera__Event event = TESSERA__EVENT__INIT;
    event.kind = TESSERA__EVENT__KIND__SHARD_FINISHED;
    event.job = "unit";
    event.shard_count = 3;
    event.shard_index = 1;
    event.outcome = TESSERA__OUTCOME__FAILED;
    const char tail[] = "boom <&> \x1b[31mred\x1b[0m\n";
    event.output_tail.data = (uint8_t *)tail;
    event.output_tail.len = sizeof tail - 1;
    (void)tsr_progress_apply(progress, &event, 10);

    const char *ids[] = {"unit/0", "unit/1", "unit/2"};
    Tessera__Outcome outcomes[] = {TESSERA__OUTCOME__PASSED, TESSERA__OUTCOME__FAILED,
                                   TESSERA__OUTCOME__CRASHED};
    Tessera__ShardSummary shards[3];
    Tessera__ShardSummary *pointers[3];
    for (int index = 0; index < 3; index++) {
        tessera__shard_summary__init(&shards[index]);
        shards[index].id = (char *)ids[index];
        shards[index].outcome = outcomes[index];
        shards[index].duration_ms = 1500;
        pointers[index] = &shards[index];
    }
    Tessera__RunSummary summary = TESSERA__RUN_SUMMARY__INIT;
    summary.run_id = "r1";
    summary.n_results = 3;
    summary.results = pointers;

    char *xml = NULL;
    size_t size = 0;
    assert_int_equal(tsr_junit_render(&summary, progress, &xml, &size), TSR_OK);
    assert_int_equal(strlen(xml), size);
    xmlDocPtr doc = xmlReadMemory(xml, (int)size, "junit.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    assert_int_equal(s_count(doc, "/testsuites/testsuite/testcase"), 3);
    assert_int_equal(s_count(doc, "//testcase[@name='unit/1']/failure"), 1);
    assert_int_equal(s_count(doc, "//testcase[@name='unit/2']/error"), 1);
    assert_int_equal(s_count(doc, "//testcase[@name='unit/0']/*"), 0);
    char *value = s_value(doc, "string(//testcase[@name='unit/1']/@classname)");
    assert_string_equal(value, "unit");
    xmlFree(value);
    value = s_value(doc, "string(//testcase[@name='unit/0']/@time)");
    assert_string_equal(value, "1.500");
    xmlFree(value);
    value = s_value(doc, "string(/testsuites/@failures)");
    assert_string_equal(value, "1");
    xmlFree(value);
    value = s_value(doc, "string(/testsuites/@errors)");
    assert_string_equal(value, "1");
    xmlFree(value);
    value = s_value(doc, "string(//testcase[@name='unit/1']/system-out)");
    assert_string_equal(value, "boom <&> ?[31mred?[0m\n"); //  escapes survive, ESC does not
    xmlFree(value);
    xmlFreeDoc(doc);
    free(xml);
    tsr_progress_destroy(&progress);
}

static void
test_junit_without_progress_or_results(void **state)
{
    (void)state;
    Tessera__RunSummary summary = TESSERA__RUN_SUMMARY__INIT;
    char *xml = NULL;
    size_t size = 0;
    assert_int_equal(tsr_junit_render(&summary, NULL, &xml, &size), TSR_OK);
    xmlDocPtr doc = xmlReadMemory(xml, (int)size, "junit.xml", NULL, XML_PARSE_NONET);
    assert_non_null(doc);
    assert_int_equal(s_count(doc, "//testcase"), 0);
    xmlFreeDoc(doc);
    free(xml);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_junit_one_testcase_per_shard_with_status_and_output),
        cmocka_unit_test(test_junit_without_progress_or_results),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return failed;
}
