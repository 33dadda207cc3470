/*  tsr_sched_tests - test jobs in the scheduler
    A test job's life: its LIST shard (or the listing cache) gives its
    tests; tsr_planner splits them into RUN shards from the timing history,
    --repeat copies of each; every RUN result is accounted per test
    (tsr_testrun_account), and what it asks for (unreported tests, retries
    of failed ones) becomes new RUN shards of the same job, and so do tests
    a running shard's runner gave up (work stealing: tsr_sched_tests_split); when the last
    shard ends, the job's tries and start-up samples go into the history in
    one write batch. Loop thread of the coordinator only.                  */
#include "tsr_sched_internal.h"
#include "tsr_planner.h"
#include <inttypes.h>
#include <string.h>

uint32_t
tsr_sched_job_slots(tsr_sched_t *self, const tsr_job_t *job)
{
    assert(self);
    assert(job);
    uint32_t slots = 0;
    for (tsr_registry_agent_t *agent = tsr_registry_first(self->registry); agent;
         agent = tsr_registry_next(self->registry))
        if (!tsr_registry_agent_is_draining(agent) &&
            tsr_registry_agent_has_labels(agent, job->spec->labels, job->spec->n_labels))
            slots += agent->slots / job->threads;
    return slots ? slots : 1;
}

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

//  A zlistx of strings as a borrowed array (free the array, not the strings)
static char **
s_array(zlistx_t *list, size_t *count_out)
{
    char **array = (char **)zmalloc((zlistx_size(list) + 1) * sizeof(char *));
    size_t count = 0;
    for (char *item = (char *)zlistx_first(list); item; item = (char *)zlistx_next(list))
        array[count++] = item;
    *count_out = count;
    return array;
}

//  A new RUN shard of the job for these tests, queued
static tsr_shard_t *
s_queue_run(tsr_sched_t *self, tsr_job_t *job, zlistx_t *units, zlistx_t *expect)
{
    tsr_shard_t *shard = tsr_run_add_shard(job, TESSERA__ASSIGN__KIND__RUN);
    size_t count = 0;
    char **ids = s_array(units, &count);
    tsr_shard_set_units(shard, ids, count);
    free(ids);
    ids = s_array(expect, &count);
    tsr_shard_set_expect(shard, ids, count);
    free(ids);
    tsr_testrun_expect(job->tests, shard->expect, shard->expect_count);
    tsr_sched_enqueue(self, shard);
    return shard;
}

//  Plan the listed job and queue its RUN shards, longest first, --repeat
//  copies of each next to each other. Returns the shards queued.
static uint32_t
s_plan(tsr_sched_t *self, tsr_job_t *job)
{
    zlistx_t *planned = tsr_planner_shards_new();
    uint32_t slots = tsr_sched_job_slots(self, job);
    int rc = tsr_planner_tests(job, self->history, slots, planned);
    uint32_t queued = 0;
    if (rc != TSR_OK) {
        char text[256];
        snprintf(text, sizeof text, "cannot plan the tests: %s", tsr_strerror(rc));
        tsr_testrun_set_failure(job->tests, text);
        tsr_log_error("job=%s run=%s: %s", job->spec->name, job->run->id, text);
    }
    uint32_t repeat = tsr_testrun_repeat(job->tests);
    uint32_t sibling = 0;
    for (tsr_planner_shard_t *plan = (tsr_planner_shard_t *)zlistx_first(planned);
         rc == TSR_OK && plan; plan = (tsr_planner_shard_t *)zlistx_next(planned)) {
        sibling++;
        for (uint32_t copy = 0; copy < repeat; copy++, queued++) {
            tsr_shard_t *shard = s_queue_run(self, job, plan->units, plan->units);
            shard->sibling = repeat > 1 ? sibling : 0;
        }
    }
    tsr_log_info("job planned run=%s job=%s tests=%zu slots=%u shards=%u repeat=%u", job->run->id,
                 job->spec->name, tsr_testrun_size(job->tests), slots, queued, repeat);
    zlistx_destroy(&planned);
    return queued;
}

void
tsr_sched_tests_queue(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms)
{
    assert(self);
    assert(job && job->tests);
    tsr_shard_t *listing = job->shards[0];
    if (listing->state != TSR_SHARD_WAITING)
        return;
    if (self->listings && !job->run->no_cache) {
        tsr_digest_t key;
        tsr_listings_key(&job->run->workspace, job->spec, &key);
        zlistx_t *ids = zlistx_new();
        zlistx_set_destructor(ids, s_string_free);
        int rc = tsr_listings_get(self->listings, &key, now_ms, ids);
        if (rc == TSR_OK) {
            size_t count = 0;
            char **array = s_array(ids, &count);
            tsr_testrun_set_listing(job->tests, (const char *const *)array, count, NULL, 0);
            free(array);
            uint32_t shards = s_plan(self, job);
            char text[128];
            snprintf(text, sizeof text, "%zu tests from the listing cache; %u shards", count,
                     shards);
            tsr_sched_shard_done(self, listing, TESSERA__OUTCOME__PASSED, 0, NULL, 0, text, now_ms);
            zlistx_destroy(&ids);
            return;
        }
        if (rc != TSR_ENOTFOUND)
            tsr_log_warn("listing cache unreadable run=%s job=%s: %s (listing again)", job->run->id,
                         job->spec->name, tsr_strerror(rc));
        zlistx_destroy(&ids);
    }
    tsr_sched_enqueue(self, listing);
}

//  A LIST ended: take its tests, cache them, plan
static void
s_list_result(tsr_sched_t *self, tsr_shard_t *shard, const Tessera__Result *result, uint64_t now_ms)
{
    tsr_job_t *job = shard->job;
    tsr_testrun_set_listing(job->tests, (const char *const *)result->listed, result->n_listed,
                            (const char *const *)result->list_errors, result->n_list_errors);
    if (self->listings && result->n_list_errors == 0) {
        tsr_digest_t key;
        tsr_listings_key(&job->run->workspace, job->spec, &key);
        int rc = tsr_listings_put(self->listings, &key, result->listed, result->n_listed, now_ms);
        if (rc != TSR_OK)
            tsr_log_warn("cannot cache the listing run=%s job=%s: %s", job->run->id,
                         job->spec->name, tsr_strerror(rc));
    }
    uint32_t shards = s_plan(self, job);
    char text[160];
    snprintf(text, sizeof text, "listed %zu tests, %zu collection errors; %u shards",
             result->n_listed, result->n_list_errors, shards);
    tsr_sched_shard_done(
        self, shard, result->n_list_errors ? TESSERA__OUTCOME__FAILED : TESSERA__OUTCOME__PASSED,
        result->duration_ms, result->output_tail.data, result->output_tail.len, text, now_ms);
}

//  A RUN ended: account its tests, queue what must run again
static void
s_run_result(tsr_sched_t *self, tsr_shard_t *shard, const Tessera__Result *result, uint64_t now_ms)
{
    tsr_job_t *job = shard->job;
    zlistx_t *work = tsr_testrun_work_list_new();
    tsr_testrun_stats_t stats;
    tsr_testrun_account(job->tests, shard->units, shard->unit_count, shard->expect,
                        shard->expect_count, result, shard->agent_key, shard->agent_name, work,
                        &stats);
    shard->accounted = true;
    shard->startup_ok = !result->timed_out && !result->term_signal && result->n_tests > 0;
    shard->tests_ms = stats.tests_ms;
    char from[512];
    tsr_shard_id(shard, from, sizeof from);
    for (tsr_testrun_work_t *item = (tsr_testrun_work_t *)zlistx_first(work); item;
         item = (tsr_testrun_work_t *)zlistx_next(work)) {
        tsr_shard_t *next = s_queue_run(self, job, item->units, item->expect);
        if (item->avoid_agent) {
            next->avoid_agent = strdup(item->avoid_agent);
            next->avoid_until_ms = now_ms + self->avoid_wait_ms;
        }
        char text[600];
        snprintf(text, sizeof text, "%s %zu tests of %s",
                 item->retry ? "retry of" : "unreported:", zlistx_size(item->expect), from);
        tsr_run_event(job->run, TESSERA__EVENT__KIND__SHARD_REQUEUED, next,
                      TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, shard->agent_name, NULL, 0, text);
    }
    zlistx_destroy(&work);

    Tessera__Outcome outcome = result->timed_out               ? TESSERA__OUTCOME__TIMED_OUT
                               : result->term_signal           ? TESSERA__OUTCOME__CRASHED
                               : stats.failed || stats.not_run ? TESSERA__OUTCOME__FAILED
                                                               : TESSERA__OUTCOME__PASSED;
    char text[256];
    int size = snprintf(text, sizeof text, "%u passed, %u failed", stats.passed, stats.failed);
    if (stats.added && size > 0 && (size_t)size < sizeof text)
        size += snprintf(text + size, sizeof text - size, ", %u added", stats.added);
    if (stats.requeued && size > 0 && (size_t)size < sizeof text)
        size +=
            snprintf(text + size, sizeof text - size, ", %u unreported (requeued)", stats.requeued);
    if (stats.not_run && size > 0 && (size_t)size < sizeof text)
        size += snprintf(text + size, sizeof text - size, ", %u never ran", stats.not_run);
    if (stats.retried && size > 0 && (size_t)size < sizeof text)
        snprintf(text + size, sizeof text - size, ", %u to retry", stats.retried);
    tsr_sched_shard_done(self, shard, outcome, result->duration_ms, result->output_tail.data,
                         result->output_tail.len, text, now_ms);
}

void
tsr_sched_tests_result(tsr_sched_t *self, tsr_shard_t *shard, const Tessera__Result *result,
                       uint64_t now_ms)
{
    assert(self);
    assert(shard && shard->job->tests);
    assert(result);
    if (shard->kind == TESSERA__ASSIGN__KIND__LIST)
        s_list_result(self, shard, result, now_ms);
    else
        s_run_result(self, shard, result, now_ms);
}

static void
s_strings_free(char **strings, size_t count)
{
    for (size_t index = 0; index < count; index++)
        free(strings[index]);
    free(strings);
}

//  `ids` (count of them) without those in `drop`, into a new array of owned
//  copies (s_strings_free); *count_out entries
static char **
s_without(char *const *ids, size_t count, zhashx_t *drop, size_t *count_out)
{
    char **kept = (char **)zmalloc((count + 1) * sizeof(char *));
    size_t kept_count = 0;
    for (size_t index = 0; index < count; index++)
        if (!zhashx_lookup(drop, ids[index]))
            kept[kept_count++] = strdup(ids[index]);
    *count_out = kept_count;
    return kept;
}

void
tsr_sched_tests_split(tsr_sched_t *self, tsr_shard_t *shard, char *const *ids, size_t count,
                      uint64_t now_ms)
{
    assert(self);
    assert(shard && shard->job->tests && shard->kind == TESSERA__ASSIGN__KIND__RUN);
    assert(ids && count > 0);
    (void)now_ms;
    tsr_job_t *job = shard->job;
    zhashx_t *moved = zhashx_new();
    for (size_t index = 0; index < count; index++)
        zhashx_insert(moved, ids[index], (void *)ids[index]);
    //  The shard no longer sends nor awaits them (a requeue of the rest after
    //  an infrastructure failure sends only the rest)
    size_t kept_count = 0;
    char **kept = s_without(shard->units, shard->unit_count, moved, &kept_count);
    tsr_shard_set_units(shard, kept, kept_count);
    s_strings_free(kept, kept_count);
    kept = s_without(shard->expect, shard->expect_count, moved, &kept_count);
    tsr_shard_set_expect(shard, kept, kept_count);
    s_strings_free(kept, kept_count);
    tsr_testrun_unexpect(job->tests, ids, count);
    shard->steals++;
    job->run->dirty = true;

    //  s_queue_run expects them again, in the new shard
    tsr_shard_t *next = tsr_run_add_shard(job, TESSERA__ASSIGN__KIND__RUN);
    next->split = true;
    next->sibling = shard->sibling;
    tsr_shard_set_units(next, ids, count);
    tsr_shard_set_expect(next, ids, count);
    tsr_testrun_expect(job->tests, next->expect, next->expect_count);
    tsr_sched_enqueue(self, next);
    char from[512];
    tsr_shard_id(shard, from, sizeof from);
    char text[600];
    snprintf(text, sizeof text, "split: %zu tests of shard %s moved", count, from);
    tsr_run_event(job->run, TESSERA__EVENT__KIND__SHARD_REQUEUED, next,
                  TESSERA__OUTCOME__OUTCOME_UNKNOWN, 0, shard->agent_name, NULL, 0, text);
    tsr_log_info("run=%s %s (now shard %u)", job->run->id, text, next->index);
    zhashx_destroy(&moved);
}

void
tsr_sched_tests_shard_done(tsr_sched_t *self, tsr_shard_t *shard, Tessera__Outcome outcome,
                           const char *text)
{
    assert(self);
    assert(shard && shard->job->tests);
    tsr_testrun_t *tests = shard->job->tests;
    if (shard->kind == TESSERA__ASSIGN__KIND__LIST) {
        if (outcome == TESSERA__OUTCOME__ERROR) {
            char failure[600];
            snprintf(failure, sizeof failure, "listing failed: %s", text ? text : "");
            tsr_testrun_set_failure(tests, failure);
        }
        return;
    }
    if (shard->accounted)
        return;
    //  Ended without results: gave up after infrastructure failures, or cancelled
    tsr_testrun_abandon(tests, shard->expect, shard->expect_count, outcome, text, shard->agent_key,
                        shard->agent_name);
    shard->accounted = true;
}

void
tsr_sched_tests_restore(tsr_sched_t *self, tsr_job_t *job)
{
    assert(self);
    assert(job && job->tests);
    for (uint32_t index = 0; index < job->shard_count; index++) {
        tsr_shard_t *shard = job->shards[index];
        if (shard->kind == TESSERA__ASSIGN__KIND__RUN && shard->state != TSR_SHARD_DONE &&
            !shard->accounted)
            tsr_testrun_expect(job->tests, shard->expect, shard->expect_count);
    }
}

//  Record every try of one test; the flag goes on the last passing try of a
//  flaky test, so a flaky test counts once
static int
s_record_test(tsr_history_t *history, const char *project, const char *job,
              const tsr_testrun_t *tests, const tsr_test_t *test, uint64_t now_ms, size_t *records)
{
    bool flaky = false;
    (void)tsr_testrun_outcome(tests, test, &flaky);
    const tsr_test_try_t *flag = NULL;
    if (flaky)
        for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries); try;
             try = (const tsr_test_try_t *)zlistx_next(test->tries))
            if (try->covered || try->outcome == TESSERA__OUTCOME__PASSED ||
                try->outcome == TESSERA__OUTCOME__XPASSED)
                flag = try;
    int rc = TSR_OK;
    for (const tsr_test_try_t *try = (const tsr_test_try_t *)zlistx_first(test->tries);
         try && rc == TSR_OK; try = (const tsr_test_try_t *)zlistx_next(test->tries)) {
        if (try->never_ran)
            continue; //  not run, infrastructure: no timing to learn
        rc = tsr_history_record(history, project, job, test->id, try->duration_ms,
                                try->covered ? TESSERA__OUTCOME__PASSED : try->outcome, try == flag,
                                now_ms);
        *records += rc == TSR_OK;
    }
    return rc;
}

void
tsr_sched_tests_finish(tsr_sched_t *self, tsr_job_t *job, uint64_t now_ms)
{
    assert(self);
    assert(job && job->tests);
    const char *project = job->run->project;
    const char *name = job->spec->name;
    if (!self->history || !*project || job->run->cancelled)
        return;
    int rc = tsr_history_begin(self->history, true);
    size_t records = 0, samples = 0;
    for (tsr_test_t *test = tsr_testrun_first(job->tests); test && rc == TSR_OK;
         test = tsr_testrun_next(job->tests))
        rc = s_record_test(self->history, project, name, job->tests, test, now_ms, &records);
    for (uint32_t index = 0; index < job->shard_count && rc == TSR_OK; index++) {
        const tsr_shard_t *shard = job->shards[index];
        if (shard->kind != TESSERA__ASSIGN__KIND__RUN || !shard->startup_ok)
            continue;
        rc = tsr_history_record_shard(self->history, project, name, shard->duration_ms,
                                      shard->tests_ms, now_ms);
        samples += rc == TSR_OK;
    }
    if (rc == TSR_OK)
        rc = tsr_history_commit(self->history);
    else
        tsr_history_abort(self->history);
    if (rc != TSR_OK)
        tsr_log_warn("timing history not recorded run=%s job=%s: %s", job->run->id, name,
                     tsr_strerror(rc));
    else
        tsr_log_debug("timing history recorded run=%s job=%s records=%zu startup_samples=%zu",
                      job->run->id, name, records, samples);
}
