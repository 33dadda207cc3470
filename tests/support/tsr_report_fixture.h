/*  tsr_report_fixture - what the tsr_report unit tests share
    test_tsr_report.c (model, JUnit, files), test_tsr_report_json.c and
    test_tsr_report_term.c: a sample report with every outcome, a report's
    JUnit document parsed back with libxml2, and typed cJSON lookups that
    fail the test on a missing key or a wrong type. Test code only.         */
#ifndef TSR_REPORT_FIXTURE_H
#define TSR_REPORT_FIXTURE_H

#include "tsr_report.h"
#include <cjson/cJSON.h>
#include <libxml/tree.h>

//  Outcomes, short enough for tables of tests
#define PASSED TESSERA__OUTCOME__PASSED
#define FAILED TESSERA__OUTCOME__FAILED
#define ERROR TESSERA__OUTCOME__ERROR
#define SKIPPED TESSERA__OUTCOME__SKIPPED
#define XFAILED TESSERA__OUTCOME__XFAILED
#define XPASSED TESSERA__OUTCOME__XPASSED
#define TIMED_OUT TESSERA__OUTCOME__TIMED_OUT
#define CRASHED TESSERA__OUTCOME__CRASHED
#define CANCELLED TESSERA__OUTCOME__CANCELLED

//  A new report with every outcome, over three jobs (run "run-42", status
//  "failed", 12.345 s, 5,000,000,000 bytes uploaded, 6 shards, 2 cached):
//    py (pytest ids): 8 tests, 1 failure, 2 errors, 2 skipped, 1 flaky
//    rs (cargo ids):  4 tests, 0 failures, 1 error, 1 skipped, 1 flaky
//    sh (command):    2 tests, 1 failure
//  Caller destroys it.
tsr_report_t *tsr_report_fixture_sample(void);

//  tsr_report_junit of `report`, parsed (XML_PARSE_NONET). Fails the test
//  unless it is well-formed. Caller frees it with xmlFreeDoc.
xmlDocPtr tsr_report_fixture_junit(tsr_report_t *report);

//  The XPath `expression` evaluated as a string (new string, never NULL).
char *tsr_report_fixture_xpath_string(xmlDocPtr doc, const char *expression);

//  The number under `key` of `object`. Fails the test if it is missing or
//  not a number.
double tsr_report_fixture_json_number(const cJSON *object, const char *key);

//  The string under `key` of `object` (borrowed), NULL for a JSON null.
//  Fails the test if it is missing or of another type.
const char *tsr_report_fixture_json_string(const cJSON *object, const char *key);

#endif
