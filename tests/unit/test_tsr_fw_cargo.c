/*  Unit tests for tsr_fw_cargo: the command line, metadata, build, list and
    libtest-event parsers on captured cargo 1.95 output
    (tests/unit/fixtures/cargo, from examples/cargo), bad input, and the
    procedures building and running the real examples/cargo workspace once
    (a shared copy and target dir): shards give the serial run's outcomes,
    names repeated across binaries stay apart, crashes and timeouts keep
    what finished.                                                         */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_fw_cargo.h"
#include "tsr_fw_io.h"
#include "tsr_fw_testctx.h"

#define FIXTURES TSR_SOURCE_DIR "/tests/unit/fixtures/cargo"
#define EXAMPLE TSR_SOURCE_DIR "/examples/cargo"

static const char *const s_cargo_argv[] = {"cargo", "test", NULL};

static void
test_cargo_cmd_parse_splits_cargo_and_test_arguments(void **state)
{
    (void)state;
    const char *const argv[] = {"cargo",
                                "+stable",
                                "test",
                                "-p",
                                "calc",
                                "--release",
                                "adds",
                                "--manifest-path=ws/Cargo.toml",
                                "--",
                                "--include-ignored",
                                "--test-threads",
                                "2",
                                "only_this",
                                NULL};
    tsr_fw_cargo_cmd_t *cmd = NULL;
    assert_int_equal(tsr_fw_cargo_cmd_parse(argv, &cmd), TSR_OK);
    tsr_fw_test_assert_list(cmd->prefix, (const char *const[]){"cargo", "+stable", NULL});
    tsr_fw_test_assert_list(
        cmd->cargo_args,
        (const char *const[]){"-p", "calc", "--release", "--manifest-path=ws/Cargo.toml", NULL});
    tsr_fw_test_assert_list(
        cmd->test_args, (const char *const[]){"--include-ignored", "--test-threads", "2", NULL});
    tsr_fw_test_assert_list(cmd->filters, (const char *const[]){"adds", "only_this", NULL});
    assert_string_equal(cmd->manifest_path, "ws/Cargo.toml");
    assert_true(cmd->doctests);
    assert_false(cmd->doc_only);
    tsr_fw_cargo_cmd_destroy(&cmd);
    assert_null(cmd);

    //  The test arguments we pass on: ours replace the user's (and their values)
    const char *const exact_argv[] = {
        "cargo",    "test",   "--",          "--exact", "--test-threads=4",
        "--format", "pretty", "--nocapture", "-q",      NULL};
    assert_int_equal(tsr_fw_cargo_cmd_parse(exact_argv, &cmd), TSR_OK);
    zlistx_t *args = tsr_fw_strlist_new();
    tsr_fw_cargo_cmd_add_test_args(cmd, args, 0);
    tsr_fw_test_assert_list(
        args, (const char *const[]){"--exact", "--test-threads=4", "--nocapture", NULL});
    zlistx_purge(args);
    tsr_fw_cargo_cmd_add_test_args(cmd, args, TSR_FW_CARGO_DROP_EXACT);
    tsr_fw_test_assert_list(args, (const char *const[]){"--test-threads=4", "--nocapture", NULL});
    zlistx_purge(args);
    tsr_fw_cargo_cmd_add_test_args(cmd, args, TSR_FW_CARGO_DROP_EXACT | TSR_FW_CARGO_DROP_THREADS);
    tsr_fw_test_assert_list(args, (const char *const[]){"--nocapture", NULL});
    tsr_fw_cargo_cmd_destroy(&cmd);
    //  --test-threads N: the value goes with it
    assert_int_equal(
        tsr_fw_cargo_cmd_parse(
            (const char *const[]){"cargo", "test", "--", "--test-threads", "3", "name", NULL},
            &cmd),
        TSR_OK);
    zlistx_purge(args);
    tsr_fw_cargo_cmd_add_test_args(cmd, args, TSR_FW_CARGO_DROP_THREADS);
    assert_int_equal(zlistx_size(args), 0);
    tsr_fw_test_assert_list(cmd->filters, (const char *const[]){"name", NULL});
    zlistx_destroy(&args);
    tsr_fw_cargo_cmd_destroy(&cmd);

    //  Choosing targets drops doctests; --doc keeps only them
    assert_int_equal(
        tsr_fw_cargo_cmd_parse((const char *const[]){"cargo", "test", "--lib", NULL}, &cmd),
        TSR_OK);
    assert_false(cmd->doctests);
    tsr_fw_cargo_cmd_destroy(&cmd);
    assert_int_equal(
        tsr_fw_cargo_cmd_parse((const char *const[]){"cargo", "test", "--doc", NULL}, &cmd),
        TSR_OK);
    assert_true(cmd->doctests);
    assert_true(cmd->doc_only);
    tsr_fw_cargo_cmd_destroy(&cmd);

    //  A package named "test" is a value, not the subcommand
    assert_int_equal(tsr_fw_cargo_cmd_parse(
                         (const char *const[]){"cargo", "--config", "test", "test", NULL}, &cmd),
                     TSR_OK);
    tsr_fw_test_assert_list(cmd->prefix, (const char *const[]){"cargo", "--config", "test", NULL});
    tsr_fw_cargo_cmd_destroy(&cmd);

    assert_int_equal(tsr_fw_cargo_cmd_parse((const char *const[]){"cargo", "build", NULL}, &cmd),
                     TSR_EINVAL);
    assert_int_equal(tsr_fw_cargo_cmd_parse((const char *const[]){"cargo", NULL}, &cmd),
                     TSR_EINVAL);
    assert_int_equal(tsr_fw_cargo_cmd_parse((const char *const[]){NULL}, &cmd), TSR_EINVAL);
    assert_null(cmd);
}

static void
test_cargo_parse_metadata_reads_packages(void **state)
{
    (void)state;
    zhashx_t *packages = zhashx_new();
    zlistx_t *members = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_cargo_parse_metadata(FIXTURES "/metadata.json", packages, members),
                     TSR_OK);
    assert_int_equal(zhashx_size(packages), 2);
    const tsr_fw_cargo_package_t *textutil = (const tsr_fw_cargo_package_t *)zhashx_lookup(
        packages, "path+file:///work/example/textutil#0.2.0");
    assert_non_null(textutil);
    assert_string_equal(textutil->name, "textutil");
    assert_string_equal(textutil->version, "0.2.0");
    assert_string_equal(textutil->manifest_dir, "/work/example/textutil");
    assert_true(textutil->doctests);
    assert_int_equal(zlistx_size(members), 2);
    zlistx_destroy(&members);
    zhashx_destroy(&packages);

    const char *bad[] = {"", "nonsense", "{\"packages\": 3}",
                         "{\"packages\": [{\"id\": \"x\", \"name\": 1}]}", "{\"packages\": ["};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        packages = zhashx_new();
        assert_int_equal(tsr_fw_cargo_parse_metadata(path, packages, NULL), TSR_EPARSE);
        zhashx_destroy(&packages);
        tsr_fw_test_remove(&path);
    }
}

static zhashx_t *
s_fixture_packages(void)
{
    zhashx_t *packages = zhashx_new();
    assert_int_equal(tsr_fw_cargo_parse_metadata(FIXTURES "/metadata.json", packages, NULL),
                     TSR_OK);
    return packages;
}

static void
test_cargo_parse_artifacts_finds_test_binaries(void **state)
{
    (void)state;
    zhashx_t *packages = s_fixture_packages();
    zlistx_t *binaries = zlistx_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(
        tsr_fw_cargo_parse_artifacts(FIXTURES "/no-run.jsonl", packages, binaries, errors), TSR_OK);
    assert_int_equal(zlistx_size(errors), 0);
    //  Sorted; the two "integration" targets apart; the plain bin (profile.test
    //  false) and the libraries' rlibs left out
    const char *const expected[] = {"calc/bin/calc",
                                    "calc/lib/calc",
                                    "calc/test/integration",
                                    "textutil/lib/textutil",
                                    "textutil/test/integration",
                                    NULL};
    size_t count = 0;
    for (const tsr_fw_cargo_binary_t *binary =
             (const tsr_fw_cargo_binary_t *)zlistx_first(binaries);
         binary; binary = (const tsr_fw_cargo_binary_t *)zlistx_next(binaries), count++) {
        assert_non_null(expected[count]);
        assert_string_equal(binary->id, expected[count]);
        assert_non_null(strstr(binary->executable, "/target/debug/deps/"));
    }
    assert_int_equal(count, 5);
    const tsr_fw_cargo_binary_t *integration =
        (const tsr_fw_cargo_binary_t *)zlistx_first(binaries);
    integration = (const tsr_fw_cargo_binary_t *)zlistx_next(binaries);
    integration = (const tsr_fw_cargo_binary_t *)zlistx_next(binaries);
    assert_string_equal(integration->package, "calc");
    assert_string_equal(integration->version, "0.1.0");
    assert_string_equal(integration->target, "integration");
    assert_string_equal(integration->manifest_dir, "/work/example/calc");
    zlistx_destroy(&binaries);
    zlistx_destroy(&errors);
    zhashx_destroy(&packages);
}

static void
test_cargo_parse_artifacts_reports_build_errors(void **state)
{
    (void)state;
    zhashx_t *packages = s_fixture_packages();
    zlistx_t *binaries = zlistx_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    assert_int_equal(
        tsr_fw_cargo_parse_artifacts(FIXTURES "/no-run-failed.jsonl", packages, binaries, errors),
        TSR_OK);
    tsr_fw_test_assert_list(errors, (const char *const[]){"calc/test/integration", NULL});
    //  What did build is still there
    assert_true(zlistx_size(binaries) >= 1);
    zlistx_destroy(&binaries);
    zlistx_destroy(&errors);
    zhashx_destroy(&packages);

    const char *bad[] = {"", "error: could not find `Cargo.toml`\n"};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        binaries = zlistx_new();
        assert_int_equal(tsr_fw_cargo_parse_artifacts(path, NULL, binaries, NULL), TSR_EPARSE);
        zlistx_destroy(&binaries);
        tsr_fw_test_remove(&path);
    }
}

static void
test_cargo_parse_list_prefixes_the_binary(void **state)
{
    (void)state;
    zlistx_t *ids = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_cargo_parse_list(FIXTURES "/list-calc-lib.jsonl", "calc/lib/calc", ids),
                     TSR_OK);
    assert_int_equal(zlistx_size(ids), 9);
    assert_true(tsr_fw_strlist_has(ids, "calc/lib/calc::tests::adds"));
    assert_true(tsr_fw_strlist_has(ids, "calc/lib/calc::tests::nested::adds"));
    //  Ignored tests are listed: a run reports them as skipped
    assert_true(tsr_fw_strlist_has(ids, "calc/lib/calc::tests::ignored"));

    const char *bad[] = {"", "tests::adds: test\n",
                         "{\"type\": \"test\", \"event\": \"discovered\"}\n"};
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        char *path = tsr_fw_test_temp_file(bad[index]);
        zlistx_purge(ids);
        assert_int_equal(tsr_fw_cargo_parse_list(path, "b", ids), TSR_EPARSE);
        assert_int_equal(zlistx_size(ids), 0);
        tsr_fw_test_remove(&path);
    }
    assert_int_equal(tsr_fw_cargo_parse_list("/nonexistent", "b", ids), -ENOENT);
    zlistx_destroy(&ids);

    size_t count = 99;
    assert_int_equal(tsr_fw_cargo_count_listed(FIXTURES "/doc-list-textutil.jsonl", &count),
                     TSR_OK);
    assert_int_equal(count, 3);
    assert_int_equal(tsr_fw_cargo_count_listed(FIXTURES "/doc-list-calc.jsonl", &count), TSR_OK);
    assert_int_equal(count, 0);
}

static void
test_cargo_parse_run_maps_libtest_events(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(
        tsr_fw_cargo_parse_run(FIXTURES "/run-calc-lib.jsonl", "calc/lib/calc", results, NULL),
        TSR_OK);
    assert_int_equal(tsr_results_size(results), 6);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::fails"),
                     TESSERA__OUTCOME__FAILED);
    const tsr_test_result_t *failed = tsr_results_find(results, "calc/lib/calc::tests::fails");
    assert_non_null(strstr(failed->message, "arithmetic is broken"));
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::ignored"),
                     TESSERA__OUTCOME__SKIPPED);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::divides_by_zero"),
                     TESSERA__OUTCOME__PASSED);
    const tsr_test_result_t *slow = tsr_results_find(results, "calc/lib/calc::tests::slow");
    assert_true(slow->duration_ms >= 190 && slow->duration_ms < 2000);
    tsr_results_destroy(&results);

    //  Died before a word: nothing, fine; text without events: not libtest JSON
    char *empty = tsr_fw_test_temp_file("");
    char *text = tsr_fw_test_temp_file("running 3 tests\ntest a ... ok\n");
    char *torn = tsr_fw_test_temp_file("{ \"type\": \"test\", \"event\": \"ok\", \"na");
    results = tsr_results_new();
    zlistx_t *running = tsr_fw_strlist_new();
    assert_int_equal(tsr_fw_cargo_parse_run(empty, "b", results, running), TSR_OK);
    assert_int_equal(zlistx_size(running), 0);
    tsr_fw_strlist_addf(running, "untouched");
    assert_int_equal(tsr_fw_cargo_parse_run(text, "b", results, running), TSR_EPARSE);
    assert_int_equal(tsr_fw_cargo_parse_run(torn, "b", results, running), TSR_EPARSE);
    assert_int_equal(tsr_results_size(results), 0);
    tsr_fw_test_assert_list(running, (const char *const[]){"untouched", NULL});
    zlistx_destroy(&running);
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&empty);
    tsr_fw_test_remove(&text);
    tsr_fw_test_remove(&torn);
}

static void
test_cargo_parse_run_names_the_tests_a_dead_binary_was_in(void **state)
{
    (void)state;
    //  Crashed on one test thread: the finished test has its result, the one
    //  started without an end event is named
    tsr_results_t *results = tsr_results_new();
    zlistx_t *running = tsr_fw_strlist_new();
    assert_int_equal(
        tsr_fw_cargo_parse_run(FIXTURES "/run-calc-lib-crashed.jsonl", "b", results, running),
        TSR_OK);
    assert_int_equal(tsr_results_size(results), 1);
    assert_string_equal(tsr_results_at(results, 0)->id, "b::tests::adds");
    assert_null(tsr_results_find(results, "b::tests::crash"));
    tsr_fw_test_assert_list(running, (const char *const[]){"tests::crash", NULL});
    tsr_results_destroy(&results);

    //  Crashed on two test threads: both tests in flight, in start order
    results = tsr_results_new();
    zlistx_purge(running);
    assert_int_equal(tsr_fw_cargo_parse_run(FIXTURES "/run-calc-lib-crashed-threads.jsonl", "b",
                                            results, running),
                     TSR_OK);
    assert_int_equal(tsr_results_size(results), 0);
    tsr_fw_test_assert_list(running, (const char *const[]){"tests::adds", "tests::crash", NULL});
    tsr_results_destroy(&results);

    //  Hung on two threads, killed: the others finished meanwhile (a later
    //  start ended before the kill), only the hung one is left in flight
    results = tsr_results_new();
    zlistx_purge(running);
    assert_int_equal(
        tsr_fw_cargo_parse_run(FIXTURES "/run-calc-lib-hung.jsonl", "b", results, running), TSR_OK);
    assert_int_equal(tsr_results_size(results), 3);
    assert_int_equal(tsr_fw_test_outcome(results, "b::tests::slow"), TESSERA__OUTCOME__PASSED);
    assert_null(tsr_results_find(results, "b::tests::hang"));
    tsr_fw_test_assert_list(running, (const char *const[]){"tests::hang", NULL});
    tsr_results_destroy(&results);

    //  A complete run leaves nothing in flight; a started event without a
    //  name is not libtest's
    results = tsr_results_new();
    zlistx_purge(running);
    assert_int_equal(tsr_fw_cargo_parse_run(FIXTURES "/run-calc-lib.jsonl", "b", results, running),
                     TSR_OK);
    assert_int_equal(zlistx_size(running), 0);
    char *nameless = tsr_fw_test_temp_file("{ \"type\": \"test\", \"event\": \"started\" }\n");
    assert_int_equal(tsr_fw_cargo_parse_run(nameless, "b", results, running), TSR_EPARSE);
    assert_int_equal(zlistx_size(running), 0);
    tsr_fw_test_remove(&nameless);
    zlistx_destroy(&running);
    tsr_results_destroy(&results);
}

static void
test_cargo_parse_doctests_makes_one_result(void **state)
{
    (void)state;
    tsr_results_t *results = tsr_results_new();
    assert_int_equal(tsr_fw_cargo_parse_doctests(FIXTURES "/doc-run-textutil.jsonl",
                                                 "textutil::doctests", 101, 1234, results),
                     TSR_OK);
    assert_int_equal(tsr_results_size(results), 1);
    const tsr_test_result_t *result = tsr_results_at(results, 0);
    assert_string_equal(result->id, "textutil::doctests");
    assert_int_equal(result->outcome, TESSERA__OUTCOME__FAILED);
    assert_int_equal(result->duration_ms, 1234);
    assert_non_null(strstr(result->message, "whisper"));
    tsr_results_destroy(&results);

    char *empty = tsr_fw_test_temp_file("");
    results = tsr_results_new();
    assert_int_equal(tsr_fw_cargo_parse_doctests(empty, "p::doctests", 0, 5, results), TSR_OK);
    assert_int_equal(tsr_fw_cargo_parse_doctests(empty, "q::doctests", 101, 5, results), TSR_OK);
    assert_int_equal(tsr_fw_test_outcome(results, "p::doctests"), TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "q::doctests"), TESSERA__OUTCOME__ERROR);
    char *garbage = tsr_fw_test_temp_file("\x01\x02 garbage\n");
    assert_int_equal(tsr_fw_cargo_parse_doctests(garbage, "r::doctests", 0, 5, results),
                     TSR_EPARSE);
    assert_null(tsr_results_find(results, "r::doctests"));
    tsr_results_destroy(&results);
    tsr_fw_test_remove(&empty);
    tsr_fw_test_remove(&garbage);
}

static void
test_cargo_group_is_the_binary(void **state)
{
    (void)state;
    char *group = tsr_fw_cargo_group("calc/lib/calc::tests::nested::adds");
    assert_string_equal(group, "calc/lib/calc");
    free(group);
    group = tsr_fw_cargo_group("textutil::doctests");
    assert_string_equal(group, "textutil");
    free(group);
}

//  ------------------------------------------------------------------------
//  Procedures on the real cargo: one workspace copy and target dir, built once

static int
s_group_setup(void **state)
{
    *state = tsr_fw_testctx_new(EXAMPLE, s_cargo_argv);
    return 0;
}

static int
s_group_teardown(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    tsr_fw_testctx_destroy(&testctx);
    return 0;
}

//  What a serial `cargo test --no-fail-fast` of examples/cargo reports
static const struct {
    const char *id;
    Tessera__Outcome outcome;
} s_serial[] = {
    {"calc/bin/calc::tests::adds", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::adds", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::beside_crash", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::crash", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::divides_by_zero", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::fails", TESSERA__OUTCOME__FAILED},
    {"calc/lib/calc::tests::flaky", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::hang", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::ignored", TESSERA__OUTCOME__SKIPPED},
    {"calc/lib/calc::tests::nested::adds", TESSERA__OUTCOME__PASSED},
    {"calc/lib/calc::tests::slow", TESSERA__OUTCOME__PASSED},
    {"calc/test/integration::adds", TESSERA__OUTCOME__PASSED},
    {"calc/test/integration::reads_a_file_relative_to_the_package", TESSERA__OUTCOME__PASSED},
    {"textutil/lib/textutil::tests::shouts", TESSERA__OUTCOME__PASSED},
    {"textutil/test/integration::adds", TESSERA__OUTCOME__PASSED},
    {"textutil::doctests", TESSERA__OUTCOME__FAILED},
};
#define SERIAL_COUNT (sizeof s_serial / sizeof s_serial[0])

static void
test_cargo_list_and_shards_equal_a_serial_run(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    int rc = tsr_fw_cargo_entry.list(&testctx->ctx, ids, errors);
    if (rc != TSR_OK) {
        char *log = tsr_fw_testctx_log(testctx);
        fail_msg("list: %s\n%s", tsr_err_name(rc), log);
    }
    assert_int_equal(zlistx_size(errors), 0);
    //  Every serial test once; calc has no doctests, so no calc::doctests
    assert_int_equal(zlistx_size(ids), SERIAL_COUNT);
    for (size_t index = 0; index < SERIAL_COUNT; index++)
        assert_true(tsr_fw_strlist_has(ids, s_serial[index].id));

    //  Two shards, cutting through binaries (a binary may span shards)
    zlistx_t *shards[2] = {tsr_fw_strlist_new(), tsr_fw_strlist_new()};
    size_t position = 0;
    for (const char *id = (const char *)zlistx_first(ids); id;
         id = (const char *)zlistx_next(ids), position++)
        zlistx_add_end(shards[position % 2], (void *)id);
    tsr_results_t *merged = tsr_results_new();
    for (size_t shard = 0; shard < 2; shard++) {
        int exit_code;
        assert_int_equal(tsr_fw_cargo_entry.run(&testctx->ctx, shards[shard], merged, &exit_code),
                         TSR_OK);
        assert_true(exit_code == 0 || exit_code == 101);
    }
    assert_int_equal(tsr_results_size(merged), SERIAL_COUNT);
    for (size_t index = 0; index < SERIAL_COUNT; index++)
        if (tsr_fw_test_outcome(merged, s_serial[index].id) != s_serial[index].outcome)
            fail_msg("%s: outcome %d, serial %d", s_serial[index].id,
                     tsr_fw_test_outcome(merged, s_serial[index].id), s_serial[index].outcome);
    //  Timings come from libtest
    assert_true(tsr_results_find(merged, "calc/lib/calc::tests::slow")->duration_ms >= 190);
    tsr_results_destroy(&merged);
    zlistx_destroy(&shards[0]);
    zlistx_destroy(&shards[1]);
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
}

static void
test_cargo_list_follows_the_user_selection(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    zlistx_t *ids = tsr_fw_strlist_new();
    zlistx_t *errors = tsr_fw_strlist_new();
    //  Only doctests: no build of test binaries
    const char *const doc_only[] = {"cargo", "test", "--doc", NULL};
    testctx->ctx.argv = doc_only;
    assert_int_equal(tsr_fw_cargo_entry.list(&testctx->ctx, ids, errors), TSR_OK);
    tsr_fw_test_assert_list(ids, (const char *const[]){"textutil::doctests", NULL});
    //  One package's library: no doctests (a target was chosen), no other binary
    const char *const lib_only[] = {"cargo", "test", "-p", "calc", "--lib", "--", "nested", NULL};
    testctx->ctx.argv = lib_only;
    zlistx_purge(ids);
    assert_int_equal(tsr_fw_cargo_entry.list(&testctx->ctx, ids, errors), TSR_OK);
    tsr_fw_test_assert_list(ids, (const char *const[]){"calc/lib/calc::tests::nested::adds", NULL});
    testctx->ctx.argv = (const char *const *)testctx->argv;
    assert_int_equal(zlistx_size(errors), 0);
    zlistx_destroy(&ids);
    zlistx_destroy(&errors);
}

static void
test_cargo_run_marks_the_crashed_test_and_keeps_going(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    const char *const argv[] = {"cargo", "test", "--", "--test-threads=1", NULL};
    testctx->ctx.argv = argv;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::adds");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::crash");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::slow");
    tsr_fw_strlist_addf(shard, "textutil/lib/textutil::tests::shouts");
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    setenv("TSR_EXAMPLE_CRASH", "1", 1);
    int rc = tsr_fw_cargo_entry.run(&testctx->ctx, shard, results, &exit_code);
    unsetenv("TSR_EXAMPLE_CRASH");
    testctx->ctx.argv = (const char *const *)testctx->argv;
    assert_int_equal(rc, TSR_OK);
    assert_int_equal(exit_code, -1); //  abort()
    assert_int_equal(tsr_results_size(results), 3);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::adds"),
                     TESSERA__OUTCOME__PASSED);
    const tsr_test_result_t *crash = tsr_results_find(results, "calc/lib/calc::tests::crash");
    assert_non_null(crash);
    assert_int_equal(crash->outcome, TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(crash->message, "signal 6"));
    //  The rest of the crashed binary is left to the caller; the other binary ran
    assert_null(tsr_results_find(results, "calc/lib/calc::tests::slow"));
    assert_int_equal(tsr_fw_test_outcome(results, "textutil/lib/textutil::tests::shouts"),
                     TESSERA__OUTCOME__PASSED);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
}

static void
test_cargo_run_finds_the_crash_among_tests_in_flight(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    //  Two test threads: beside_crash (300 ms) is still running when crash
    //  aborts. The shard is not in libtest's (name) order either, so the
    //  first id without a result (slow) is not the one that crashed.
    const char *const argv[] = {"cargo", "test", "--", "--test-threads", "2", NULL};
    testctx->ctx.argv = argv;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::slow");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::crash");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::beside_crash");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::adds");
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    setenv("TSR_EXAMPLE_CRASH", "1", 1);
    int rc = tsr_fw_cargo_entry.run(&testctx->ctx, shard, results, &exit_code);
    unsetenv("TSR_EXAMPLE_CRASH");
    testctx->ctx.argv = (const char *const *)testctx->argv;
    assert_int_equal(rc, TSR_OK);
    assert_int_equal(exit_code, -1);
    //  Run again on one thread: beside_crash passes, crash is named
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::beside_crash"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::crash"),
                     TESSERA__OUTCOME__CRASHED);
    assert_null(tsr_results_find(results, "calc/lib/calc::tests::slow"));
    assert_int_equal(tsr_results_size(results), 3);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
}

static void
test_cargo_run_stops_at_a_timeout(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::slow");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::hang");
    tsr_fw_strlist_addf(shard, "calc/lib/calc::tests::adds");
    tsr_fw_strlist_addf(shard, "textutil/lib/textutil::tests::shouts");
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    //  Long enough for the up-to-date check of the build, not for the hang
    testctx->timeout_ms = 2000;
    setenv("TSR_EXAMPLE_HANG", "1", 1);
    int rc = tsr_fw_cargo_entry.run(&testctx->ctx, shard, results, &exit_code);
    unsetenv("TSR_EXAMPLE_HANG");
    testctx->timeout_ms = 120000;
    assert_int_equal(rc, TSR_OK);
    assert_int_equal(exit_code, -1);
    //  libtest's threads finish the others; the hung one is named
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/lib/calc::tests::slow"),
                     TESSERA__OUTCOME__PASSED);
    const tsr_test_result_t *hang = tsr_results_find(results, "calc/lib/calc::tests::hang");
    assert_non_null(hang);
    assert_int_equal(hang->outcome, TESSERA__OUTCOME__TIMED_OUT);
    assert_true(hang->duration_ms >= 1500);
    assert_non_null(strstr(hang->message, "timed out"));
    //  The shard stops there: the caller re-runs the rest
    assert_null(tsr_results_find(results, "textutil/lib/textutil::tests::shouts"));
    assert_int_equal(tsr_results_size(results), 3);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
}

static void
test_cargo_run_reports_binaries_that_were_not_built(void **state)
{
    tsr_fw_testctx_t *testctx = (tsr_fw_testctx_t *)*state;
    zlistx_t *shard = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(shard, "calc/test/gone::adds");
    tsr_fw_strlist_addf(shard, "calc/bin/calc::tests::adds");
    tsr_results_t *results = tsr_results_new();
    int exit_code;
    assert_int_equal(tsr_fw_cargo_entry.run(&testctx->ctx, shard, results, &exit_code), TSR_OK);
    assert_int_equal(tsr_results_size(results), 2);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/test/gone::adds"), TESSERA__OUTCOME__ERROR);
    assert_int_equal(tsr_fw_test_outcome(results, "calc/bin/calc::tests::adds"),
                     TESSERA__OUTCOME__PASSED);
    assert_int_not_equal(exit_code, 0);
    tsr_results_destroy(&results);
    zlistx_destroy(&shard);
}

int
main(void)
{
    const struct CMUnitTest parsers[] = {
        cmocka_unit_test(test_cargo_cmd_parse_splits_cargo_and_test_arguments),
        cmocka_unit_test(test_cargo_parse_metadata_reads_packages),
        cmocka_unit_test(test_cargo_parse_artifacts_finds_test_binaries),
        cmocka_unit_test(test_cargo_parse_artifacts_reports_build_errors),
        cmocka_unit_test(test_cargo_parse_list_prefixes_the_binary),
        cmocka_unit_test(test_cargo_parse_run_maps_libtest_events),
        cmocka_unit_test(test_cargo_parse_run_names_the_tests_a_dead_binary_was_in),
        cmocka_unit_test(test_cargo_parse_doctests_makes_one_result),
        cmocka_unit_test(test_cargo_group_is_the_binary),
    };
    const struct CMUnitTest procedures[] = {
        cmocka_unit_test(test_cargo_list_and_shards_equal_a_serial_run),
        cmocka_unit_test(test_cargo_list_follows_the_user_selection),
        cmocka_unit_test(test_cargo_run_marks_the_crashed_test_and_keeps_going),
        cmocka_unit_test(test_cargo_run_finds_the_crash_among_tests_in_flight),
        cmocka_unit_test(test_cargo_run_stops_at_a_timeout),
        cmocka_unit_test(test_cargo_run_reports_binaries_that_were_not_built),
    };
    int failed = cmocka_run_group_tests(parsers, NULL, NULL);
    failed += cmocka_run_group_tests(procedures, s_group_setup, s_group_teardown);
    return failed;
}
