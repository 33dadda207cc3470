/*  Unit tests for tsr_spawn: exit codes and signals, captured output, cwd,
    environment, timeouts that take the whole process group down, CPU
    pinning, resource usage, and running as another user (when root).     */
#define _GNU_SOURCE //  cpu_set_t, CPU_* macros
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsr_spawn.h"
#include "tsr_testdir.h"

typedef struct {
    char *dir;        //  owned scratch directory (tsr_testdir)
    char out[300];    //  stdout file
    char err[300];    //  stderr file
    char bg_pid[300]; //  where a script writes $! of its background child
    char text[4096];  //  last file read by s_read
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    fixture->dir = tsr_testdir_new("spawn");
    //  Readable by a job running as another user
    assert_int_equal(chmod(fixture->dir, 0755), 0);
    snprintf(fixture->out, sizeof fixture->out, "%s/stdout", fixture->dir);
    snprintf(fixture->err, sizeof fixture->err, "%s/stderr", fixture->dir);
    snprintf(fixture->bg_pid, sizeof fixture->bg_pid, "%s/bg.pid", fixture->dir);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

//  The whole file, NUL-terminated, in fixture->text.
static const char *
s_read(fixture_t *fixture, const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    size_t size = fread(fixture->text, 1, sizeof fixture->text - 1, file);
    fixture->text[size] = '\0';
    fclose(file);
    return fixture->text;
}

//  Spawn `argv` with output to the fixture's files and wait for it.
static tsr_proc_status_t
s_run(fixture_t *fixture, const char *const *argv)
{
    tsr_spawn_opts_t opts = {
        .argv = argv, .stdout_path = fixture->out, .stderr_path = fixture->err};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_null(proc);
    return status;
}

static void
test_spawn_true_exits_zero(void **state)
{
    const char *argv[] = {"true", NULL};
    tsr_proc_status_t status = s_run(*state, argv);
    assert_int_equal(status.exit_code, 0);
    assert_int_equal(status.term_signal, 0);
    assert_false(status.timed_out);
}

static void
test_spawn_false_exits_one(void **state)
{
    const char *argv[] = {"false", NULL};
    tsr_proc_status_t status = s_run(*state, argv);
    assert_int_equal(status.exit_code, 1);
    assert_int_equal(status.term_signal, 0);
}

static void
test_spawn_reports_exit_code(void **state)
{
    const char *argv[] = {"sh", "-c", "exit 7", NULL};
    tsr_proc_status_t status = s_run(*state, argv);
    assert_int_equal(status.exit_code, 7);
    assert_int_equal(status.term_signal, 0);
}

static void
test_spawn_reports_crash_signal(void **state)
{
    const char *argv[] = {"sh", "-c", "kill -SEGV $$", NULL};
    tsr_proc_status_t status = s_run(*state, argv);
    assert_int_equal(status.exit_code, -1);
    assert_int_equal(status.term_signal, SIGSEGV);
    assert_false(status.timed_out);
}

static void
test_spawn_writes_stdout_and_stderr_to_files(void **state)
{
    fixture_t *fixture = *state;
    //  Separate files
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; cat", NULL};
    tsr_proc_status_t status = s_run(fixture, argv);
    assert_int_equal(status.exit_code, 0); //  cat got EOF: stdin is /dev/null
    assert_string_equal(s_read(fixture, fixture->out), "out\n");
    assert_string_equal(s_read(fixture, fixture->err), "err\n");

    //  One file for both, truncated first
    tsr_spawn_opts_t opts = {
        .argv = argv, .stdout_path = fixture->out, .stderr_path = fixture->out};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_string_equal(s_read(fixture, fixture->out), "out\nerr\n");

    //  Neither: /dev/null
    opts.stdout_path = NULL;
    opts.stderr_path = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    assert_int_equal(status.exit_code, 0);
    tsr_proc_destroy(&proc);
}

static void
test_spawn_honours_cwd(void **state)
{
    fixture_t *fixture = *state;
    const char *argv[] = {"pwd", "-P", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .cwd = fixture->dir, .stdout_path = fixture->out};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_int_equal(status.exit_code, 0);
    char *real_dir = realpath(fixture->dir, NULL);
    assert_non_null(real_dir);
    char expected[400];
    snprintf(expected, sizeof expected, "%s\n", real_dir);
    free(real_dir);
    assert_string_equal(s_read(fixture, fixture->out), expected);
}

static void
test_spawn_honours_env(void **state)
{
    fixture_t *fixture = *state;
    const char *argv[] = {"sh", "-c", "echo \"$TSR_GREETING:${HOME-unset}\"", NULL};
    const char *envp[] = {"TSR_GREETING=hello", "PATH=/usr/bin:/bin", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .envp = envp, .stdout_path = fixture->out};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_int_equal(status.exit_code, 0);
    assert_string_equal(s_read(fixture, fixture->out), "hello:unset\n");
}

static void
test_spawn_missing_command_gives_enoent(void **state)
{
    (void)state;
    const char *argv[] = {"tsr-no-such-command-anywhere", NULL};
    tsr_spawn_opts_t opts = {.argv = argv};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), -ENOENT);
    assert_null(proc);
    //  No zombie: we have no child left at all
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);

    const char *empty[] = {NULL};
    opts.argv = empty;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_EINVAL);
}

static void
test_spawn_does_not_leak_descriptors(void **state)
{
    (void)state;
    int inherited = open("/dev/null", O_RDONLY); //  no O_CLOEXEC
    assert_true(inherited > 2);
    char script[64];
    snprintf(script, sizeof script, "test -e /proc/$$/fd/%d", inherited);
    const char *argv[] = {"sh", "-c", script, NULL};
    tsr_proc_status_t status = s_run(*state, argv);
    close(inherited);
    assert_int_equal(status.exit_code, 1);
}

//  The background child a script recorded, reaped by us as subreaper:
//  returns the signal that ended it, or 0 if its shell outlived it long
//  enough to reap it (then it is gone all the same).
static int
s_reap_background(fixture_t *fixture)
{
    pid_t bg_pid = (pid_t)atoi(s_read(fixture, fixture->bg_pid));
    assert_true(bg_pid > 0);
    int wait_status = 0;
    pid_t reaped = waitpid(bg_pid, &wait_status, 0);
    if (reaped < 0) {
        assert_int_equal(errno, ECHILD);
        assert_int_equal(kill(bg_pid, 0), -1);
        assert_int_equal(errno, ESRCH);
        return 0;
    }
    assert_int_equal(reaped, bg_pid);
    assert_true(WIFSIGNALED(wait_status));
    return WTERMSIG(wait_status);
}

static void
test_spawn_timeout_terminates_whole_group(void **state)
{
    fixture_t *fixture = *state;
    //  Orphans come to us, so we can see how the background sleep ended
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char script[400];
    snprintf(script, sizeof script, "sleep 30 & echo $! > %s; sleep 30", fixture->bg_pid);
    const char *argv[] = {"sh", "-c", script, NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .timeout_ms = 200, .kill_grace_ms = 10000};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_true(status.timed_out);
    assert_int_equal(status.exit_code, -1);
    assert_int_equal(status.term_signal, SIGTERM);
    assert_true(status.duration_ms >= 200);
    assert_true(status.duration_ms < 10000); //  SIGTERM did it, not the SIGKILL
    //  The shell may reap its background child when both get SIGTERM
    int bg_signal = s_reap_background(fixture);
    assert_true(bg_signal == SIGTERM || bg_signal == 0);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void
test_spawn_kills_background_children_when_leader_exits(void **state)
{
    fixture_t *fixture = *state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char script[400];
    snprintf(script, sizeof script, "sleep 30 & echo $! > %s", fixture->bg_pid);
    const char *argv[] = {"sh", "-c", script, NULL};
    tsr_proc_status_t status = s_run(fixture, argv);
    assert_int_equal(status.exit_code, 0);
    assert_false(status.timed_out);
    assert_int_equal(s_reap_background(fixture), SIGKILL);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void
test_spawn_sigkills_child_ignoring_sigterm(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "trap '' TERM; sleep 30", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .timeout_ms = 200, .kill_grace_ms = 200};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_true(status.timed_out);
    assert_int_equal(status.term_signal, SIGKILL);
    assert_true(status.duration_ms >= 400);
}

static void
test_proc_poll_enforces_timeout_against_given_time(void **state)
{
    (void)state;
    const char *argv[] = {"sleep", "30", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .timeout_ms = 60000};
    int64_t before_ms = zclock_mono();
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    assert_true(tsr_proc_pid(proc) > 0);
    assert_true(tsr_proc_fd(proc) >= 0);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_poll(proc, before_ms, &status), -EAGAIN);
    assert_int_equal(tsr_proc_poll(proc, before_ms + 59000, &status), -EAGAIN);
    //  An hour later by the caller's clock: SIGTERM now
    assert_int_equal(tsr_proc_poll(proc, before_ms + 3600000, &status), -EAGAIN);
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    assert_true(status.timed_out);
    assert_int_equal(status.term_signal, SIGTERM);
    //  Polling a reaped process returns the same status
    tsr_proc_status_t again;
    assert_int_equal(tsr_proc_poll(proc, before_ms, &again), TSR_OK);
    assert_int_equal(again.term_signal, SIGTERM);
    tsr_proc_destroy(&proc);
}

static void
test_proc_terminate_is_not_a_timeout(void **state)
{
    (void)state;
    const char *argv[] = {"sleep", "30", NULL};
    tsr_spawn_opts_t opts = {.argv = argv};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_terminate(proc, zclock_mono());
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    assert_false(status.timed_out);
    assert_int_equal(status.term_signal, SIGTERM);
    tsr_proc_destroy(&proc);
}

static void
test_proc_destroy_kills_and_reaps_running_child(void **state)
{
    (void)state;
    const char *argv[] = {"sleep", "30", NULL};
    tsr_spawn_opts_t opts = {.argv = argv};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    pid_t pid = tsr_proc_pid(proc);
    tsr_proc_destroy(&proc);
    assert_null(proc);
    tsr_proc_destroy(&proc); //  NULL-safe
    //  Reaped, not a zombie
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void
test_spawn_pins_child_to_requested_cpu(void **state)
{
    fixture_t *fixture = *state;
    cpu_set_t before;
    assert_int_equal(sched_getaffinity(0, sizeof before, &before), 0);
    int chosen = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &before))
            chosen = cpu; //  the highest we may use
    assert_true(chosen >= 0);
    tsr_cpuset_t cpus;
    CPU_ZERO(&cpus.set);
    CPU_SET(chosen, &cpus.set);

    const char *argv[] = {"grep", "Cpus_allowed_list", "/proc/self/status", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .stdout_path = fixture->out, .cpus = &cpus};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_int_equal(status.exit_code, 0);
    char expected[64];
    snprintf(expected, sizeof expected, "Cpus_allowed_list:\t%d\n", chosen);
    assert_string_equal(s_read(fixture, fixture->out), expected);

    cpu_set_t after;
    assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);
    assert_true(CPU_EQUAL(&before, &after));
}

static void
test_spawn_rejects_empty_cpu_set(void **state)
{
    (void)state;
    cpu_set_t before;
    assert_int_equal(sched_getaffinity(0, sizeof before, &before), 0);
    tsr_cpuset_t cpus;
    CPU_ZERO(&cpus.set);
    const char *argv[] = {"true", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .cpus = &cpus};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), -EINVAL);
    assert_null(proc);
    cpu_set_t after;
    assert_int_equal(sched_getaffinity(0, sizeof after, &after), 0);
    assert_true(CPU_EQUAL(&before, &after));
}

static void
test_spawn_reports_cpu_time(void **state)
{
    const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done", NULL};
    tsr_proc_status_t status = s_run(*state, argv);
    assert_int_equal(status.exit_code, 0);
    assert_true(status.user_ms > 0);
    assert_true(status.max_rss_kb > 0);
    assert_true(status.duration_ms >= status.user_ms / 2); //  one thread: wall ~ cpu
}

static void
test_spawn_runs_as_another_user(void **state)
{
    fixture_t *fixture = *state;
    if (geteuid() != 0)
        skip(); //  setpriv needs root
    struct passwd *nobody = getpwnam("nobody");
    if (!nobody)
        skip();
    uid_t nobody_uid = nobody->pw_uid;
    gid_t nobody_gid = nobody->pw_gid;

    const char *argv[] = {"sh", "-c", "echo $(id -u) $(id -g) $USER", NULL};
    tsr_spawn_opts_t opts = {.argv = argv, .stdout_path = fixture->out, .run_as_user = "nobody"};
    tsr_proc_t *proc = NULL;
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_OK);
    tsr_proc_status_t status;
    assert_int_equal(tsr_proc_wait(proc, &status), TSR_OK);
    tsr_proc_destroy(&proc);
    assert_int_equal(status.exit_code, 0);
    char expected[128];
    snprintf(expected, sizeof expected, "%lu %lu nobody\n", (unsigned long)nobody_uid,
             (unsigned long)nobody_gid);
    assert_string_equal(s_read(fixture, fixture->out), expected);

    opts.run_as_user = "tsr-no-such-user";
    assert_int_equal(tsr_spawn(&opts, &proc), TSR_EINVAL);
    assert_null(proc);
}

#define SPAWN_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        SPAWN_TEST(test_spawn_true_exits_zero),
        SPAWN_TEST(test_spawn_false_exits_one),
        SPAWN_TEST(test_spawn_reports_exit_code),
        SPAWN_TEST(test_spawn_reports_crash_signal),
        SPAWN_TEST(test_spawn_writes_stdout_and_stderr_to_files),
        SPAWN_TEST(test_spawn_honours_cwd),
        SPAWN_TEST(test_spawn_honours_env),
        SPAWN_TEST(test_spawn_missing_command_gives_enoent),
        SPAWN_TEST(test_spawn_does_not_leak_descriptors),
        SPAWN_TEST(test_spawn_timeout_terminates_whole_group),
        SPAWN_TEST(test_spawn_kills_background_children_when_leader_exits),
        SPAWN_TEST(test_spawn_sigkills_child_ignoring_sigterm),
        SPAWN_TEST(test_proc_poll_enforces_timeout_against_given_time),
        SPAWN_TEST(test_proc_terminate_is_not_a_timeout),
        SPAWN_TEST(test_proc_destroy_kills_and_reaps_running_child),
        SPAWN_TEST(test_spawn_pins_child_to_requested_cpu),
        SPAWN_TEST(test_spawn_rejects_empty_cpu_set),
        SPAWN_TEST(test_spawn_reports_cpu_time),
        SPAWN_TEST(test_spawn_runs_as_another_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
