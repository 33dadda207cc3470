/*  tsr_testrun - the tests of one test job and their accounting
    Tests in a zlistx (listing order, then as added) indexed by id in a
    zhashx. tsr_testrun_account is the one place that turns a shard's
    results into tries and new work; everything else reads. Loop thread of
    the coordinator only.                                                   */
#include "tsr_testrun.h"
#include "tsr_framework.h"
#include "tsr_report.h"
#include <inttypes.h>
#include <string.h>

//  Bytes of the runner's output tail quoted in a "not run" message
#define TSR_TESTRUN_TAIL_QUOTE 1024

struct _tsr_testrun_t {
    const tsr_framework_t *framework; //  static adapter entry; NULL: no groups
    uint32_t repeat;                  //  copies of each listed test, >= 1
    uint32_t retries;                 //  re-runs of a failed test
    zlistx_t *tests;                  //  owned; tsr_test_t * (owned), in order
    zhashx_t *by_id;                  //  id -> tsr_test_t * (borrowed from tests)
    zlistx_t *errors;                 //  owned strings; collection errors
    char *failure;                    //  owned; why the job could not run; NULL if it could
    bool listed;                      //  the listing is known
    bool cancelled;                   //  the run was cancelled
};

//  ---------------------------------------------------------------- values

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void
s_try_free(void **item_p)
{
    tsr_test_try_t *try = (tsr_test_try_t *)*item_p;
    if (!try)
        return;
    free(try->agent_key);
    free(try->agent_name);
    free(try->message);
    free(try);
    *item_p = NULL;
}

static void
s_test_free(void **item_p)
{
    tsr_test_t *test = (tsr_test_t *)*item_p;
    if (!test)
        return;
    free(test->id);
    free(test->group);
    free(test->unit);
    zlistx_destroy(&test->tries);
    free(test);
    *item_p = NULL;
}

static void
s_work_free(void **item_p)
{
    tsr_testrun_work_t *work = (tsr_testrun_work_t *)*item_p;
    if (!work)
        return;
    zlistx_destroy(&work->units);
    zlistx_destroy(&work->expect);
    free(work->avoid_agent);
    free(work);
    *item_p = NULL;
}

zlistx_t *
tsr_testrun_work_list_new(void)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_destructor(list, s_work_free);
    return list;
}

static zlistx_t *
s_strings_new(void)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_destructor(list, s_string_free);
    return list;
}

//  A copy of `text` cut to TSR_TESTRUN_MESSAGE_MAX bytes on a UTF-8
//  boundary (protobuf strings must stay valid); NULL for NULL or ""
static char *
s_bounded(const char *text)
{
    if (!text || !*text)
        return NULL;
    size_t size = strlen(text);
    if (size > TSR_TESTRUN_MESSAGE_MAX) {
        size = TSR_TESTRUN_MESSAGE_MAX;
        while (size > 0 && ((unsigned char)text[size] & 0xC0) == 0x80)
            size--; //  text[size] continues a character: cut before it starts
    }
    return strndup(text, size);
}

//  ---------------------------------------------------------------- lifecycle

tsr_testrun_t *
tsr_testrun_new(const char *framework, uint32_t repeat, uint32_t retries)
{
    tsr_testrun_t *self = (tsr_testrun_t *)zmalloc(sizeof(tsr_testrun_t));
    self->framework = tsr_framework_find(framework);
    self->repeat = repeat ? repeat : 1;
    self->retries = retries;
    self->tests = zlistx_new();
    zlistx_set_destructor(self->tests, s_test_free);
    self->by_id = zhashx_new();
    self->errors = s_strings_new();
    return self;
}

void
tsr_testrun_destroy(tsr_testrun_t **self_p)
{
    assert(self_p);
    tsr_testrun_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->by_id);
    zlistx_destroy(&self->tests);
    zlistx_destroy(&self->errors);
    free(self->failure);
    free(self);
    *self_p = NULL;
}

uint32_t
tsr_testrun_repeat(const tsr_testrun_t *self)
{
    assert(self);
    return self->repeat;
}

uint32_t
tsr_testrun_retries(const tsr_testrun_t *self)
{
    assert(self);
    return self->retries;
}

//  ---------------------------------------------------------------- listing

//  The adapter's group of an id (new string), or NULL
static char *
s_group(const tsr_testrun_t *self, const char *id)
{
    if (!self->framework || !self->framework->group)
        return NULL;
    char *group = self->framework->group(id);
    if (group && !*group)
        zstr_free(&group);
    return group;
}

tsr_test_t *
tsr_testrun_add(tsr_testrun_t *self, const char *id, const char *group, const char *unit,
                bool listed)
{
    assert(self);
    assert(id);
    if (zhashx_lookup(self->by_id, id))
        return NULL;
    tsr_test_t *test = (tsr_test_t *)zmalloc(sizeof(tsr_test_t));
    test->id = strdup(id);
    test->group = group && *group ? strdup(group) : NULL;
    test->unit = unit && *unit ? strdup(unit) : NULL;
    test->listed = listed;
    test->tries = zlistx_new();
    zlistx_set_destructor(test->tries, s_try_free);
    zlistx_add_end(self->tests, test);
    zhashx_insert(self->by_id, test->id, test);
    return test;
}

void
tsr_testrun_set_listing(tsr_testrun_t *self, const char *const *ids, size_t id_count,
                        const char *const *errors, size_t error_count)
{
    assert(self);
    assert(ids || id_count == 0);
    assert(errors || error_count == 0);
    for (size_t index = 0; index < id_count; index++) {
        if (!ids[index] || !*ids[index])
            continue;
        char *group = s_group(self, ids[index]);
        (void)tsr_testrun_add(self, ids[index], group, ids[index], true);
        free(group);
    }
    for (size_t index = 0; index < error_count; index++)
        tsr_testrun_add_error(self, errors[index]);
    self->listed = true;
}

bool
tsr_testrun_is_listed(const tsr_testrun_t *self)
{
    assert(self);
    return self->listed;
}

void
tsr_testrun_set_listed(tsr_testrun_t *self)
{
    assert(self);
    self->listed = true;
}

void
tsr_testrun_add_error(tsr_testrun_t *self, const char *text)
{
    assert(self);
    char *copy = s_bounded(text);
    zlistx_add_end(self->errors, copy ? copy : strdup("collection error"));
}

size_t
tsr_testrun_error_count(const tsr_testrun_t *self)
{
    assert(self);
    return zlistx_size(self->errors);
}

const char *
tsr_testrun_error(const tsr_testrun_t *self, size_t index)
{
    assert(self);
    assert(index < zlistx_size(self->errors));
    const char *text = (const char *)zlistx_first(self->errors);
    while (index--)
        text = (const char *)zlistx_next(self->errors);
    return text;
}

const char *
tsr_testrun_failure(const tsr_testrun_t *self)
{
    assert(self);
    return self->failure;
}

void
tsr_testrun_set_failure(tsr_testrun_t *self, const char *text)
{
    assert(self);
    free(self->failure);
    self->failure = s_bounded(text && *text ? text : "the job could not run");
}

void
tsr_testrun_cancel(tsr_testrun_t *self)
{
    assert(self);
    self->cancelled = true;
}

bool
tsr_testrun_is_cancelled(const tsr_testrun_t *self)
{
    assert(self);
    return self->cancelled;
}

void
tsr_testrun_add_try(tsr_test_t *test, Tessera__Outcome outcome, uint64_t duration_ms,
                    const char *agent_key, const char *agent_name, const char *message,
                    tsr_try_kind_t kind)
{
    assert(test);
    tsr_test_try_t *try = (tsr_test_try_t *)zmalloc(sizeof(tsr_test_try_t));
    try->outcome = outcome;
    try->duration_ms = duration_ms;
    try->agent_key = agent_key && *agent_key ? strdup(agent_key) : NULL;
    try->agent_name = agent_name && *agent_name ? strdup(agent_name) : NULL;
    try->message = s_bounded(message);
    try->covered = kind == TSR_TRY_COVERED;
    try->never_ran = kind == TSR_TRY_NEVER_RAN;
    zlistx_add_end(test->tries, try);
}

tsr_test_t *
tsr_testrun_find(tsr_testrun_t *self, const char *id)
{
    assert(self);
    return id ? (tsr_test_t *)zhashx_lookup(self->by_id, id) : NULL;
}

tsr_test_t *
tsr_testrun_first(tsr_testrun_t *self)
{
    assert(self);
    return (tsr_test_t *)zlistx_first(self->tests);
}

tsr_test_t *
tsr_testrun_next(tsr_testrun_t *self)
{
    assert(self);
    return (tsr_test_t *)zlistx_next(self->tests);
}

size_t
tsr_testrun_size(const tsr_testrun_t *self)
{
    assert(self);
    return zlistx_size(self->tests);
}

void
tsr_testrun_expect(tsr_testrun_t *self, char *const *ids, size_t count)
{
    assert(self);
    assert(ids || count == 0);
    for (size_t index = 0; index < count; index++) {
        tsr_test_t *test = tsr_testrun_find(self, ids[index]);
        if (test)
            test->pending++;
    }
}

void
tsr_testrun_unexpect(tsr_testrun_t *self, char *const *ids, size_t count)
{
    assert(self);
    assert(ids || count == 0);
    for (size_t index = 0; index < count; index++) {
        tsr_test_t *test = tsr_testrun_find(self, ids[index]);
        if (test && test->pending)
            test->pending--;
    }
}

//  ---------------------------------------------------------------- accounting

//  A set of strings (borrowed keys) for one accounting pass
static zhashx_t *
s_set_new(char *const *items, size_t count)
{
    zhashx_t *set = zhashx_new();
    for (size_t index = 0; index < count; index++)
        zhashx_insert(set, items[index], (void *)items[index]);
    return set;
}

static bool
s_in(zhashx_t *set, const char *key)
{
    return key && zhashx_lookup(set, key) != NULL;
}

//  Sum of durations per covered unit
typedef struct {
    uint64_t duration_ms; //  of the results that covered it
} s_cover_t;

static void
s_cover_add(zhashx_t *covered, const char *unit, uint64_t duration_ms)
{
    s_cover_t *cover = (s_cover_t *)zhashx_lookup(covered, unit);
    if (!cover) {
        cover = (s_cover_t *)zmalloc(sizeof(s_cover_t));
        zhashx_insert(covered, unit, cover);
    }
    cover->duration_ms += duration_ms;
}

static void
s_cover_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  Why the tests it expected got no result, with the end of the runner's output
static char *
s_not_run_text(const Tessera__Result *result, uint32_t rounds)
{
    char reason[128];
    if (result->timed_out)
        snprintf(reason, sizeof reason, "the runner timed out after %" PRIu64 " ms",
                 result->duration_ms);
    else if (result->term_signal)
        snprintf(reason, sizeof reason, "the runner was killed by signal %d", result->term_signal);
    else if (result->exit_code != 0)
        snprintf(reason, sizeof reason, "the runner exited with code %d", result->exit_code);
    else
        snprintf(reason, sizeof reason, "the runner reported no result for it");
    size_t tail = result->output_tail.len;
    const uint8_t *data = result->output_tail.data;
    if (tail > TSR_TESTRUN_TAIL_QUOTE) {
        data += tail - TSR_TESTRUN_TAIL_QUOTE;
        tail = TSR_TESTRUN_TAIL_QUOTE;
        while (tail && (*data & 0xC0) == 0x80) {
            data++; //  start on a character, not inside one
            tail--;
        }
    }
    return zsys_sprintf("not run: in %u shards; last time %s%s%.*s", rounds, reason,
                        tail ? "\n" : "", (int)tail, tail ? (const char *)data : "");
}

static tsr_testrun_work_t *
s_work_new(bool retry, const char *avoid_agent)
{
    tsr_testrun_work_t *work = (tsr_testrun_work_t *)zmalloc(sizeof(tsr_testrun_work_t));
    work->units = s_strings_new();
    work->expect = s_strings_new();
    work->retry = retry;
    work->avoid_agent = avoid_agent && *avoid_agent ? strdup(avoid_agent) : NULL;
    return work;
}

//  Add a test to a work item: its unit once, itself as expected
static void
s_work_add(tsr_testrun_work_t *work, zhashx_t *units_seen, const tsr_test_t *test)
{
    if (!zhashx_lookup(units_seen, test->unit)) {
        zhashx_insert(units_seen, test->unit, (void *)test->unit);
        zlistx_add_end(work->units, strdup(test->unit));
    }
    zlistx_add_end(work->expect, strdup(test->id));
}

//  Record one try of `test` from this shard
static void
s_try(tsr_test_t *test, const Tessera__TestResult *result, const char *agent_key,
      const char *agent_name, zhashx_t *got, tsr_testrun_stats_t *stats)
{
    tsr_testrun_add_try(test, result->outcome, result->duration_ms, agent_key, agent_name,
                        result->message, TSR_TRY_RESULT);
    zhashx_insert(got, test->id, test);
    stats->tries++;
    if (tsr_report_outcome_is_failure(result->outcome))
        stats->failed++;
    else
        stats->passed++;
}

void
tsr_testrun_account(tsr_testrun_t *self, char *const *units, size_t unit_count, char *const *expect,
                    size_t expect_count, const Tessera__Result *result, const char *agent_key,
                    const char *agent_name, zlistx_t *work_out, tsr_testrun_stats_t *stats_out)
{
    assert(self);
    assert(units || unit_count == 0);
    assert(expect || expect_count == 0);
    assert(result);
    assert(work_out);
    assert(stats_out);
    memset(stats_out, 0, sizeof *stats_out);
    zhashx_t *unit_set = s_set_new(units, unit_count);
    zhashx_t *expect_set = s_set_new(expect, expect_count);
    zhashx_t *got = zhashx_new();     //  id -> test that got a try here (borrowed)
    zhashx_t *covered = zhashx_new(); //  unit -> s_cover_t (owned)
    zhashx_set_destructor(covered, s_cover_free);
    zhashx_t *seen = zhashx_new(); //  result ids handled (a duplicate counts once)

    for (size_t index = 0; index < result->n_tests; index++) {
        const Tessera__TestResult *reported = result->tests[index];
        if (!reported || !reported->id || !*reported->id || zhashx_lookup(seen, reported->id))
            continue;
        zhashx_insert(seen, reported->id, (void *)reported->id);
        stats_out->tests_ms += reported->duration_ms;
        tsr_test_t *test = tsr_testrun_find(self, reported->id);
        if (test && s_in(expect_set, test->id)) {
            s_try(test, reported, agent_key, agent_name, got, stats_out);
            continue;
        }
        if (!test) {
            //  Nobody listed it: a test inside a listed group, or one of its own
            char *group = s_group(self, reported->id);
            bool member = group && s_in(unit_set, group);
            test = tsr_testrun_add(self, reported->id, group, member ? group : NULL, false);
            if (member)
                s_cover_add(covered, group, reported->duration_ms);
            free(group);
            stats_out->added++;
            s_try(test, reported, agent_key, agent_name, got, stats_out);
            continue;
        }
        //  Known, not expected: a test inside a group this shard ran in full
        //  (a --repeat copy) counts; anything else is not this shard's
        if (test->unit && strcmp(test->unit, test->id) != 0 && s_in(expect_set, test->unit)) {
            s_cover_add(covered, test->unit, reported->duration_ms);
            s_try(test, reported, agent_key, agent_name, got, stats_out);
        }
    }

    //  Expected tests without a result of their own
    zlistx_t *works = tsr_testrun_work_list_new();
    tsr_testrun_work_t *requeue = NULL;
    zhashx_t *requeue_units = zhashx_new();
    for (size_t index = 0; index < expect_count; index++) {
        tsr_test_t *test = tsr_testrun_find(self, expect[index]);
        if (!test)
            continue;
        if (test->pending)
            test->pending--;
        if (zhashx_lookup(got, test->id))
            continue;
        s_cover_t *cover = (s_cover_t *)zhashx_lookup(covered, test->id);
        if (cover) {
            //  A listed group reported through its tests (npm file)
            tsr_testrun_add_try(test, TESSERA__OUTCOME__PASSED, cover->duration_ms, agent_key,
                                agent_name, NULL, TSR_TRY_COVERED);
            continue;
        }
        test->not_run++;
        if (test->unit && test->not_run <= TSR_TESTRUN_MAX_NOT_RUN) {
            if (!requeue)
                //  A runner that reported nothing may be broken on that agent
                requeue = s_work_new(false, result->n_tests == 0 ? agent_key : NULL);
            s_work_add(requeue, requeue_units, test);
            stats_out->requeued++;
        } else {
            char *text = s_not_run_text(result, test->not_run);
            tsr_testrun_add_try(test, TESSERA__OUTCOME__ERROR, 0, agent_key, agent_name, text,
                                TSR_TRY_NEVER_RAN);
            free(text);
            stats_out->not_run++;
        }
    }
    if (requeue)
        zlistx_add_end(works, requeue);

    //  Failed tries with retries left run again, preferably elsewhere
    tsr_testrun_work_t *retry = NULL;
    zhashx_t *retry_units = zhashx_new();
    for (tsr_test_t *test = (tsr_test_t *)zlistx_first(self->tests); test;
         test = (tsr_test_t *)zlistx_next(self->tests)) {
        if (!zhashx_lookup(got, test->id) || !test->unit)
            continue;
        const tsr_test_try_t *last = (const tsr_test_try_t *)zlistx_last(test->tries);
        if (!last || !tsr_report_outcome_is_failure(last->outcome) ||
            test->retries_used >= self->retries)
            continue;
        test->retries_used++;
        if (!retry)
            retry = s_work_new(true, agent_key);
        s_work_add(retry, retry_units, test);
        stats_out->retried++;
    }
    if (retry)
        zlistx_add_end(works, retry);

    //  Hand the work over
    for (void *work = zlistx_detach(works, NULL); work; work = zlistx_detach(works, NULL))
        zlistx_add_end(work_out, work);
    zlistx_destroy(&works);
    zhashx_destroy(&retry_units);
    zhashx_destroy(&requeue_units);
    zhashx_destroy(&seen);
    zhashx_destroy(&covered);
    zhashx_destroy(&got);
    zhashx_destroy(&expect_set);
    zhashx_destroy(&unit_set);
}

void
tsr_testrun_abandon(tsr_testrun_t *self, char *const *expect, size_t expect_count,
                    Tessera__Outcome outcome, const char *text, const char *agent_key,
                    const char *agent_name)
{
    assert(self);
    assert(expect || expect_count == 0);
    for (size_t index = 0; index < expect_count; index++) {
        tsr_test_t *test = tsr_testrun_find(self, expect[index]);
        if (!test)
            continue;
        if (test->pending)
            test->pending--;
        if (outcome == TESSERA__OUTCOME__ERROR)
            tsr_testrun_add_try(test, outcome, 0, agent_key, agent_name, text, TSR_TRY_NEVER_RAN);
    }
}

//  ---------------------------------------------------------------- reading

bool
tsr_testrun_is_final(tsr_testrun_t *self, const tsr_test_t *test)
{
    assert(self);
    assert(test);
    if (test->pending)
        return false;
    if (!test->unit || strcmp(test->unit, test->id) == 0)
        return true;
    const tsr_test_t *unit = tsr_testrun_find(self, test->unit);
    return !unit || unit->pending == 0;
}

bool
tsr_testrun_is_visible(const tsr_test_t *test)
{
    assert(test);
    if (zlistx_size(test->tries) == 0)
        return true;
    for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries); try;
         try = (const tsr_test_try_t *)zlistx_next(test->tries))
        if (!try->covered)
            return true;
    return false;
}

static bool
s_is_pass(Tessera__Outcome outcome)
{
    return outcome == TESSERA__OUTCOME__PASSED || outcome == TESSERA__OUTCOME__XPASSED;
}

Tessera__Outcome
tsr_testrun_outcome(const tsr_testrun_t *self, const tsr_test_t *test, bool *flaky_out)
{
    assert(self);
    assert(test);
    if (flaky_out)
        *flaky_out = false;
    bool passed = false;
    const tsr_test_try_t *last = NULL, *last_failed = NULL;
    for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries); try;
         try = (const tsr_test_try_t *)zlistx_next(test->tries)) {
        last = try;
        if (try->covered || s_is_pass(try->outcome))
            passed = true;
        else if (tsr_report_outcome_is_failure(try->outcome))
            last_failed = try;
    }
    if (!last)
        return self->cancelled ? TESSERA__OUTCOME__CANCELLED : TESSERA__OUTCOME__OUTCOME_UNKNOWN;
    if (passed && last_failed) {
        if (flaky_out)
            *flaky_out = true;
        return TESSERA__OUTCOME__PASSED;
    }
    if (last_failed)
        return last_failed->outcome;
    return last->covered ? TESSERA__OUTCOME__PASSED : last->outcome;
}

const tsr_test_try_t *
tsr_testrun_last_try(const tsr_test_t *test)
{
    assert(test);
    const tsr_test_try_t *last = NULL;
    for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries); try;
         try = (const tsr_test_try_t *)zlistx_next(test->tries))
        if (!try->covered)
            last = try;
    return last;
}

void
tsr_testrun_counts(tsr_testrun_t *self, tsr_testrun_counts_t *counts_out)
{
    assert(self);
    assert(counts_out);
    memset(counts_out, 0, sizeof *counts_out);
    for (tsr_test_t *test = (tsr_test_t *)zlistx_first(self->tests); test;
         test = (tsr_test_t *)zlistx_next(self->tests)) {
        if (!tsr_testrun_is_visible(test))
            continue;
        counts_out->total++;
        if (!tsr_testrun_is_final(self, test))
            continue;
        bool flaky = false;
        Tessera__Outcome outcome = tsr_testrun_outcome(self, test, &flaky);
        if (outcome == TESSERA__OUTCOME__OUTCOME_UNKNOWN)
            continue; //  nothing ran it yet (its first shard is still being planned)
        counts_out->done++;
        if (tsr_report_outcome_is_failure(outcome))
            counts_out->failed++;
        else if (s_is_pass(outcome))
            counts_out->passed++;
        else
            counts_out->skipped++;
        counts_out->flaky += flaky;
    }
}

Tessera__Outcome
tsr_testrun_job_outcome(tsr_testrun_t *self, bool fail_on_flaky)
{
    assert(self);
    if (self->failure)
        return TESSERA__OUTCOME__ERROR;
    if (self->cancelled)
        return TESSERA__OUTCOME__CANCELLED;
    if (zlistx_size(self->errors))
        return TESSERA__OUTCOME__FAILED;
    tsr_testrun_counts_t counts;
    tsr_testrun_counts(self, &counts);
    if (counts.failed || (fail_on_flaky && counts.flaky))
        return TESSERA__OUTCOME__FAILED;
    return TESSERA__OUTCOME__PASSED;
}

static Tessera__AttemptSummary *
s_attempt_summary(const tsr_test_try_t *try)
{
    Tessera__AttemptSummary *attempt = (Tessera__AttemptSummary *)zmalloc(sizeof *attempt);
    tessera__attempt_summary__init(attempt);
    attempt->outcome = try->covered ? TESSERA__OUTCOME__PASSED : try->outcome;
    attempt->duration_ms = try->duration_ms;
    attempt->agent = strdup(try->agent_name ? try->agent_name : "");
    attempt->message = strdup(try->covered ? "its tests ran" : try->message ? try->message : "");
    return attempt;
}

void
tsr_testrun_summaries(tsr_testrun_t *self, const char *job, Tessera__ShardSummary **results,
                      size_t *count)
{
    assert(self);
    assert(job);
    assert(results || tsr_testrun_size(self) == 0);
    assert(count);
    for (tsr_test_t *test = (tsr_test_t *)zlistx_first(self->tests); test;
         test = (tsr_test_t *)zlistx_next(self->tests)) {
        if (!tsr_testrun_is_visible(test))
            continue;
        Tessera__ShardSummary *summary = (Tessera__ShardSummary *)zmalloc(sizeof *summary);
        tessera__shard_summary__init(summary);
        summary->id = strdup(test->id);
        summary->job = strdup(job);
        summary->group = strdup(test->group ? test->group : "");
        bool flaky = false;
        summary->outcome = tsr_testrun_is_final(self, test)
                               ? tsr_testrun_outcome(self, test, &flaky)
                               : TESSERA__OUTCOME__OUTCOME_UNKNOWN;
        summary->flaky = flaky;
        const tsr_test_try_t *last = (const tsr_test_try_t *)zlistx_last(test->tries);
        summary->duration_ms = last ? last->duration_ms : 0;
        summary->agent = strdup(last && last->agent_name ? last->agent_name : "");
        summary->n_tries = zlistx_size(test->tries);
        summary->attempts = (uint32_t)summary->n_tries;
        summary->tries = (Tessera__AttemptSummary **)zmalloc((summary->n_tries + 1) *
                                                             sizeof(Tessera__AttemptSummary *));
        size_t index = 0;
        for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries); try;
             try = (const tsr_test_try_t *)zlistx_next(test->tries))
            summary->tries[index++] = s_attempt_summary(try);
        results[(*count)++] = summary;
    }
}

void
tsr_testrun_summary_free(Tessera__ShardSummary *summary)
{
    if (!summary)
        return;
    for (size_t index = 0; index < summary->n_tries; index++) {
        free(summary->tries[index]->agent);
        free(summary->tries[index]->message);
        free(summary->tries[index]);
    }
    free(summary->tries);
    free(summary->id);
    free(summary->job);
    free(summary->group);
    free(summary->agent);
    free(summary);
}
