/*  Unit tests for tsr_history: records and moving averages, failure and
    flaky counts, key separation and long ids, batches (write, read, abort),
    reopening, unreadable records (written into the "history" database
    directly), start-up cost learning, pruning and a full map. Each test has
    a real LMDB environment from tsr_cas in a scratch directory.          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsr_cas.h"
#include "tsr_history.h"
#include "tsr_testdir.h"

#define TEST_MAP_BYTES (16 * 1024 * 1024)

//  Each test gets a scratch directory, a store in "<dir>/cas" and a history
typedef struct {
    char *dir;              //  owned scratch directory (tsr_testdir)
    char cas_dir[4200];     //  the environment's directory
    tsr_cas_t *cas;         //  owned; its environment holds the history
    tsr_history_t *history; //  owned; opened
} fixture_t;

static void
s_open(fixture_t *fixture, size_t map_bytes)
{
    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, fixture->cas_dir, map_bytes), TSR_OK);
    fixture->history = tsr_history_new(tsr_cas_env(fixture->cas));
    assert_int_equal(tsr_history_open(fixture->history), TSR_OK);
}

static void
s_close(fixture_t *fixture)
{
    tsr_history_destroy(&fixture->history);
    assert_null(fixture->history);
    tsr_cas_destroy(&fixture->cas);
}

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    fixture->dir = tsr_testdir_new("test_tsr_history");
    snprintf(fixture->cas_dir, sizeof fixture->cas_dir, "%s/cas", fixture->dir);
    s_open(fixture, TEST_MAP_BYTES);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    s_close(fixture);
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

//  Write a raw value under a test's verbatim key, as a damaged store might hold
static void
s_put_raw(fixture_t *fixture, const char *key_bytes, size_t key_size, const void *value,
          size_t value_size)
{
    MDB_env *env = tsr_cas_env(fixture->cas);
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), MDB_SUCCESS);
    assert_int_equal(mdb_dbi_open(txn, "history", 0, &dbi), MDB_SUCCESS);
    MDB_val key = {.mv_size = key_size, .mv_data = (void *)key_bytes};
    MDB_val data = {.mv_size = value_size, .mv_data = (void *)value};
    assert_int_equal(mdb_put(txn, dbi, &key, &data, 0), MDB_SUCCESS);
    assert_int_equal(mdb_txn_commit(txn), MDB_SUCCESS);
}

static void
test_history_lookup_of_unknown_test_is_not_found(void **state)
{
    fixture_t *fixture = *state;
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry),
                     TSR_ENOTFOUND);
    tsr_history_startup_t startup;
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup),
                     TSR_ENOTFOUND);
}

static void
test_history_record_then_lookup_round_trips(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 420,
                                        TESSERA__OUTCOME__PASSED, false, 1000),
                     TSR_OK);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_true(entry.mean_ms == 420.0);
    assert_int_equal(entry.last_duration_ms, 420);
    assert_int_equal(entry.runs, 1);
    assert_int_equal(entry.failures, 0);
    assert_int_equal(entry.flaky, 0);
    assert_int_equal(entry.last_outcome, TESSERA__OUTCOME__PASSED);
    assert_int_equal(entry.last_seen_ms, 1000);
}

static void
test_history_mean_averages_early_samples_then_moves_by_weight(void **state)
{
    fixture_t *fixture = *state;
    uint64_t durations_ms[] = {100, 200, 300, 400};
    for (size_t index = 0; index < 4; index++)
        assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a",
                                            durations_ms[index], TESSERA__OUTCOME__PASSED, false,
                                            index),
                         TSR_OK);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_true(fabs(entry.mean_ms - 250.0) < 1e-9); //  plain mean of the first four
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 1250,
                                        TESSERA__OUTCOME__PASSED, false, 9),
                     TSR_OK);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_true(fabs(entry.mean_ms - (250.0 + TSR_HISTORY_EMA_WEIGHT * 1000.0)) < 1e-9);
    //  A long run of a new duration wins
    for (int round = 0; round < 60; round++)
        assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 40,
                                            TESSERA__OUTCOME__PASSED, false, 10),
                         TSR_OK);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_true(fabs(entry.mean_ms - 40.0) < 0.01);
    assert_int_equal(entry.runs, 65);
}

static void
test_history_counts_failures_and_flaky(void **state)
{
    fixture_t *fixture = *state;
    Tessera__Outcome outcomes[] = {
        TESSERA__OUTCOME__PASSED,    TESSERA__OUTCOME__FAILED,  TESSERA__OUTCOME__ERROR,
        TESSERA__OUTCOME__SKIPPED,   TESSERA__OUTCOME__XFAILED, TESSERA__OUTCOME__XPASSED,
        TESSERA__OUTCOME__TIMED_OUT, TESSERA__OUTCOME__CRASHED,
    };
    for (size_t index = 0; index < sizeof outcomes / sizeof outcomes[0]; index++)
        assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 10,
                                            outcomes[index], false, 5),
                         TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 10,
                                        TESSERA__OUTCOME__PASSED, true, 6),
                     TSR_OK);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_int_equal(entry.runs, 9);
    assert_int_equal(entry.failures, 4); //  failed, error, timed out, crashed
    assert_int_equal(entry.flaky, 1);
    assert_int_equal(entry.last_outcome, TESSERA__OUTCOME__PASSED);
    assert_int_equal(entry.last_seen_ms, 6);
}

static void
test_history_ignores_cancelled_and_unknown_outcomes(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 10,
                                        TESSERA__OUTCOME__CANCELLED, false, 1),
                     TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 10,
                                        TESSERA__OUTCOME__OUTCOME_UNKNOWN, false, 1),
                     TSR_OK);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry),
                     TSR_ENOTFOUND);
}

static void
test_history_rejects_empty_names_and_bad_outcomes(void **state)
{
    fixture_t *fixture = *state;
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_record(fixture->history, "", "unit", "t::a", 1,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_EINVAL);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "", "t::a", 1,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_EINVAL);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "", 1,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_EINVAL);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 1,
                                        (Tessera__Outcome)77, false, 1),
                     TSR_EINVAL);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "", "t::a", &entry), TSR_EINVAL);
    //  A (project, job) that leaves no room in LMDB's key for a test
    char long_name[600];
    memset(long_name, 'p', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    assert_int_equal(tsr_history_record(fixture->history, long_name, "unit", "t::a", 1,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_EINVAL);
    assert_int_equal(tsr_history_set_startup(fixture->history, "proj", "unit", -1.0, 1),
                     TSR_EINVAL);
    assert_int_equal(tsr_history_set_startup(fixture->history, "proj", "unit", NAN, 1), TSR_EINVAL);
}

static void
test_history_keys_separate_projects_jobs_and_tests(void **state)
{
    fixture_t *fixture = *state;
    //  "a" + "bc" and "ab" + "c" must not meet
    assert_int_equal(
        tsr_history_record(fixture->history, "a", "bc", "t", 1, TESSERA__OUTCOME__PASSED, false, 1),
        TSR_OK);
    assert_int_equal(
        tsr_history_record(fixture->history, "ab", "c", "t", 2, TESSERA__OUTCOME__PASSED, false, 1),
        TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "a", "bc", "t2", 3,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_OK);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "a", "bc", "t", &entry), TSR_OK);
    assert_int_equal(entry.last_duration_ms, 1);
    assert_int_equal(tsr_history_lookup(fixture->history, "ab", "c", "t", &entry), TSR_OK);
    assert_int_equal(entry.last_duration_ms, 2);
    assert_int_equal(tsr_history_lookup(fixture->history, "a", "bc", "t2", &entry), TSR_OK);
    assert_int_equal(entry.last_duration_ms, 3);
    assert_int_equal(tsr_history_lookup(fixture->history, "ab", "c", "t2", &entry), TSR_ENOTFOUND);
}

static void
test_history_long_test_ids_are_kept_apart(void **state)
{
    fixture_t *fixture = *state;
    //  Parametrized ids can exceed LMDB's 511-byte keys; two that share a
    //  long prefix must stay two tests
    char first[2048], second[2048];
    memset(first, 'x', sizeof first - 1);
    first[sizeof first - 1] = 0;
    memcpy(second, first, sizeof second);
    second[sizeof second - 2] = 'y';
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", first, 11,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", second, 22,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_OK);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", first, &entry), TSR_OK);
    assert_int_equal(entry.last_duration_ms, 11);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", second, &entry), TSR_OK);
    assert_int_equal(entry.last_duration_ms, 22);
}

static void
test_history_batch_records_thousands_in_one_transaction(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_begin(fixture->history, true), TSR_OK);
    assert_true(tsr_history_in_batch(fixture->history));
    char test_id[64];
    for (int index = 0; index < 5000; index++) {
        snprintf(test_id, sizeof test_id, "tests/test_%d.py::test_%d", index / 25, index);
        assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", test_id,
                                            (uint64_t)index, TESSERA__OUTCOME__PASSED, false, 7),
                         TSR_OK);
    }
    //  The batch sees its own writes
    tsr_history_entry_t entry;
    assert_int_equal(
        tsr_history_lookup(fixture->history, "proj", "unit", "tests/test_3.py::test_77", &entry),
        TSR_OK);
    assert_int_equal(tsr_history_commit(fixture->history), TSR_OK);
    assert_false(tsr_history_in_batch(fixture->history));
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit",
                                        "tests/test_199.py::test_4999", &entry),
                     TSR_OK);
    assert_int_equal(entry.last_duration_ms, 4999);

    //  A read batch: a snapshot for many lookups, no writes
    assert_int_equal(tsr_history_begin(fixture->history, false), TSR_OK);
    assert_int_equal(
        tsr_history_lookup(fixture->history, "proj", "unit", "tests/test_0.py::test_1", &entry),
        TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "new", 1,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_ESTATE);
    assert_int_equal(tsr_history_record_shard(fixture->history, "proj", "unit", 10, 1, 1),
                     TSR_ESTATE);
    assert_int_equal(tsr_history_commit(fixture->history), TSR_OK);
}

static void
test_history_abort_drops_the_batch(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_begin(fixture->history, true), TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 5,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_OK);
    tsr_history_abort(fixture->history);
    tsr_history_abort(fixture->history); //  harmless without a batch
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry),
                     TSR_ENOTFOUND);
}

static void
test_history_batch_calls_out_of_order_are_state_errors(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_commit(fixture->history), TSR_ESTATE);
    assert_int_equal(tsr_history_begin(fixture->history, false), TSR_OK);
    assert_int_equal(tsr_history_begin(fixture->history, true), TSR_ESTATE);
    assert_int_equal(tsr_history_commit(fixture->history), TSR_OK);
    //  Destroy with a batch open releases it (ASan watches)
    assert_int_equal(tsr_history_begin(fixture->history, true), TSR_OK);
}

static void
test_history_survives_reopening(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 321,
                                        TESSERA__OUTCOME__FAILED, false, 99),
                     TSR_OK);
    assert_int_equal(tsr_history_set_startup(fixture->history, "proj", "unit", 750.0, 99), TSR_OK);
    s_close(fixture);
    s_open(fixture, TEST_MAP_BYTES);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_true(entry.mean_ms == 321.0);
    assert_int_equal(entry.failures, 1);
    assert_int_equal(entry.last_outcome, TESSERA__OUTCOME__FAILED);
    tsr_history_startup_t startup;
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup), TSR_OK);
    assert_true(startup.startup_ms == 750.0);
    assert_int_equal(startup.samples, 1);
}

static void
test_history_unreadable_record_is_a_store_error_then_replaced(void **state)
{
    fixture_t *fixture = *state;
    static const char key[] = "proj\0unit\0Tt::a"; //  the verbatim-id key layout
    s_put_raw(fixture, key, sizeof key - 1, "junk", 4);
    tsr_history_entry_t entry;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry),
                     TSR_ESTORE);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 12,
                                        TESSERA__OUTCOME__PASSED, false, 3),
                     TSR_OK);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry), TSR_OK);
    assert_int_equal(entry.runs, 1);
    assert_true(entry.mean_ms == 12.0);

    //  Right size, but a negative mean
    uint8_t record[40] = {1, 0, 1, 0, 1};
    double negative_ms = -5.0;
    memcpy(record + 16, &negative_ms, sizeof negative_ms);
    s_put_raw(fixture, key, sizeof key - 1, record, sizeof record);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "t::a", &entry),
                     TSR_ESTORE);

    static const char startup_key[] = "proj\0unit\0S";
    s_put_raw(fixture, startup_key, sizeof startup_key - 1, "x", 1);
    tsr_history_startup_t startup;
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup), TSR_ESTORE);
    assert_int_equal(tsr_history_record_shard(fixture->history, "proj", "unit", 900, 100, 4),
                     TSR_OK);
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup), TSR_OK);
    assert_true(startup.startup_ms == 800.0);
}

static void
test_history_startup_learning_converges(void **state)
{
    fixture_t *fixture = *state;
    //  Shards of varying size, each paying 600 ms on top of its tests, with
    //  +-50 ms of noise: the estimate settles near 600
    for (uint64_t shard = 0; shard < 80; shard++) {
        uint64_t tests_ms = 1000 + shard * 37 % 5000;
        uint64_t noise_ms = shard % 2 ? 50 : 0;
        assert_int_equal(tsr_history_record_shard(fixture->history, "proj", "unit",
                                                  tests_ms + 575 + noise_ms, tests_ms, shard),
                         TSR_OK);
    }
    tsr_history_startup_t startup;
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup), TSR_OK);
    assert_true(fabs(startup.startup_ms - 600.0) < 30.0);
    assert_int_equal(startup.samples, 80);
    assert_int_equal(startup.last_seen_ms, 79);

    //  Tests that ran in parallel inside the process: wall < sum, sample 0
    for (int round = 0; round < 60; round++)
        assert_int_equal(tsr_history_record_shard(fixture->history, "proj", "unit", 100, 400, 90),
                         TSR_OK);
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup), TSR_OK);
    assert_true(startup.startup_ms >= 0 && startup.startup_ms < 1.0);

    //  Other jobs learn on their own
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "lint", &startup),
                     TSR_ENOTFOUND);
}

static void
test_history_prune_removes_stale_and_unreadable_records(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "old", 1,
                                        TESSERA__OUTCOME__PASSED, false, 100),
                     TSR_OK);
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "new", 1,
                                        TESSERA__OUTCOME__PASSED, false, 5000),
                     TSR_OK);
    assert_int_equal(tsr_history_set_startup(fixture->history, "proj", "unit", 10.0, 200), TSR_OK);
    assert_int_equal(tsr_history_set_startup(fixture->history, "proj", "e2e", 10.0, 6000), TSR_OK);
    static const char junk_key[] = "no separators";
    s_put_raw(fixture, junk_key, sizeof junk_key - 1, "x", 1);
    size_t removed = 0;
    assert_int_equal(tsr_history_prune(fixture->history, 1000, &removed), TSR_OK);
    assert_int_equal(removed, 3);
    tsr_history_entry_t entry;
    tsr_history_startup_t startup;
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "old", &entry),
                     TSR_ENOTFOUND);
    assert_int_equal(tsr_history_lookup(fixture->history, "proj", "unit", "new", &entry), TSR_OK);
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "unit", &startup),
                     TSR_ENOTFOUND);
    assert_int_equal(tsr_history_startup(fixture->history, "proj", "e2e", &startup), TSR_OK);
    assert_int_equal(tsr_history_prune(fixture->history, 1000, NULL), TSR_OK);
}

static void
test_history_full_map_returns_efull(void **state)
{
    fixture_t *fixture = *state;
    s_close(fixture);
    s_open(fixture, 64 * 1024); //  a few pages beyond the store's own
    assert_int_equal(tsr_history_begin(fixture->history, true), TSR_OK);
    char test_id[64];
    int rc = TSR_OK;
    for (int index = 0; index < 100000 && rc == TSR_OK; index++) {
        snprintf(test_id, sizeof test_id, "tests/test_full.py::test_%d", index);
        rc = tsr_history_record(fixture->history, "proj", "unit", test_id, 1,
                                TESSERA__OUTCOME__PASSED, false, 1);
    }
    assert_int_equal(rc, TSR_EFULL);
    tsr_history_abort(fixture->history);
    //  Small writes still fit once the batch is gone
    assert_int_equal(tsr_history_record(fixture->history, "proj", "unit", "t::a", 1,
                                        TESSERA__OUTCOME__PASSED, false, 1),
                     TSR_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_history_lookup_of_unknown_test_is_not_found, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_record_then_lookup_round_trips, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_history_mean_averages_early_samples_then_moves_by_weight, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_counts_failures_and_flaky, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_ignores_cancelled_and_unknown_outcomes,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_rejects_empty_names_and_bad_outcomes, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_keys_separate_projects_jobs_and_tests, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_long_test_ids_are_kept_apart, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_batch_records_thousands_in_one_transaction,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_abort_drops_the_batch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_batch_calls_out_of_order_are_state_errors,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_survives_reopening, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_history_unreadable_record_is_a_store_error_then_replaced, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_startup_learning_converges, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_history_prune_removes_stale_and_unreadable_records,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_history_full_map_returns_efull, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
