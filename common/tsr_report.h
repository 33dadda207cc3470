/*  tsr_report - the results of one run and the files made from them
    A report holds a run's summary (id, status, wall time, uploaded bytes,
    shards) and every test with its final result and its attempts. It
    derives the counts (passed, failed, skipped, flaky) and writes the run
    out as merged JUnit XML (libxml2), as the `--json` summary of DESIGN's
    user contract (cJSON), and as the terminal summary of the first
    failures. Callers: the `tessera` CLI (`run --junit/--json`, `results`).
    One owner; not thread-safe.

    How outcomes count (pytest's junitxml is the reference):
      passed   PASSED, XPASSED (an unexpected pass is not a failure)
      failed   FAILED, ERROR, TIMED_OUT, CRASHED, and any unknown value
      skipped  SKIPPED, XFAILED (an expected failure is not a failure),
               CANCELLED (the test never ran to an end)
      flaky    a test whose final outcome counts as passed and one of whose
               attempts counts as failed; flaky tests are also passed.
    total = passed + failed + skipped.                                      */
#ifndef TSR_REPORT_H
#define TSR_REPORT_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

#include <stdio.h>

//  JSON "message" and terminal messages are cut to this many bytes (on a
//  UTF-8 character boundary, then marked with "...").
#define TSR_REPORT_MESSAGE_MAX 4096

typedef struct _tsr_report_t tsr_report_t;
typedef struct _tsr_report_test_t tsr_report_test_t;

//  One attempt of a test: a plain value, borrowed from its test.
typedef struct {
    Tessera__Outcome outcome; //  what this attempt ended with
    uint64_t duration_ms;     //  the test's own run time in this attempt
    const char *agent;        //  the agent's name; NULL if unknown (cached)
    const char *message;      //  failure text or stderr tail; NULL if none
} tsr_report_attempt_t;

//  The derived counts of a report (see the banner for what counts where).
typedef struct {
    size_t total;   //  every test, once
    size_t passed;  //  PASSED, XPASSED; includes the flaky ones
    size_t failed;  //  failures + errors
    size_t skipped; //  SKIPPED, XFAILED, CANCELLED
    size_t flaky;   //  passed after an attempt that failed
    size_t errors;  //  of failed: ERROR, TIMED_OUT, CRASHED, unknown (JUnit <error>)
} tsr_report_counts_t;

//  Create an empty report for run `run_id` (copied). Never fails.
tsr_report_t *tsr_report_new(const char *run_id);

//  NULL-safe; sets *self_p to NULL. Frees every test and attempt.
void tsr_report_destroy(tsr_report_t **self_p);

//  The run id (borrowed, lives as long as the report).
const char *tsr_report_run_id(tsr_report_t *self);

//  Set the run's status ("passed", "failed", "cancelled", ...; copied).
void tsr_report_set_status(tsr_report_t *self, const char *status);

//  The status set, or if none "failed" when a test failed, else "passed".
//  Borrowed until the next set_status.
const char *tsr_report_status(tsr_report_t *self);

//  Wall time of the run, milliseconds (JSON "wall_s", JUnit testsuites time).
void tsr_report_set_wall_ms(tsr_report_t *self, uint64_t wall_ms);
uint64_t tsr_report_wall_ms(tsr_report_t *self);

//  Bytes the client uploaded for the run (JSON "uploaded_bytes").
void tsr_report_set_uploaded_bytes(tsr_report_t *self, uint64_t uploaded_bytes);
uint64_t tsr_report_uploaded_bytes(tsr_report_t *self);

//  Number of shards, and how many of them were replayed from the cache.
void tsr_report_set_shards(tsr_report_t *self, size_t shards, size_t cached_shards);
size_t tsr_report_shards(tsr_report_t *self);
size_t tsr_report_cached_shards(tsr_report_t *self);

//  Add a test with its final result: `id` the framework's test id, `job`
//  the job's name, `group` its framework group (file, module or binary;
//  may be NULL), `agent` where the final attempt ran (NULL if unknown).
//  Strings are copied. Returns a handle to add attempts to, borrowed for
//  the report's life; NULL if the report already has (`job`, `id`): every
//  test is reported once.
tsr_report_test_t *tsr_report_add_test(tsr_report_t *self, const char *id, const char *job,
                                       const char *group, Tessera__Outcome outcome,
                                       uint64_t duration_ms, const char *agent);

//  Append an attempt, in the order they ran; the last one is normally the
//  final result. Record every attempt, the final one included: writers
//  take failure texts from attempts only. Strings are copied.
void tsr_report_test_add_attempt(tsr_report_test_t *test, Tessera__Outcome outcome,
                                 uint64_t duration_ms, const char *agent, const char *message);

//  The test with this job and id, or NULL.
tsr_report_test_t *tsr_report_find(tsr_report_t *self, const char *job, const char *id);

//  Number of tests.
size_t tsr_report_size(tsr_report_t *self);

//  Iterate the tests in the order they were added (a czmq-style cursor,
//  one per report: the writers and tsr_report_counts below do not move it).
//  NULL at the end.
tsr_report_test_t *tsr_report_first(tsr_report_t *self);
tsr_report_test_t *tsr_report_next(tsr_report_t *self);

//  Fill `counts` (see the banner).
void tsr_report_counts(tsr_report_t *self, tsr_report_counts_t *counts);

//  A test's fields; strings borrowed for the report's life, group and agent
//  may be NULL.
const char *tsr_report_test_id(tsr_report_test_t *test);
const char *tsr_report_test_job(tsr_report_test_t *test);
const char *tsr_report_test_group(tsr_report_test_t *test);
Tessera__Outcome tsr_report_test_outcome(tsr_report_test_t *test);
uint64_t tsr_report_test_duration_ms(tsr_report_test_t *test);
const char *tsr_report_test_agent(tsr_report_test_t *test);

//  Number of attempts recorded, and the attempt at `index` (< attempts),
//  borrowed for the report's life.
size_t tsr_report_test_attempts(tsr_report_test_t *test);
const tsr_report_attempt_t *tsr_report_test_attempt(tsr_report_test_t *test, size_t index);

//  Passed in the end after an attempt that failed.
bool tsr_report_test_is_flaky(tsr_report_test_t *test);

//  The message of the first attempt that failed, or NULL. Borrowed.
const char *tsr_report_test_message(tsr_report_test_t *test);

//  The outcome's name in the JSON contract: "passed", "failed", "error",
//  "skipped", "xfailed", "xpassed", "timed_out", "crashed", "cancelled";
//  "unknown" for any other value. Static storage.
const char *tsr_report_outcome_name(Tessera__Outcome outcome);

//  Does this outcome count as failed (FAILED, ERROR, TIMED_OUT, CRASHED,
//  unknown)?
bool tsr_report_outcome_is_failure(Tessera__Outcome outcome);

//  The merged JUnit XML document (UTF-8), in *xml_p (the caller's, free()),
//  its length in *size_p (may be NULL). Returns TSR_OK or -EIO if libxml2
//  fails to write. Layout:
//    <testsuites name=RUN tests failures errors skipped time=WALL>
//      <testsuite name=JOB tests failures errors skipped time> per job, in
//      the order jobs first appear, each with its tests in added order:
//        <testcase classname name time>, split from the id: pytest
//        `dir/test_x.py::TestC::test_y[p]` -> classname `dir.test_x.TestC`,
//        name `test_y[p]` (as pytest's junitxml does); cargo `bin::mod::t`
//        -> `bin`, `mod::t`; otherwise the group (or the job) and the id.
//  A failed test has <failure> (FAILED) or <error> (ERROR, TIMED_OUT,
//  CRASHED) for its last failing attempt, and <rerunFailure>/<rerunError>
//  for its earlier failing attempts; a flaky test has <flakyFailure>/
//  <flakyError> for each failing attempt; a skipped one <skipped message>.
//  Elements follow Maven surefire's schema (nextest writes the same):
//  `message` is the first line of the text, `type` the outcome name,
//  failure text in the element (<failure>/<error>) or in <stackTrace>
//  (rerun and flaky elements). Text is made valid XML 1.0: invalid UTF-8
//  becomes U+FFFD, ANSI escape sequences and other control characters are
//  dropped.
TSR_NODISCARD int tsr_report_junit(tsr_report_t *self, char **xml_p, size_t *size_p);

//  Write the JUnit XML to `path`, atomically (a temporary file in the same
//  directory, mode 0644, then rename; none is left behind on failure).
//  Returns TSR_OK, -EIO (libxml2) or -errno (e.g. -ENOENT, -EISDIR).
TSR_NODISCARD int tsr_report_write_junit(tsr_report_t *self, const char *path);

//  The `--json` summary (DESIGN "User contract"), pretty-printed; the
//  caller's, free(). Keys: "run", "status", "tests" {"total", "passed",
//  "failed", "skipped", "flaky"}, "shards", "cached_shards", "wall_s",
//  "uploaded_bytes", "results" [{"id", "outcome", "duration_s",
//  "attempts", "agent" (null if unknown)}], plus per result "job",
//  "group" (null if none), "flaky" (bool) and "message" (the first failure
//  text, at most TSR_REPORT_MESSAGE_MAX bytes, or null). Never NULL (aborts
//  on OOM).
char *tsr_report_json(tsr_report_t *self);

//  Write the JSON summary to `path`, atomically. Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_report_write_json(tsr_report_t *self, const char *path);

//  Print one line of totals, e.g.
//    "12 tests: 9 passed (1 flaky), 2 failed, 1 skipped; 4 shards (1 cached); 3.200 s"
//  Returns TSR_OK or -EIO if `out` reports a write error.
TSR_NODISCARD int tsr_report_print_totals(tsr_report_t *self, FILE *out);

//  Print the first `max_failures` failed tests, in added order, as
//    FAILED tests/test_x.py::test_y (job py, 0.125 s, agent a1, 2 attempts)
//        up to `max_lines` non-empty lines of its last failing attempt's text
//  (the word is the outcome: FAILED, ERROR, TIMED_OUT, CRASHED, UNKNOWN;
//  agent and attempts only when known and > 1), then "... and N more failed
//  tests" if some were left out; then up to `max_failures` flaky tests as
//    FLAKY id (job py, 1 of 2 attempts failed)
//        the first line of its first failure
//  and "... and N more flaky tests". Text is cleaned as for JUnit, so test
//  output cannot send terminal escapes. Prints nothing when no test failed
//  or was flaky. Returns TSR_OK or -EIO if `out` reports a write error.
TSR_NODISCARD int tsr_report_print_failures(tsr_report_t *self, FILE *out, size_t max_failures,
                                            size_t max_lines);

#endif
