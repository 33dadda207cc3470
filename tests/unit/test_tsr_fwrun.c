/*  Unit tests for tsr_fwrun: a framework attempt on its worker thread, with
    the real pytest adapter and /usr/bin/python3 -m pytest on a small suite
    written here: listing, a run's results, the per-test "no progress"
    timeout, a crash, cancel and destroy while a test hangs, the job's
    environment under the adapter's, the shard log appended, failures.    */
#define _GNU_SOURCE //  memmem, sched_getaffinity
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_fwrun.h"
#include "tsr_jobenv.h"
#include "tsr_testdir.h"

#define S_WAIT_MS 60000
#define S_PYTHON "/usr/bin/python3"

extern char **environ;

typedef struct {
    char *root;            //  owned scratch directory (tsr_testdir)
    char workdir[300];     //  root/ws: the suite
    char scratch[300];     //  root/scratch
    char cache[300];       //  root/cache
    char log_path[300];    //  root/output.log
    char pid_path[300];    //  root/hang.pid: written by the hanging test
    char **envp;           //  the job's environment
    tsr_fwrun_spec_t spec; //  defaults for the tests
} fixture_t;

static void
s_write(const char *dir, const char *name, const char *content)
{
    char *path = zsys_sprintf("%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(content, file);
    fclose(file);
    free(path);
}

static const char *const s_argv[] = {S_PYTHON,           "-m",    "pytest", "-p",
                                     "no:cacheprovider", "tests", NULL};

static int
s_setup(void **state)
{
    if (access(S_PYTHON, X_OK) != 0)
        return -1;
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("fwrun");
    snprintf(fixture->workdir, sizeof fixture->workdir, "%s/ws", fixture->root);
    snprintf(fixture->scratch, sizeof fixture->scratch, "%s/scratch", fixture->root);
    snprintf(fixture->cache, sizeof fixture->cache, "%s/cache", fixture->root);
    snprintf(fixture->log_path, sizeof fixture->log_path, "%s/output.log", fixture->root);
    snprintf(fixture->pid_path, sizeof fixture->pid_path, "%s/hang.pid", fixture->root);
    char *tests = zsys_sprintf("%s/tests", fixture->workdir);
    zsys_dir_create(tests);
    zsys_dir_create(fixture->scratch);
    zsys_dir_create(fixture->cache);
    s_write(tests, "test_basic.py",
            "import os\n"
            "import pytest\n"
            "def test_pass():\n    pass\n"
            "def test_fail():\n    assert 1 == 2, 'one is not two'\n"
            "@pytest.mark.skip(reason='not today')\n"
            "def test_skip():\n    pass\n"
            "def test_env():\n"
            "    assert os.environ['GREETING'] == 'hi'\n"
            "    assert os.environ['TSR_SHARD_INDEX'] == '3'\n");
    s_write(tests, "test_hang.py",
            "import os, time\n"
            "def test_before():\n    pass\n"
            "def test_hang():\n"
            "    with open(os.environ['HANG_PID_FILE'], 'w') as f:\n"
            "        f.write(str(os.getpid()))\n"
            "    time.sleep(120)\n"
            "def test_after():\n    pass\n");
    s_write(tests, "test_crash.py",
            "import os, signal\n"
            "def test_ok():\n    pass\n"
            "def test_segv():\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
            "def test_later():\n    pass\n");
    free(tests);
    char *pid_var = zsys_sprintf("HANG_PID_FILE=%s", fixture->pid_path);
    const char *const extra[] = {"GREETING=hi", "TSR_SHARD_INDEX=3", "PYTHONPATH=/job/path",
                                 pid_var, NULL};
    assert_int_equal(tsr_jobenv_overlay((const char *const *)environ, extra, &fixture->envp),
                     TSR_OK);
    free(pid_var);
    //  Pinned to the first CPU we may use
    static uint32_t cpus[1];
    cpu_set_t allowed;
    assert_int_equal(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    while (!CPU_ISSET(cpus[0], &allowed))
        cpus[0]++;
    fixture->spec = (tsr_fwrun_spec_t){
        .attempt_id = 7,
        .framework = "pytest",
        .list = false,
        .argv = s_argv,
        .envp = (const char *const *)fixture->envp,
        .workdir = fixture->workdir,
        .scratch_dir = fixture->scratch,
        .cache_dir = fixture->cache,
        .log_path = fixture->log_path,
        .cpus = cpus,
        .cpu_count = 1,
        .timeout_ms = 0,
        .kill_grace_ms = 500,
    };
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_jobenv_free(&fixture->envp);
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

//  Wait for the worker's outcome: TSR_OK with *result_out, or its code.
static int
s_wait(tsr_fwrun_t *fwrun, Tessera__Result **result_out)
{
    zpoller_t *poller = zpoller_new(tsr_fwrun_sock(fwrun), NULL);
    void *ready = zpoller_wait(poller, S_WAIT_MS);
    zpoller_destroy(&poller);
    assert_non_null(ready);
    return tsr_fwrun_recv(fwrun, result_out);
}

static Tessera__Result *
s_run(const tsr_fwrun_spec_t *spec)
{
    tsr_fwrun_t *fwrun = tsr_fwrun_new(spec);
    Tessera__Result *result = NULL;
    assert_int_equal(s_wait(fwrun, &result), TSR_OK);
    tsr_fwrun_destroy(&fwrun);
    assert_null(fwrun);
    assert_non_null(result);
    assert_int_equal(result->attempt_id, 7);
    return result;
}

static const Tessera__TestResult *
s_test(const Tessera__Result *result, const char *id)
{
    for (size_t index = 0; index < result->n_tests; index++)
        if (streq(result->tests[index]->id, id))
            return result->tests[index];
    return NULL;
}

static bool
s_has(char **strings, size_t count, const char *text)
{
    for (size_t index = 0; index < count; index++)
        if (streq(strings[index], text))
            return true;
    return false;
}

//  Wait until `path` exists (the command got that far).
static void
s_wait_for_file(const char *path)
{
    int64_t deadline_ms = zclock_mono() + S_WAIT_MS;
    struct stat info;
    while (stat(path, &info) != 0 || info.st_size == 0) {
        assert_true(zclock_mono() < deadline_ms);
        zclock_sleep(20);
    }
}

static pid_t
s_hang_pid(fixture_t *fixture)
{
    s_wait_for_file(fixture->pid_path);
    FILE *file = fopen(fixture->pid_path, "r");
    assert_non_null(file);
    int pid = 0;
    assert_int_equal(fscanf(file, "%d", &pid), 1);
    fclose(file);
    return (pid_t)pid;
}

static void
test_fwrun_lists_pytest_ids_in_order(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.list = true;
    Tessera__Result *result = s_run(&spec);
    assert_string_equal(result->error, "");
    assert_int_equal(result->exit_code, 0);
    assert_int_equal(result->n_listed, 10);
    assert_string_equal(result->listed[0], "tests/test_basic.py::test_pass");
    assert_true(s_has(result->listed, result->n_listed, "tests/test_hang.py::test_hang"));
    assert_true(s_has(result->listed, result->n_listed, "tests/test_crash.py::test_later"));
    assert_int_equal(result->n_list_errors, 0);
    assert_int_equal(result->n_tests, 0);
    assert_int_equal(result->n_cpus, 1);
    assert_false(result->timed_out);
    //  pytest's own output is in the shard log and its tail
    assert_true(result->output_tail.len > 0);
    assert_non_null(memmem(result->output_tail.data, result->output_tail.len, "test_basic.py",
                           strlen("test_basic.py")));
    tessera__result__free_unpacked(result, NULL);
}

static void
test_fwrun_reports_collection_errors(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    char *tests = zsys_sprintf("%s/tests", fixture->workdir);
    s_write(tests, "test_broken.py", "import no_such_module_here\n");
    free(tests);
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.list = true;
    Tessera__Result *result = s_run(&spec);
    assert_string_equal(result->error, "");
    assert_int_equal(result->n_listed, 10);
    assert_int_equal(result->n_list_errors, 1);
    assert_string_equal(result->list_errors[0], "tests/test_broken.py");
    tessera__result__free_unpacked(result, NULL);
}

static void
test_fwrun_runs_a_shard_with_the_jobs_environment(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_write(fixture->root, "output.log", "earlier command\n");
    const char *const ids[] = {"tests/test_basic.py::test_pass", "tests/test_basic.py::test_fail",
                               "tests/test_basic.py::test_skip", "tests/test_basic.py::test_env",
                               NULL};
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.test_ids = ids;
    spec.timeout_ms = 30000;
    Tessera__Result *result = s_run(&spec);
    assert_string_equal(result->error, "");
    assert_int_equal(result->exit_code, 1); //  a test failed
    assert_false(result->timed_out);
    assert_int_equal(result->term_signal, 0);
    assert_int_equal(result->n_tests, 4);
    assert_int_equal(s_test(result, ids[0])->outcome, TESSERA__OUTCOME__PASSED);
    assert_int_equal(s_test(result, ids[1])->outcome, TESSERA__OUTCOME__FAILED);
    assert_non_null(strstr(s_test(result, ids[1])->message, "one is not two"));
    assert_int_equal(s_test(result, ids[2])->outcome, TESSERA__OUTCOME__SKIPPED);
    //  GREETING and TSR_SHARD_INDEX from the job; the adapter's PYTHONPATH won
    assert_int_equal(s_test(result, ids[3])->outcome, TESSERA__OUTCOME__PASSED);
    assert_true(result->duration_ms > 0);
    assert_non_null(result->usage);
    assert_true(result->usage->user_ms + result->usage->sys_ms > 0);
    //  The shard log was appended to, not replaced
    FILE *log = fopen(fixture->log_path, "r");
    assert_non_null(log);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, log));
    fclose(log);
    assert_string_equal(line, "earlier command\n");
    //  Bytecode went to the per-project cache, not the workspace
    char *pycache = zsys_sprintf("%s/pycache", fixture->cache);
    struct stat info;
    assert_int_equal(stat(pycache, &info), 0);
    free(pycache);
    tessera__result__free_unpacked(result, NULL);
}

static void
test_fwrun_kills_a_hung_test_after_the_per_test_limit(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    const char *const ids[] = {"tests/test_hang.py::test_before", "tests/test_hang.py::test_hang",
                               "tests/test_hang.py::test_after", NULL};
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.test_ids = ids;
    spec.timeout_ms = 10000; //  roomy: pytest starts slowly on a busy machine (ASan, ctest -j)
    int64_t started_ms = zclock_mono();
    Tessera__Result *result = s_run(&spec);
    int64_t took_ms = zclock_mono() - started_ms;
    assert_true(took_ms < 30000);
    assert_true(result->timed_out);
    assert_string_equal(result->error, "");
    assert_int_equal(result->exit_code, -1);
    assert_int_equal(result->term_signal, SIGTERM);
    assert_int_equal(s_test(result, ids[0])->outcome, TESSERA__OUTCOME__PASSED);
    const Tessera__TestResult *hung = s_test(result, ids[1]);
    assert_non_null(hung);
    assert_int_equal(hung->outcome, TESSERA__OUTCOME__TIMED_OUT);
    assert_true(hung->duration_ms >= 10000);
    assert_non_null(strstr(hung->message, "no output for"));
    assert_null(s_test(result, ids[2])); //  never ran: the coordinator re-runs it
    //  The whole group is gone
    assert_int_equal(kill(s_hang_pid(fixture), 0), -1);
    assert_int_equal(errno, ESRCH);
    tessera__result__free_unpacked(result, NULL);
}

static void
test_fwrun_marks_the_test_that_crashed_the_runner(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    const char *const ids[] = {"tests/test_crash.py::test_ok", "tests/test_crash.py::test_segv",
                               "tests/test_crash.py::test_later", NULL};
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.test_ids = ids;
    spec.timeout_ms = 30000;
    Tessera__Result *result = s_run(&spec);
    assert_false(result->timed_out);
    assert_int_equal(result->exit_code, -1);
    assert_int_equal(result->term_signal, SIGSEGV);
    assert_int_equal(s_test(result, ids[0])->outcome, TESSERA__OUTCOME__PASSED);
    assert_int_equal(s_test(result, ids[1])->outcome, TESSERA__OUTCOME__CRASHED);
    assert_non_null(strstr(s_test(result, ids[1])->message, "signal 11"));
    assert_null(s_test(result, ids[2]));
    tessera__result__free_unpacked(result, NULL);
}

static void
test_fwrun_cancel_kills_the_group_and_reports_no_result(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    const char *const ids[] = {"tests/test_hang.py::test_hang", NULL};
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.test_ids = ids;
    tsr_fwrun_t *fwrun = tsr_fwrun_new(&spec);
    pid_t pid = s_hang_pid(fixture);
    int64_t started_ms = zclock_mono();
    tsr_fwrun_cancel(fwrun);
    Tessera__Result *result = NULL;
    assert_int_equal(s_wait(fwrun, &result), TSR_ECANCELLED);
    assert_null(result);
    assert_true(zclock_mono() - started_ms < 10000);
    assert_int_equal(kill(pid, 0), -1);
    tsr_fwrun_destroy(&fwrun);
}

static void
test_fwrun_destroy_while_running_kills_at_once(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    const char *const ids[] = {"tests/test_hang.py::test_hang", NULL};
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.test_ids = ids;
    spec.kill_grace_ms = 60000; //  destroy does not wait for a grace
    tsr_fwrun_t *fwrun = tsr_fwrun_new(&spec);
    pid_t pid = s_hang_pid(fixture);
    int64_t started_ms = zclock_mono();
    tsr_fwrun_destroy(&fwrun);
    assert_true(zclock_mono() - started_ms < 5000);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void
test_fwrun_reports_adapter_failures_as_errors(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    //  The command does not exist
    const char *const missing[] = {"/nonexistent/python3", "-m", "pytest", NULL};
    tsr_fwrun_spec_t spec = fixture->spec;
    spec.list = true;
    spec.argv = missing;
    Tessera__Result *result = s_run(&spec);
    assert_non_null(strstr(result->error, "pytest listing failed"));
    assert_non_null(strstr(result->error, "/nonexistent/python3"));
    assert_int_equal(result->exit_code, 127);
    assert_int_equal(result->n_listed, 0);
    tessera__result__free_unpacked(result, NULL);

    //  pytest runs but its output cannot be read (a usage error)
    const char *const usage[] = {S_PYTHON, "-m", "pytest", "--no-such-option", NULL};
    spec.argv = usage;
    result = s_run(&spec);
    //  ...and the error says why, in pytest's words
    assert_non_null(strstr(result->error, "pytest listing failed: could not parse tool output ("));
    assert_non_null(strstr(result->error, "exited 4: "));
    assert_non_null(strstr(result->error, "error: unrecognized arguments: --no-such-option"));
    assert_int_not_equal(result->exit_code, 0);
    assert_non_null(memmem(result->output_tail.data, result->output_tail.len, "--no-such-option",
                           strlen("--no-such-option")));
    tessera__result__free_unpacked(result, NULL);

    //  No such framework
    spec.framework = "nope";
    result = s_run(&spec);
    assert_string_equal(result->error, "unknown test framework 'nope'");
    assert_int_not_equal(result->exit_code, 0);
    tessera__result__free_unpacked(result, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fwrun_lists_pytest_ids_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_reports_collection_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_runs_a_shard_with_the_jobs_environment, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_kills_a_hung_test_after_the_per_test_limit,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_marks_the_test_that_crashed_the_runner, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_cancel_kills_the_group_and_reports_no_result,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_destroy_while_running_kills_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fwrun_reports_adapter_failures_as_errors, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
