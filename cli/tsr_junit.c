/*  tsr_junit - JUnit XML from a RunSummary (libxml2)                        */
#include "tsr_junit.h"
#include "tsr_output.h"
#include <libxml/tree.h>
#include <libxml/xmlstring.h>
#include <string.h>

//  The progress record of shard `id`, or NULL.
static const tsr_progress_shard_t *
s_record(tsr_progress_t *progress, const char *id)
{
    if (!progress)
        return NULL;
    zlistx_t *shards = tsr_progress_shards(progress);
    for (const tsr_progress_shard_t *shard = zlistx_first(shards); shard;
         shard = zlistx_next(shards))
        if (strcmp(shard->id, id) == 0)
            return shard;
    return NULL;
}

//  Output bytes made safe for XML 1.0 text: no control characters but tab
//  and newline, and '?' for anything that is not valid UTF-8. Caller frees.
static xmlChar *
s_text(const char *bytes, size_t size)
{
    xmlChar *text = zmalloc(size + 1);
    memcpy(text, bytes, size);
    bool utf8 = xmlCheckUTF8(text) != 0;
    for (size_t index = 0; index < size; index++) {
        unsigned char byte = text[index];
        if ((byte < 0x20 && byte != '\t' && byte != '\n') || byte == 0x7f ||
            (!utf8 && byte >= 0x80))
            text[index] = '?';
    }
    return text;
}

static void
s_set_number(xmlNodePtr node, const char *name, double value, bool fraction)
{
    char text[64];
    if (fraction)
        snprintf(text, sizeof text, "%.3f", value);
    else
        snprintf(text, sizeof text, "%.0f", value);
    xmlNewProp(node, BAD_CAST name, BAD_CAST text);
}

//  A <testcase> for one result.
static void
s_testcase(xmlNodePtr suite, const Tessera__ShardSummary *result, tsr_progress_t *progress,
           unsigned *failures, unsigned *errors, unsigned *skipped)
{
    const char *id = result->id ? result->id : "";
    const tsr_progress_shard_t *record = s_record(progress, id);
    char *job = NULL;
    if (record)
        job = strdup(record->job);
    else {
        const char *slash = strrchr(id, '/');
        job = slash ? strndup(id, (size_t)(slash - id)) : strdup(id);
    }
    xmlNodePtr testcase = xmlNewChild(suite, NULL, BAD_CAST "testcase", NULL);
    xmlNewProp(testcase, BAD_CAST "classname", BAD_CAST job);
    xmlNewProp(testcase, BAD_CAST "name", BAD_CAST id);
    s_set_number(testcase, "time", (double)result->duration_ms / 1000.0, true);
    const char *outcome = tsr_output_outcome(result->outcome);
    xmlNodePtr status = NULL;
    switch (result->outcome) {
    case TESSERA__OUTCOME__PASSED:
    case TESSERA__OUTCOME__XPASSED:
        break;
    case TESSERA__OUTCOME__SKIPPED:
    case TESSERA__OUTCOME__XFAILED:
    case TESSERA__OUTCOME__CANCELLED:
        status = xmlNewChild(testcase, NULL, BAD_CAST "skipped", NULL);
        (*skipped)++;
        break;
    case TESSERA__OUTCOME__FAILED:
        status = xmlNewChild(testcase, NULL, BAD_CAST "failure", NULL);
        (*failures)++;
        break;
    default:
        status = xmlNewChild(testcase, NULL, BAD_CAST "error", NULL);
        (*errors)++;
        break;
    }
    if (status)
        xmlNewProp(status, BAD_CAST "message", BAD_CAST outcome);
    if (record && record->tail_size) {
        xmlChar *text = s_text(record->tail, record->tail_size);
        xmlNewTextChild(testcase, NULL, BAD_CAST "system-out", text);
        free(text);
    }
    free(job);
}

int
tsr_junit_render(const Tessera__RunSummary *summary, tsr_progress_t *progress, char **xml_out,
                 size_t *size_out)
{
    assert(summary);
    assert(xml_out);
    assert(size_out);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "testsuites");
    xmlDocSetRootElement(doc, root);
    xmlNodePtr suite = xmlNewChild(root, NULL, BAD_CAST "testsuite", NULL);
    char *name = zsys_sprintf("tessera %s", summary->run_id ? summary->run_id : "");
    xmlNewProp(suite, BAD_CAST "name", BAD_CAST name);
    free(name);
    unsigned failures = 0, errors = 0, skipped = 0;
    for (size_t index = 0; index < summary->n_results; index++)
        s_testcase(suite, summary->results[index], progress, &failures, &errors, &skipped);
    xmlNodePtr nodes[] = {root, suite};
    for (size_t index = 0; index < 2; index++) {
        s_set_number(nodes[index], "tests", (double)summary->n_results, false);
        s_set_number(nodes[index], "failures", failures, false);
        s_set_number(nodes[index], "errors", errors, false);
        s_set_number(nodes[index], "skipped", skipped, false);
        s_set_number(nodes[index], "time", (double)summary->wall_ms / 1000.0, true);
    }
    xmlChar *buffer = NULL;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc, &buffer, &size, "UTF-8", 1);
    xmlFreeDoc(doc);
    if (!buffer || size <= 0) {
        xmlFree(buffer);
        return TSR_EINVAL;
    }
    *xml_out = zmalloc((size_t)size + 1);
    memcpy(*xml_out, buffer, (size_t)size);
    *size_out = (size_t)size;
    xmlFree(buffer);
    return TSR_OK;
}
