/*  Unit tests for tsr_executor: real processes through tsr_spawn, polled
    until they end (under a deadline), with their log tails.               */
#define _GNU_SOURCE //  tsr_cpuset.h: cpu_set_t
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_executor.h"
#include "tsr_testdir.h"

typedef struct {
    char *root;               //  owned scratch directory (tsr_testdir)
    char log_path[300];       //  the process's log
    tsr_executor_t *executor; //  under test
    int ends;                 //  end callbacks
    tsr_exec_end_t last_end;  //  copy of the last one
} fixture_t;

static void
s_on_end(void *arg, const tsr_exec_end_t *end)
{
    fixture_t *fixture = (fixture_t *)arg;
    fixture->ends++;
    fixture->last_end = *end;
}

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("executor");
    snprintf(fixture->log_path, sizeof fixture->log_path, "%s/output.log", fixture->root);
    fixture->executor = tsr_executor_new();
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_executor_destroy(&fixture->executor);
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

static int
s_start(fixture_t *fixture, uint64_t attempt_id, const char *script, uint64_t timeout_ms,
        const tsr_cpuset_t *cpus)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    tsr_exec_spec_t spec = {.attempt_id = attempt_id,
                            .argv = argv,
                            .cwd = fixture->root,
                            .log_path = fixture->log_path,
                            .cpus = cpus,
                            .timeout_ms = timeout_ms};
    return tsr_executor_start(fixture->executor, &spec, zclock_mono());
}

//  Poll until `ends` callbacks happened; fails after 20 s.
static void
s_poll_until(fixture_t *fixture, int ends)
{
    int64_t deadline_ms = zclock_mono() + 20000;
    while (fixture->ends < ends) {
        assert_true(zclock_mono() < deadline_ms);
        tsr_executor_poll(fixture->executor, zclock_mono(), s_on_end, fixture);
        if (fixture->ends < ends)
            zclock_sleep(5);
    }
}

static void
test_executor_reports_exit_code_and_output_tail(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    assert_int_equal(s_start(fixture, 7, "echo out; echo err >&2; exit 3", 0, NULL), TSR_OK);
    assert_true(tsr_executor_has(fixture->executor, 7));
    assert_int_equal(tsr_executor_running(fixture->executor), 1);
    s_poll_until(fixture, 1);
    assert_int_equal(fixture->last_end.attempt_id, 7);
    assert_false(fixture->last_end.cancelled);
    assert_int_equal(fixture->last_end.status.exit_code, 3);
    assert_int_equal(fixture->last_end.status.term_signal, 0);
    assert_false(fixture->last_end.status.timed_out);
    assert_int_equal(fixture->last_end.tail_bytes, 8);
    assert_memory_equal(fixture->last_end.tail, "out\nerr\n", 8);
    assert_int_equal(tsr_executor_running(fixture->executor), 0);
    //  Reported once only
    assert_int_equal(tsr_executor_poll(fixture->executor, zclock_mono(), s_on_end, fixture), 0);
    assert_int_equal(fixture->ends, 1);
}

static void
test_executor_tail_keeps_the_last_bytes(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    assert_int_equal(s_start(fixture, 1,
                             "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done", 0,
                             NULL),
                     TSR_OK);
    s_poll_until(fixture, 1);
    assert_int_equal(fixture->last_end.tail_bytes, TSR_EXEC_TAIL_BYTES);
    const char *last = "line-1999\n";
    assert_memory_equal(fixture->last_end.tail + TSR_EXEC_TAIL_BYTES - strlen(last), last,
                        strlen(last));
}

static void
test_executor_pins_to_the_given_cpus(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_cpuset_t allowed;
    assert_int_equal(tsr_cpuset_self(&allowed), TSR_OK);
    tsr_cpuset_t one;
    tsr_cpuset_clear(&one);
    int cpu = tsr_cpuset_nth(&allowed, tsr_cpuset_count(&allowed) - 1);
    tsr_cpuset_add(&one, (unsigned)cpu);
    assert_int_equal(
        s_start(fixture, 2, "grep Cpus_allowed_list /proc/self/status | cut -f2", 0, &one), TSR_OK);
    s_poll_until(fixture, 1);
    char expect[32];
    snprintf(expect, sizeof expect, "%d\n", cpu);
    assert_int_equal(fixture->last_end.tail_bytes, strlen(expect));
    assert_memory_equal(fixture->last_end.tail, expect, strlen(expect));
}

static void
test_executor_cancel_terminates_and_reports_cancelled(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    assert_int_equal(s_start(fixture, 3, "exec sleep 30", 0, NULL), TSR_OK);
    tsr_executor_cancel(fixture->executor, 3, zclock_mono());
    tsr_executor_cancel(fixture->executor, 99, zclock_mono()); //  unknown: ignored
    s_poll_until(fixture, 1);
    assert_true(fixture->last_end.cancelled);
    assert_int_equal(fixture->last_end.status.term_signal, SIGTERM);
}

static void
test_executor_timeout_kills_the_group(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    assert_int_equal(s_start(fixture, 4, "sleep 30; echo never", 100, NULL), TSR_OK);
    s_poll_until(fixture, 1);
    assert_true(fixture->last_end.status.timed_out);
    assert_false(fixture->last_end.cancelled);
    assert_int_not_equal(fixture->last_end.status.term_signal, 0);
}

static void
test_executor_refuses_unknown_command_and_duplicates(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    const char *argv[] = {"/nonexistent/tessera-no-such-tool", NULL};
    tsr_exec_spec_t spec = {
        .attempt_id = 5, .argv = argv, .cwd = fixture->root, .log_path = fixture->log_path};
    assert_int_not_equal(tsr_executor_start(fixture->executor, &spec, zclock_mono()), TSR_OK);
    assert_false(tsr_executor_has(fixture->executor, 5));
    assert_int_equal(s_start(fixture, 6, "sleep 30", 0, NULL), TSR_OK);
    assert_int_equal(s_start(fixture, 6, "true", 0, NULL), TSR_EINVAL);
    assert_int_equal(s_start(fixture, 0, "true", 0, NULL), TSR_EINVAL);
    //  Killing reports nothing
    assert_true(tsr_executor_kill(fixture->executor, 6));
    assert_false(tsr_executor_kill(fixture->executor, 6));
    assert_int_equal(tsr_executor_poll(fixture->executor, zclock_mono(), s_on_end, fixture), 0);
    assert_int_equal(fixture->ends, 0);
}

static void
test_executor_tail_of_missing_file_is_empty(void **state)
{
    (void)state;
    char buffer[16];
    size_t got = 99;
    assert_int_equal(tsr_exec_tail("/nonexistent/tessera.log", buffer, sizeof buffer, &got),
                     TSR_OK);
    assert_int_equal(got, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_executor_reports_exit_code_and_output_tail, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_executor_tail_keeps_the_last_bytes, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_executor_pins_to_the_given_cpus, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_executor_cancel_terminates_and_reports_cancelled,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_executor_timeout_kills_the_group, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_executor_refuses_unknown_command_and_duplicates,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_executor_tail_of_missing_file_is_empty, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
