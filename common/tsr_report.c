/*  tsr_report - the results of one run and the files made from them
    Owns the tests of a run and their attempts; writes JUnit XML with
    libxml2's xmlTextWriter, the JSON summary with cJSON, and the terminal
    summary with stdio. Every string that reaches a file or a terminal is
    cleaned first (s_clean): test output is arbitrary bytes, and one
    control character makes a JUnit file unreadable for Jenkins. Callers:
    the CLI. One owner; not thread-safe.                                    */
#include "tsr_report.h" //  own header first: proves it self-contained

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/chvalid.h>
#include <libxml/xmlstring.h>
#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  JUnit `message` attributes: the first line of a text, at most this long
#define S_ATTRIBUTE_MAX 512
//  What a cut text ends with
#define S_CUT_MARK "..."

struct _tsr_report_test_t {
    char *id;                 //  owned; the framework's test id
    char *job;                //  owned; the job's name
    char *group;              //  owned; file, module or binary; NULL if none
    Tessera__Outcome outcome; //  final outcome
    uint64_t duration_ms;     //  final attempt's run time
    char *agent;              //  owned; where the final attempt ran; NULL if unknown
    zlistx_t *attempts;       //  owned; tsr_report_attempt_t * (owned), in run order
};

struct _tsr_report_t {
    char *run_id;            //  owned
    char *status;            //  owned; NULL = derive from the counts
    uint64_t wall_ms;        //  the run's wall time
    uint64_t uploaded_bytes; //  bytes the client uploaded
    size_t shards;           //  shards of the run
    size_t cached_shards;    //  of them, replayed from the cache
    zlistx_t *tests;         //  owned; tsr_report_test_t *, added order; public cursor
    zlistx_t *walk;          //  the same tests, borrowed (owner: tests): a second
                             //  cursor, so internal passes never move the public one
    zhashx_t *index;         //  "job\x1fid" -> tsr_report_test_t *, borrowed (owner: tests)
};

//  ---------------------------------------------------------------- text cleaning

typedef enum {
    S_CLEAN_TEXT, //  keep line feeds and tabs
    S_CLEAN_LINE, //  stop at the first line feed; tabs become spaces
} s_clean_mode_t;

//  Bytes a code point takes in UTF-8 (to refuse overlong forms)
static int
s_utf8_length(int code_point)
{
    if (code_point < 0x80)
        return 1;
    if (code_point < 0x800)
        return 2;
    if (code_point < 0x10000)
        return 3;
    return 4;
}

//  Length of the terminal escape sequence at `text` (text[0] == ESC): CSI
//  (ESC [ params final), OSC (ESC ] ... BEL or ESC \), else ESC and one byte.
static size_t
s_escape_length(const unsigned char *text, size_t length)
{
    assert(length > 0 && text[0] == 0x1b);
    if (length == 1)
        return 1;
    size_t at = 2;
    if (text[1] == '[') {
        while (at < length && !(text[at] >= 0x40 && text[at] <= 0x7e))
            at++;
        return at < length ? at + 1 : length;
    }
    if (text[1] == ']') {
        while (at < length) {
            if (text[at] == 0x07)
                return at + 1;
            if (text[at] == 0x1b && at + 1 < length && text[at + 1] == '\\')
                return at + 2;
            at++;
        }
        return length;
    }
    return 2;
}

//  A copy of `text` that is valid UTF-8 made only of XML 1.0 characters:
//  invalid or overlong sequences become U+FFFD, terminal escapes and other
//  control characters (and carriage returns) are dropped. At most
//  `max_bytes` bytes (0 = no limit) plus S_CUT_MARK when cut. NULL gives "".
//  Returns a new string.
static char *
s_clean(const char *text, size_t max_bytes, s_clean_mode_t mode)
{
    const unsigned char *input = (const unsigned char *)(text ? text : "");
    size_t length = strlen((const char *)input);
    //  Worst case: every byte becomes a 3-byte U+FFFD
    char *output = malloc(3 * length + sizeof S_CUT_MARK);
    assert(output);
    size_t out = 0;
    size_t at = 0;
    while (at < length) {
        if (input[at] == 0x1b) {
            at += s_escape_length(input + at, length - at);
            continue;
        }
        int size = (int)(length - at < 4 ? length - at : 4);
        int code_point = xmlGetUTF8Char(input + at, &size);
        const char *bytes = (const char *)input + at;
        if (code_point < 0 || size != s_utf8_length(code_point)) {
            bytes = "\xef\xbf\xbd"; //  U+FFFD REPLACEMENT CHARACTER
            size = 3;
            at += 1;
        } else {
            at += (size_t)size;
            if (code_point == '\n' && mode == S_CLEAN_LINE)
                break;
            if (code_point == '\t' && mode == S_CLEAN_LINE)
                bytes = " ";
            if (code_point == '\r' || !xmlIsCharQ(code_point))
                continue;
        }
        if (max_bytes && out + (size_t)size > max_bytes) {
            memcpy(output + out, S_CUT_MARK, sizeof S_CUT_MARK - 1);
            out += sizeof S_CUT_MARK - 1;
            break;
        }
        memcpy(output + out, bytes, (size_t)size);
        out += (size_t)size;
    }
    output[out] = '\0';
    return output;
}

//  "12.345" seconds from milliseconds, without locale or float rounding
static void
s_format_seconds(char *buffer, size_t size, uint64_t duration_ms)
{
    snprintf(buffer, size, "%" PRIu64 ".%03u", duration_ms / 1000, (unsigned)(duration_ms % 1000));
}

//  Write `size` bytes to `path` through a temporary file and a rename.
//  Returns TSR_OK or -errno; leaves no temporary file behind.
static int
s_write_file(const char *path, const char *bytes, size_t size)
{
    int rc = TSR_OK;
    bool created = false;
    char *temp_path = zsys_sprintf("%s.XXXXXX", path);
    int fd = mkstemp(temp_path);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    created = true;
    if (fchmod(fd, 0644) != 0) {
        rc = -errno;
        goto out;
    }
    size_t written = 0;
    while (written < size) {
        ssize_t count = write(fd, bytes + written, size - written);
        if (count < 0 && errno == EINTR)
            continue;
        if (count < 0) {
            rc = -errno;
            goto out;
        }
        written += (size_t)count;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        goto out;
    }
    fd = -1;
    if (rename(temp_path, path) != 0)
        rc = -errno;
out:
    if (fd >= 0)
        close(fd);
    if (rc != TSR_OK && created)
        (void)unlink(temp_path);
    free(temp_path);
    return rc;
}

//  ---------------------------------------------------------------- model

static void
s_attempt_destroy(void **item_p)
{
    tsr_report_attempt_t *attempt = *item_p;
    if (attempt) {
        free((char *)attempt->agent);
        free((char *)attempt->message);
        free(attempt);
        *item_p = NULL;
    }
}

static void
s_test_destroy(void **item_p)
{
    tsr_report_test_t *test = *item_p;
    if (test) {
        free(test->id);
        free(test->job);
        free(test->group);
        free(test->agent);
        zlistx_destroy(&test->attempts);
        free(test);
        *item_p = NULL;
    }
}

static char *
s_strdup_or_null(const char *text)
{
    if (!text)
        return NULL;
    char *copy = strdup(text);
    assert(copy);
    return copy;
}

//  The index key of a test: job and id cannot contain 0x1f in practice, and
//  if they did the worst case is a refused duplicate
static char *
s_index_key(const char *job, const char *id)
{
    return zsys_sprintf("%s\x1f%s", job, id);
}

tsr_report_t *
tsr_report_new(const char *run_id)
{
    assert(run_id);
    tsr_report_t *self = calloc(1, sizeof *self);
    assert(self);
    self->run_id = s_strdup_or_null(run_id);
    self->tests = zlistx_new();
    zlistx_set_destructor(self->tests, s_test_destroy);
    self->walk = zlistx_new();
    self->index = zhashx_new();
    return self;
}

void
tsr_report_destroy(tsr_report_t **self_p)
{
    assert(self_p);
    tsr_report_t *self = *self_p;
    if (self) {
        zhashx_destroy(&self->index);
        zlistx_destroy(&self->walk);
        zlistx_destroy(&self->tests);
        free(self->status);
        free(self->run_id);
        free(self);
        *self_p = NULL;
    }
}

const char *
tsr_report_run_id(tsr_report_t *self)
{
    assert(self);
    return self->run_id;
}

void
tsr_report_set_status(tsr_report_t *self, const char *status)
{
    assert(self);
    free(self->status);
    self->status = s_strdup_or_null(status);
}

const char *
tsr_report_status(tsr_report_t *self)
{
    assert(self);
    if (self->status)
        return self->status;
    tsr_report_counts_t counts;
    tsr_report_counts(self, &counts);
    return counts.failed ? "failed" : "passed";
}

void
tsr_report_set_wall_ms(tsr_report_t *self, uint64_t wall_ms)
{
    assert(self);
    self->wall_ms = wall_ms;
}

uint64_t
tsr_report_wall_ms(tsr_report_t *self)
{
    assert(self);
    return self->wall_ms;
}

void
tsr_report_set_uploaded_bytes(tsr_report_t *self, uint64_t uploaded_bytes)
{
    assert(self);
    self->uploaded_bytes = uploaded_bytes;
}

uint64_t
tsr_report_uploaded_bytes(tsr_report_t *self)
{
    assert(self);
    return self->uploaded_bytes;
}

void
tsr_report_set_shards(tsr_report_t *self, size_t shards, size_t cached_shards)
{
    assert(self);
    self->shards = shards;
    self->cached_shards = cached_shards;
}

size_t
tsr_report_shards(tsr_report_t *self)
{
    assert(self);
    return self->shards;
}

size_t
tsr_report_cached_shards(tsr_report_t *self)
{
    assert(self);
    return self->cached_shards;
}

tsr_report_test_t *
tsr_report_add_test(tsr_report_t *self, const char *id, const char *job, const char *group,
                    Tessera__Outcome outcome, uint64_t duration_ms, const char *agent)
{
    assert(self);
    assert(id);
    assert(job);
    char *key = s_index_key(job, id);
    tsr_report_test_t *test = NULL;
    if (zhashx_lookup(self->index, key))
        goto out;
    test = calloc(1, sizeof *test);
    assert(test);
    test->id = s_strdup_or_null(id);
    test->job = s_strdup_or_null(job);
    test->group = s_strdup_or_null(group);
    test->outcome = outcome;
    test->duration_ms = duration_ms;
    test->agent = s_strdup_or_null(agent);
    test->attempts = zlistx_new();
    zlistx_set_destructor(test->attempts, s_attempt_destroy);
    zlistx_add_end(self->tests, test);
    zlistx_add_end(self->walk, test);
    int rc = zhashx_insert(self->index, key, test);
    assert(rc == 0);
out:
    free(key);
    return test;
}

void
tsr_report_test_add_attempt(tsr_report_test_t *test, Tessera__Outcome outcome, uint64_t duration_ms,
                            const char *agent, const char *message)
{
    assert(test);
    tsr_report_attempt_t *attempt = calloc(1, sizeof *attempt);
    assert(attempt);
    attempt->outcome = outcome;
    attempt->duration_ms = duration_ms;
    attempt->agent = s_strdup_or_null(agent);
    attempt->message = s_strdup_or_null(message);
    zlistx_add_end(test->attempts, attempt);
}

tsr_report_test_t *
tsr_report_find(tsr_report_t *self, const char *job, const char *id)
{
    assert(self);
    assert(job);
    assert(id);
    char *key = s_index_key(job, id);
    tsr_report_test_t *test = zhashx_lookup(self->index, key);
    free(key);
    return test;
}

size_t
tsr_report_size(tsr_report_t *self)
{
    assert(self);
    return zlistx_size(self->tests);
}

tsr_report_test_t *
tsr_report_first(tsr_report_t *self)
{
    assert(self);
    return zlistx_first(self->tests);
}

tsr_report_test_t *
tsr_report_next(tsr_report_t *self)
{
    assert(self);
    return zlistx_next(self->tests);
}

//  Which of passed/failed/skipped an outcome counts as
typedef enum {
    S_COUNTS_PASSED,
    S_COUNTS_FAILED,
    S_COUNTS_SKIPPED,
} s_counts_as_t;

static s_counts_as_t
s_counts_as(Tessera__Outcome outcome)
{
    switch (outcome) {
    case TESSERA__OUTCOME__PASSED:
    case TESSERA__OUTCOME__XPASSED:
        return S_COUNTS_PASSED;
    case TESSERA__OUTCOME__SKIPPED:
    case TESSERA__OUTCOME__XFAILED:
    case TESSERA__OUTCOME__CANCELLED:
        return S_COUNTS_SKIPPED;
    default:
        return S_COUNTS_FAILED;
    }
}

//  Failed as a JUnit <failure> (an assertion) rather than an <error>
static bool
s_is_junit_failure(Tessera__Outcome outcome)
{
    return outcome == TESSERA__OUTCOME__FAILED;
}

//  Add one test to `counts`
static void
s_count_test(tsr_report_counts_t *counts, tsr_report_test_t *test)
{
    counts->total++;
    switch (s_counts_as(test->outcome)) {
    case S_COUNTS_PASSED:
        counts->passed++;
        if (tsr_report_test_is_flaky(test))
            counts->flaky++;
        break;
    case S_COUNTS_SKIPPED:
        counts->skipped++;
        break;
    case S_COUNTS_FAILED:
        counts->failed++;
        if (!s_is_junit_failure(test->outcome))
            counts->errors++;
        break;
    }
}

void
tsr_report_counts(tsr_report_t *self, tsr_report_counts_t *counts)
{
    assert(self);
    assert(counts);
    memset(counts, 0, sizeof *counts);
    tsr_report_test_t *test = zlistx_first(self->walk);
    while (test) {
        s_count_test(counts, test);
        test = zlistx_next(self->walk);
    }
}

const char *
tsr_report_test_id(tsr_report_test_t *test)
{
    assert(test);
    return test->id;
}

const char *
tsr_report_test_job(tsr_report_test_t *test)
{
    assert(test);
    return test->job;
}

const char *
tsr_report_test_group(tsr_report_test_t *test)
{
    assert(test);
    return test->group;
}

Tessera__Outcome
tsr_report_test_outcome(tsr_report_test_t *test)
{
    assert(test);
    return test->outcome;
}

uint64_t
tsr_report_test_duration_ms(tsr_report_test_t *test)
{
    assert(test);
    return test->duration_ms;
}

const char *
tsr_report_test_agent(tsr_report_test_t *test)
{
    assert(test);
    return test->agent;
}

size_t
tsr_report_test_attempts(tsr_report_test_t *test)
{
    assert(test);
    return zlistx_size(test->attempts);
}

const tsr_report_attempt_t *
tsr_report_test_attempt(tsr_report_test_t *test, size_t index)
{
    assert(test);
    assert(index < zlistx_size(test->attempts));
    tsr_report_attempt_t *attempt = zlistx_first(test->attempts);
    while (index--)
        attempt = zlistx_next(test->attempts);
    return attempt;
}

//  Number of attempts that count as failed
static size_t
s_failed_attempts(tsr_report_test_t *test)
{
    size_t failed = 0;
    tsr_report_attempt_t *attempt = zlistx_first(test->attempts);
    while (attempt) {
        if (tsr_report_outcome_is_failure(attempt->outcome))
            failed++;
        attempt = zlistx_next(test->attempts);
    }
    return failed;
}

bool
tsr_report_test_is_flaky(tsr_report_test_t *test)
{
    assert(test);
    return s_counts_as(test->outcome) == S_COUNTS_PASSED && s_failed_attempts(test) > 0;
}

const char *
tsr_report_test_message(tsr_report_test_t *test)
{
    assert(test);
    tsr_report_attempt_t *attempt = zlistx_first(test->attempts);
    while (attempt) {
        if (tsr_report_outcome_is_failure(attempt->outcome))
            return attempt->message;
        attempt = zlistx_next(test->attempts);
    }
    return NULL;
}

//  The last failing attempt (what a failed test's <failure> shows), or NULL
static tsr_report_attempt_t *
s_last_failure(tsr_report_test_t *test)
{
    tsr_report_attempt_t *attempt = zlistx_last(test->attempts);
    while (attempt) {
        if (tsr_report_outcome_is_failure(attempt->outcome))
            return attempt;
        attempt = zlistx_prev(test->attempts);
    }
    return NULL;
}

//  The last attempt's message, whatever its outcome (a skip reason), or NULL
static const char *
s_last_message(tsr_report_test_t *test)
{
    tsr_report_attempt_t *attempt = zlistx_last(test->attempts);
    return attempt ? attempt->message : NULL;
}

const char *
tsr_report_outcome_name(Tessera__Outcome outcome)
{
    switch (outcome) {
    case TESSERA__OUTCOME__PASSED:
        return "passed";
    case TESSERA__OUTCOME__FAILED:
        return "failed";
    case TESSERA__OUTCOME__ERROR:
        return "error";
    case TESSERA__OUTCOME__SKIPPED:
        return "skipped";
    case TESSERA__OUTCOME__XFAILED:
        return "xfailed";
    case TESSERA__OUTCOME__XPASSED:
        return "xpassed";
    case TESSERA__OUTCOME__TIMED_OUT:
        return "timed_out";
    case TESSERA__OUTCOME__CRASHED:
        return "crashed";
    case TESSERA__OUTCOME__CANCELLED:
        return "cancelled";
    default:
        return "unknown";
    }
}

bool
tsr_report_outcome_is_failure(Tessera__Outcome outcome)
{
    return s_counts_as(outcome) == S_COUNTS_FAILED;
}

//  ---------------------------------------------------------------- JUnit XML

//  The tests of one job: a JUnit <testsuite>
typedef struct {
    const char *job;            //  borrowed (owner: the first test of the job)
    zlistx_t *tests;            //  owned list of tsr_report_test_t *, borrowed (owner: report)
    tsr_report_counts_t counts; //  of these tests
    uint64_t duration_ms;       //  sum of their final durations
} s_suite_t;

static void
s_suite_destroy(void **item_p)
{
    s_suite_t *suite = *item_p;
    if (suite) {
        zlistx_destroy(&suite->tests);
        free(suite);
        *item_p = NULL;
    }
}

//  The report's tests grouped by job, jobs in the order they first appear.
//  Returns a new list of s_suite_t * (owned).
static zlistx_t *
s_suites_new(tsr_report_t *self)
{
    zlistx_t *suites = zlistx_new();
    zlistx_set_destructor(suites, s_suite_destroy);
    zhashx_t *by_job = zhashx_new(); //  job -> s_suite_t *, borrowed (owner: suites)
    tsr_report_test_t *test = zlistx_first(self->walk);
    while (test) {
        s_suite_t *suite = zhashx_lookup(by_job, test->job);
        if (!suite) {
            suite = calloc(1, sizeof *suite);
            assert(suite);
            suite->job = test->job;
            suite->tests = zlistx_new();
            zlistx_add_end(suites, suite);
            int rc = zhashx_insert(by_job, test->job, suite);
            assert(rc == 0);
        }
        zlistx_add_end(suite->tests, test);
        s_count_test(&suite->counts, test);
        suite->duration_ms += test->duration_ms;
        test = zlistx_next(self->walk);
    }
    zhashx_destroy(&by_job);
    return suites;
}

//  Where a pytest node id's parameters start ("[" or the end): "::" inside
//  the parameters is not a separator
static size_t
s_params_at(const char *id)
{
    const char *bracket = strchr(id, '[');
    return bracket ? (size_t)(bracket - id) : strlen(id);
}

//  Is `id` a pytest node id: "path/file.py::name..."?
static bool
s_is_pytest_id(const char *id)
{
    const char *separator = strstr(id, "::");
    if (!separator || (size_t)(separator - id) >= s_params_at(id))
        return false;
    size_t path_length = (size_t)(separator - id);
    return path_length > 3 && memcmp(separator - 3, ".py", 3) == 0;
}

//  JUnit classname and name of a test (new strings, not yet cleaned):
//  pytest as its junitxml's mangle_test_address, cargo binary::rest,
//  otherwise the group (or the job) and the whole id
static void
s_junit_names(tsr_report_test_t *test, char **classname_p, char **name_p)
{
    const char *id = test->id;
    if (s_is_pytest_id(id)) {
        //  The last "::" before the parameters splits class from name
        size_t params_at = s_params_at(id);
        size_t last = 0;
        for (size_t at = 0; at + 1 < params_at; at++)
            if (id[at] == ':' && id[at + 1] == ':')
                last = at;
        const char *separator = strstr(id, "::");
        size_t path_length = (size_t)(separator - id) - 3; //  without ".py"
        //  path with '/' -> '.', then the classes with "::" -> "."
        char *path = zsys_sprintf("%.*s", (int)path_length, id);
        for (char *slash = strchr(path, '/'); slash; slash = strchr(slash, '/'))
            *slash = '.';
        char *classes = zsys_sprintf("%.*s", (int)(last - (path_length + 3)), id + path_length + 3);
        //  classes is "" or "::A::B": turn each "::" into "."
        char *dotted = calloc(1, strlen(classes) + 1);
        assert(dotted);
        size_t out = 0;
        for (size_t at = 0; classes[at]; at++) {
            if (classes[at] == ':' && classes[at + 1] == ':') {
                dotted[out++] = '.';
                at++;
            } else
                dotted[out++] = classes[at];
        }
        *classname_p = zsys_sprintf("%s%s", path, dotted);
        *name_p = s_strdup_or_null(id + last + 2);
        free(dotted);
        free(classes);
        free(path);
        return;
    }
    const char *separator = strstr(id, "::");
    if (separator && separator != id && separator[2]) {
        *classname_p = zsys_sprintf("%.*s", (int)(separator - id), id);
        *name_p = s_strdup_or_null(separator + 2);
        return;
    }
    *classname_p = s_strdup_or_null(test->group && *test->group ? test->group : test->job);
    *name_p = s_strdup_or_null(id);
}

//  Writer state: the first libxml2 error sticks, so a whole element can be
//  written before checking
typedef struct {
    xmlTextWriterPtr writer; //  borrowed (owner: tsr_report_junit)
    int rc;                  //  the first negative libxml2 result, else 0
} s_xml_t;

static void
s_xml_check(s_xml_t *xml, int rc)
{
    if (rc < 0 && xml->rc == 0)
        xml->rc = rc;
}

static void
s_xml_start(s_xml_t *xml, const char *element)
{
    s_xml_check(xml, xmlTextWriterStartElement(xml->writer, BAD_CAST element));
}

static void
s_xml_end(s_xml_t *xml)
{
    s_xml_check(xml, xmlTextWriterEndElement(xml->writer));
}

//  An attribute with a cleaned value (`mode` S_CLEAN_LINE: first line only)
static void
s_xml_attribute(s_xml_t *xml, const char *name, const char *value, s_clean_mode_t mode)
{
    char *clean = s_clean(value, mode == S_CLEAN_LINE ? S_ATTRIBUTE_MAX : 0, mode);
    s_xml_check(xml, xmlTextWriterWriteAttribute(xml->writer, BAD_CAST name, BAD_CAST clean));
    free(clean);
}

static void
s_xml_count(s_xml_t *xml, const char *name, size_t value)
{
    s_xml_check(xml, xmlTextWriterWriteFormatAttribute(xml->writer, BAD_CAST name, "%zu", value));
}

static void
s_xml_time(s_xml_t *xml, uint64_t duration_ms)
{
    char seconds[32];
    s_format_seconds(seconds, sizeof seconds, duration_ms);
    s_xml_check(xml, xmlTextWriterWriteAttribute(xml->writer, BAD_CAST "time", BAD_CAST seconds));
}

static void
s_xml_text(s_xml_t *xml, const char *text)
{
    char *clean = s_clean(text, 0, S_CLEAN_TEXT);
    s_xml_check(xml, xmlTextWriterWriteString(xml->writer, BAD_CAST clean));
    free(clean);
}

//  tests/failures/errors/skipped of a <testsuites> or <testsuite>
static void
s_xml_counts(s_xml_t *xml, const tsr_report_counts_t *counts)
{
    s_xml_count(xml, "tests", counts->total);
    s_xml_count(xml, "failures", counts->failed - counts->errors);
    s_xml_count(xml, "errors", counts->errors);
    s_xml_count(xml, "skipped", counts->skipped);
}

//  <failure> or <error> of a failed test: its last failing attempt
static void
s_xml_final_failure(s_xml_t *xml, tsr_report_test_t *test, const tsr_report_attempt_t *attempt)
{
    const char *message = attempt ? attempt->message : NULL;
    s_xml_start(xml, s_is_junit_failure(test->outcome) ? "failure" : "error");
    if (message && *message)
        s_xml_attribute(xml, "message", message, S_CLEAN_LINE);
    s_xml_attribute(xml, "type", tsr_report_outcome_name(test->outcome), S_CLEAN_LINE);
    if (message && *message)
        s_xml_text(xml, message);
    s_xml_end(xml);
}

//  <rerunX>/<flakyX> for every failing attempt but `skip` whose outcome is
//  (`failures`) or is not (!`failures`) a JUnit failure
static void
s_xml_other_attempts(s_xml_t *xml, tsr_report_test_t *test, const tsr_report_attempt_t *skip,
                     const char *element, bool failures)
{
    tsr_report_attempt_t *attempt = zlistx_first(test->attempts);
    while (attempt) {
        if (attempt != skip && tsr_report_outcome_is_failure(attempt->outcome) &&
            s_is_junit_failure(attempt->outcome) == failures) {
            s_xml_start(xml, element);
            if (attempt->message && *attempt->message)
                s_xml_attribute(xml, "message", attempt->message, S_CLEAN_LINE);
            s_xml_attribute(xml, "type", tsr_report_outcome_name(attempt->outcome), S_CLEAN_LINE);
            s_xml_start(xml, "stackTrace");
            s_xml_text(xml, attempt->message);
            s_xml_end(xml);
            s_xml_end(xml);
        }
        attempt = zlistx_next(test->attempts);
    }
}

//  The <skipped> of a skipped, xfailed or cancelled test
static void
s_xml_skipped(s_xml_t *xml, tsr_report_test_t *test)
{
    const char *reason = s_last_message(test);
    char *message = NULL;
    if (test->outcome == TESSERA__OUTCOME__SKIPPED)
        message = s_strdup_or_null(reason);
    else if (reason && *reason)
        message = zsys_sprintf("%s: %s", tsr_report_outcome_name(test->outcome), reason);
    else
        message = s_strdup_or_null(tsr_report_outcome_name(test->outcome));
    s_xml_start(xml, "skipped");
    if (message && *message)
        s_xml_attribute(xml, "message", message, S_CLEAN_LINE);
    s_xml_end(xml);
    free(message);
}

//  One <testcase>. Children in the order of surefire's schema: failure,
//  rerunFailure, flakyFailure, skipped, error, rerunError, flakyError.
static void
s_xml_testcase(s_xml_t *xml, tsr_report_test_t *test)
{
    char *classname = NULL;
    char *name = NULL;
    s_junit_names(test, &classname, &name);
    s_xml_start(xml, "testcase");
    s_xml_attribute(xml, "classname", classname, S_CLEAN_TEXT);
    s_xml_attribute(xml, "name", name, S_CLEAN_TEXT);
    s_xml_time(xml, test->duration_ms);
    free(classname);
    free(name);

    switch (s_counts_as(test->outcome)) {
    case S_COUNTS_PASSED:
        s_xml_other_attempts(xml, test, NULL, "flakyFailure", true);
        s_xml_other_attempts(xml, test, NULL, "flakyError", false);
        break;
    case S_COUNTS_SKIPPED:
        s_xml_skipped(xml, test);
        break;
    case S_COUNTS_FAILED: {
        tsr_report_attempt_t *last = s_last_failure(test);
        if (s_is_junit_failure(test->outcome))
            s_xml_final_failure(xml, test, last);
        s_xml_other_attempts(xml, test, last, "rerunFailure", true);
        if (!s_is_junit_failure(test->outcome))
            s_xml_final_failure(xml, test, last);
        s_xml_other_attempts(xml, test, last, "rerunError", false);
        break;
    }
    }
    s_xml_end(xml);
}

int
tsr_report_junit(tsr_report_t *self, char **xml_p, size_t *size_p)
{
    assert(self);
    assert(xml_p);
    int rc = TSR_OK;
    zlistx_t *suites = NULL;
    xmlBufferPtr buffer = xmlBufferCreate();
    assert(buffer);
    xmlTextWriterPtr writer = xmlNewTextWriterMemory(buffer, 0);
    assert(writer);
    s_xml_t xml = {writer, 0};
    s_xml_check(&xml, xmlTextWriterSetIndent(writer, 1));
    s_xml_check(&xml, xmlTextWriterSetIndentString(writer, BAD_CAST "  "));
    s_xml_check(&xml, xmlTextWriterStartDocument(writer, "1.0", "UTF-8", NULL));

    tsr_report_counts_t counts;
    tsr_report_counts(self, &counts);
    s_xml_start(&xml, "testsuites");
    s_xml_attribute(&xml, "name", self->run_id, S_CLEAN_LINE);
    s_xml_counts(&xml, &counts);
    s_xml_time(&xml, self->wall_ms);

    suites = s_suites_new(self);
    s_suite_t *suite = zlistx_first(suites);
    while (suite) {
        s_xml_start(&xml, "testsuite");
        s_xml_attribute(&xml, "name", suite->job, S_CLEAN_LINE);
        s_xml_counts(&xml, &suite->counts);
        s_xml_time(&xml, suite->duration_ms);
        tsr_report_test_t *test = zlistx_first(suite->tests);
        while (test) {
            s_xml_testcase(&xml, test);
            test = zlistx_next(suite->tests);
        }
        s_xml_end(&xml);
        suite = zlistx_next(suites);
    }
    s_xml_end(&xml);
    s_xml_check(&xml, xmlTextWriterEndDocument(writer));
    xmlFreeTextWriter(writer); //  flushes into buffer
    if (xml.rc < 0) {
        rc = -EIO;
        goto out;
    }
    size_t size = (size_t)xmlBufferLength(buffer);
    char *text = malloc(size + 1);
    assert(text);
    memcpy(text, xmlBufferContent(buffer), size);
    text[size] = '\0';
    *xml_p = text;
    if (size_p)
        *size_p = size;
out:
    zlistx_destroy(&suites);
    xmlBufferFree(buffer);
    return rc;
}

int
tsr_report_write_junit(tsr_report_t *self, const char *path)
{
    assert(self);
    assert(path);
    char *xml = NULL;
    size_t size = 0;
    int rc = tsr_report_junit(self, &xml, &size);
    if (rc == TSR_OK)
        rc = s_write_file(path, xml, size);
    free(xml);
    return rc;
}

//  ---------------------------------------------------------------- JSON

//  A cleaned string value, or null for NULL
static void
s_json_string(cJSON *object, const char *key, const char *value, size_t max_bytes)
{
    if (!value) {
        cJSON_AddNullToObject(object, key);
        return;
    }
    char *clean = s_clean(value, max_bytes, S_CLEAN_TEXT);
    cJSON_AddStringToObject(object, key, clean);
    free(clean);
}

static cJSON *
s_json_result(tsr_report_test_t *test)
{
    cJSON *result = cJSON_CreateObject();
    assert(result);
    s_json_string(result, "id", test->id, 0);
    cJSON_AddStringToObject(result, "outcome", tsr_report_outcome_name(test->outcome));
    cJSON_AddNumberToObject(result, "duration_s", (double)test->duration_ms / 1000.0);
    cJSON_AddNumberToObject(result, "attempts", (double)zlistx_size(test->attempts));
    s_json_string(result, "agent", test->agent, 0);
    s_json_string(result, "job", test->job, 0);
    s_json_string(result, "group", test->group, 0);
    cJSON_AddBoolToObject(result, "flaky", tsr_report_test_is_flaky(test));
    s_json_string(result, "message", tsr_report_test_message(test), TSR_REPORT_MESSAGE_MAX);
    return result;
}

char *
tsr_report_json(tsr_report_t *self)
{
    assert(self);
    tsr_report_counts_t counts;
    tsr_report_counts(self, &counts);

    cJSON *root = cJSON_CreateObject();
    assert(root);
    s_json_string(root, "run", self->run_id, 0);
    s_json_string(root, "status", tsr_report_status(self), 0);
    cJSON *tests = cJSON_AddObjectToObject(root, "tests");
    assert(tests);
    cJSON_AddNumberToObject(tests, "total", (double)counts.total);
    cJSON_AddNumberToObject(tests, "passed", (double)counts.passed);
    cJSON_AddNumberToObject(tests, "failed", (double)counts.failed);
    cJSON_AddNumberToObject(tests, "skipped", (double)counts.skipped);
    cJSON_AddNumberToObject(tests, "flaky", (double)counts.flaky);
    cJSON_AddNumberToObject(root, "shards", (double)self->shards);
    cJSON_AddNumberToObject(root, "cached_shards", (double)self->cached_shards);
    cJSON_AddNumberToObject(root, "wall_s", (double)self->wall_ms / 1000.0);
    cJSON_AddNumberToObject(root, "uploaded_bytes", (double)self->uploaded_bytes);
    cJSON *results = cJSON_AddArrayToObject(root, "results");
    assert(results);
    tsr_report_test_t *test = zlistx_first(self->walk);
    while (test) {
        cJSON_AddItemToArray(results, s_json_result(test));
        test = zlistx_next(self->walk);
    }
    char *text = cJSON_Print(root);
    assert(text);
    cJSON_Delete(root);
    return text;
}

int
tsr_report_write_json(tsr_report_t *self, const char *path)
{
    assert(self);
    assert(path);
    char *json = tsr_report_json(self);
    char *text = zsys_sprintf("%s\n", json);
    int rc = s_write_file(path, text, strlen(text));
    free(text);
    free(json);
    return rc;
}

//  ---------------------------------------------------------------- terminal

int
tsr_report_print_totals(tsr_report_t *self, FILE *out)
{
    assert(self);
    assert(out);
    tsr_report_counts_t counts;
    tsr_report_counts(self, &counts);
    char seconds[32];
    s_format_seconds(seconds, sizeof seconds, self->wall_ms);
    fprintf(out, "%zu test%s: %zu passed", counts.total, counts.total == 1 ? "" : "s",
            counts.passed);
    if (counts.flaky)
        fprintf(out, " (%zu flaky)", counts.flaky);
    fprintf(out, ", %zu failed, %zu skipped; %zu shard%s", counts.failed, counts.skipped,
            self->shards, self->shards == 1 ? "" : "s");
    if (self->cached_shards)
        fprintf(out, " (%zu cached)", self->cached_shards);
    fprintf(out, "; %s s\n", seconds);
    return ferror(out) ? -EIO : TSR_OK;
}

//  Upper-case outcome name for the summary ("TIMED_OUT")
static void
s_print_outcome(FILE *out, Tessera__Outcome outcome)
{
    for (const char *name = tsr_report_outcome_name(outcome); *name; name++)
        fputc(*name >= 'a' && *name <= 'z' ? *name - 'a' + 'A' : *name, out);
}

//  Up to `max_lines` lines of `text`, each indented by four spaces
static void
s_print_lines(FILE *out, const char *text, size_t max_lines)
{
    char *clean = s_clean(text, TSR_REPORT_MESSAGE_MAX, S_CLEAN_TEXT);
    const char *line = clean;
    size_t printed = 0;
    while (*line && printed < max_lines) {
        size_t length = strcspn(line, "\n");
        if (length > 0) {
            fprintf(out, "    %.*s\n", (int)length, line);
            printed++;
        }
        line += length;
        if (*line == '\n')
            line++;
    }
    free(clean);
}

int
tsr_report_print_failures(tsr_report_t *self, FILE *out, size_t max_failures, size_t max_lines)
{
    assert(self);
    assert(out);
    size_t failed = 0;
    size_t flaky = 0;
    tsr_report_test_t *test = zlistx_first(self->walk);
    while (test) {
        if (tsr_report_outcome_is_failure(test->outcome) && failed++ < max_failures) {
            char *id = s_clean(test->id, 0, S_CLEAN_LINE);
            char *job = s_clean(test->job, 0, S_CLEAN_LINE);
            char seconds[32];
            s_format_seconds(seconds, sizeof seconds, test->duration_ms);
            s_print_outcome(out, test->outcome);
            fprintf(out, " %s (job %s, %s s", id, job, seconds);
            if (test->agent) {
                char *agent = s_clean(test->agent, 0, S_CLEAN_LINE);
                fprintf(out, ", agent %s", agent);
                free(agent);
            }
            size_t attempts = zlistx_size(test->attempts);
            if (attempts > 1)
                fprintf(out, ", %zu attempts", attempts);
            fprintf(out, ")\n");
            tsr_report_attempt_t *last = s_last_failure(test);
            if (last)
                s_print_lines(out, last->message, max_lines);
            free(job);
            free(id);
        }
        test = zlistx_next(self->walk);
    }
    if (failed > max_failures)
        fprintf(out, "... and %zu more failed test%s\n", failed - max_failures,
                failed - max_failures == 1 ? "" : "s");
    test = zlistx_first(self->walk);
    while (test) {
        if (tsr_report_test_is_flaky(test) && flaky++ < max_failures) {
            char *id = s_clean(test->id, 0, S_CLEAN_LINE);
            char *job = s_clean(test->job, 0, S_CLEAN_LINE);
            fprintf(out, "FLAKY %s (job %s, %zu of %zu attempts failed)\n", id, job,
                    s_failed_attempts(test), zlistx_size(test->attempts));
            s_print_lines(out, tsr_report_test_message(test), max_lines ? 1 : 0);
            free(job);
            free(id);
        }
        test = zlistx_next(self->walk);
    }
    if (flaky > max_failures)
        fprintf(out, "... and %zu more flaky test%s\n", flaky - max_failures,
                flaky - max_failures == 1 ? "" : "s");
    return ferror(out) ? -EIO : TSR_OK;
}
