/*  Unit tests for tsr_jobenv: the layers of a shard's environment.        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_jobenv.h"

static const char *const s_base[] = {"PATH=/usr/bin:/bin",
                                     "HOME=/home/agent",
                                     "MAKEFLAGS=-j99",
                                     "TSR_SHARD_INDEX=7",
                                     "NOEQUALS",
                                     "=bad",
                                     NULL};

static void
test_jobenv_sets_shard_and_thread_variables(void **state)
{
    (void)state;
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    assign.attempt_id = 42;
    assign.run_id = "r-1";
    assign.shard_index = 2;
    assign.shard_count = 4;
    char **envp = NULL;
    assert_int_equal(tsr_jobenv_build(s_base, &assign, 3, &envp), TSR_OK);
    const char *const *env = (const char *const *)envp;
    assert_string_equal(tsr_jobenv_get(env, "TSR_SHARD_INDEX"), "2");
    assert_string_equal(tsr_jobenv_get(env, "TSR_SHARD_COUNT"), "4");
    assert_string_equal(tsr_jobenv_get(env, "TSR_THREADS"), "3");
    assert_string_equal(tsr_jobenv_get(env, "CARGO_BUILD_JOBS"), "3");
    assert_string_equal(tsr_jobenv_get(env, "MAKEFLAGS"), "-j3");
    assert_string_equal(tsr_jobenv_get(env, "TSR_RUN_ID"), "r-1");
    assert_string_equal(tsr_jobenv_get(env, "TSR_ATTEMPT_ID"), "42");
    //  The agent's own environment is kept
    assert_string_equal(tsr_jobenv_get(env, "PATH"), "/usr/bin:/bin");
    assert_string_equal(tsr_jobenv_get(env, "HOME"), "/home/agent");
    //  Entries that are not NAME=VALUE are dropped
    assert_null(tsr_jobenv_get(env, "NOEQUALS"));
    //  Sorted by name
    for (size_t index = 1; envp[index]; index++)
        assert_true(strcmp(envp[index - 1], envp[index]) < 0);
    tsr_jobenv_free(&envp);
    assert_null(envp);
}

static void
test_jobenv_job_env_overrides_hints_not_identity(void **state)
{
    (void)state;
    Tessera__EnvVar vars[3] = {TESSERA__ENV_VAR__INIT, TESSERA__ENV_VAR__INIT,
                               TESSERA__ENV_VAR__INIT};
    vars[0].name = "MAKEFLAGS";
    vars[0].value = "-j1";
    vars[1].name = "TSR_SHARD_INDEX";
    vars[1].value = "99";
    vars[2].name = "HOME";
    vars[2].value = "/tmp/job";
    Tessera__EnvVar *var_ptrs[3] = {&vars[0], &vars[1], &vars[2]};
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    assign.attempt_id = 1;
    assign.shard_index = 0;
    assign.shard_count = 1;
    assign.n_env = 3;
    assign.env = var_ptrs;
    char **envp = NULL;
    assert_int_equal(tsr_jobenv_build(s_base, &assign, 1, &envp), TSR_OK);
    const char *const *env = (const char *const *)envp;
    assert_string_equal(tsr_jobenv_get(env, "MAKEFLAGS"), "-j1");
    assert_string_equal(tsr_jobenv_get(env, "HOME"), "/tmp/job");
    assert_string_equal(tsr_jobenv_get(env, "TSR_SHARD_INDEX"), "0");
    tsr_jobenv_free(&envp);
}

static void
test_jobenv_rejects_bad_variable_names(void **state)
{
    (void)state;
    static const char *bad_names[] = {"", "A=B"};
    for (size_t index = 0; index < 2; index++) {
        Tessera__EnvVar var = TESSERA__ENV_VAR__INIT;
        var.name = (char *)bad_names[index];
        var.value = "x";
        Tessera__EnvVar *var_ptr = &var;
        Tessera__Assign assign = TESSERA__ASSIGN__INIT;
        assign.n_env = 1;
        assign.env = &var_ptr;
        char **envp = NULL;
        assert_int_equal(tsr_jobenv_build(NULL, &assign, 1, &envp), TSR_EINVAL);
        assert_null(envp);
    }
}

static void
test_jobenv_empty_base_and_defaults(void **state)
{
    (void)state;
    Tessera__Assign assign = TESSERA__ASSIGN__INIT; //  run_id "" , shard_count 0
    char **envp = NULL;
    assert_int_equal(tsr_jobenv_build(NULL, &assign, 1, &envp), TSR_OK);
    const char *const *env = (const char *const *)envp;
    assert_string_equal(tsr_jobenv_get(env, "TSR_SHARD_COUNT"), "1");
    assert_string_equal(tsr_jobenv_get(env, "TSR_RUN_ID"), "");
    assert_null(tsr_jobenv_get(env, "PATH"));
    assert_null(tsr_jobenv_get(env, "TSR_SHARD")); //  a prefix is not a name
    tsr_jobenv_free(&envp);
    tsr_jobenv_free(&envp); //  NULL-safe
}

static void
test_jobenv_overlay_replaces_and_adds_variables(void **state)
{
    (void)state;
    const char *const job[] = {"PATH=/usr/bin", "PYTHONPATH=/job", "TSR_SHARD_INDEX=1", NULL};
    const char *const extra[] = {"PYTHONPATH=/scratch", "TSR_LIST_FILE=/s/list.json",
                                 "EMPTY=", NULL};
    char **envp = NULL;
    assert_int_equal(tsr_jobenv_overlay(job, extra, &envp), TSR_OK);
    const char *const *env = (const char *const *)envp;
    assert_string_equal(tsr_jobenv_get(env, "PYTHONPATH"), "/scratch");
    assert_string_equal(tsr_jobenv_get(env, "TSR_LIST_FILE"), "/s/list.json");
    assert_string_equal(tsr_jobenv_get(env, "PATH"), "/usr/bin");
    assert_string_equal(tsr_jobenv_get(env, "TSR_SHARD_INDEX"), "1");
    assert_string_equal(tsr_jobenv_get(env, "EMPTY"), "");
    size_t count = 0;
    for (; envp[count]; count++)
        if (count > 0)
            assert_true(strcmp(envp[count - 1], envp[count]) < 0);
    assert_int_equal(count, 5); //  one PYTHONPATH only
    tsr_jobenv_free(&envp);

    //  Either side may be empty
    assert_int_equal(tsr_jobenv_overlay(job, NULL, &envp), TSR_OK);
    assert_string_equal(tsr_jobenv_get((const char *const *)envp, "PYTHONPATH"), "/job");
    tsr_jobenv_free(&envp);
    assert_int_equal(tsr_jobenv_overlay(NULL, extra, &envp), TSR_OK);
    assert_string_equal(tsr_jobenv_get((const char *const *)envp, "PYTHONPATH"), "/scratch");
    tsr_jobenv_free(&envp);
}

static void
test_jobenv_overlay_rejects_entries_without_a_name(void **state)
{
    (void)state;
    const char *const job[] = {"PATH=/usr/bin", NULL};
    const char *const no_equals[] = {"OK=1", "BROKEN", NULL};
    const char *const no_name[] = {"=value", NULL};
    char **envp = (char **)job; //  must be reset
    assert_int_equal(tsr_jobenv_overlay(job, no_equals, &envp), TSR_EINVAL);
    assert_null(envp);
    assert_int_equal(tsr_jobenv_overlay(job, no_name, &envp), TSR_EINVAL);
    assert_null(envp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobenv_sets_shard_and_thread_variables),
        cmocka_unit_test(test_jobenv_job_env_overrides_hints_not_identity),
        cmocka_unit_test(test_jobenv_rejects_bad_variable_names),
        cmocka_unit_test(test_jobenv_empty_base_and_defaults),
        cmocka_unit_test(test_jobenv_overlay_replaces_and_adds_variables),
        cmocka_unit_test(test_jobenv_overlay_rejects_entries_without_a_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
