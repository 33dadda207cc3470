/*  Unit tests for tsr_run_opts: `tessera run` argument parsing.           */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_run_opts.h"

//  Parse a NULL-terminated word list; returns the code, *error_out set on failure.
static int
s_parse(tsr_run_opts_t *opts, char **words, char **error_out)
{
    int argc = 0;
    while (words[argc])
        argc++;
    tsr_run_opts_init(opts);
    return tsr_run_opts_parse(opts, argc, words, error_out);
}

static void
test_run_opts_defaults_without_arguments(void **state)
{
    (void)state;
    char *words[] = {"run", NULL};
    tsr_run_opts_t opts;
    char *error = NULL;
    assert_int_equal(s_parse(&opts, words, &error), TSR_OK);
    assert_null(error);
    assert_string_equal(opts.dir, ".");
    assert_null(opts.config);
    assert_false(opts.shards_set);
    assert_false(opts.retries_set);
    assert_false(opts.timeout_set);
    assert_false(opts.no_cache);
    assert_int_equal(opts.local_agents, 1);
    assert_int_equal(opts.command_argc, 0);
    assert_int_equal(zlistx_size(opts.jobs), 0);
    tsr_run_opts_clear(&opts);
}

static void
test_run_opts_parses_every_option_and_the_command(void **state)
{
    (void)state;
    char *words[] = {"run",       "-C",      "ws",         "--config",
                     "ci.yml",    "--job",   "unit",       "--job=lint",
                     "--shards",  "4",       "--retries",  "2",
                     "--timeout", "60",      "--no-cache", "--local-agents",
                     "3",         "--junit", "j.xml",      "--json",
                     "s.json",    "--trace", "t.json",     "--",
                     "sh",        "-c",      "exit 0",     NULL};
    tsr_run_opts_t opts;
    char *error = NULL;
    assert_int_equal(s_parse(&opts, words, &error), TSR_OK);
    assert_string_equal(opts.dir, "ws");
    assert_string_equal(opts.config, "ci.yml");
    assert_int_equal(zlistx_size(opts.jobs), 2);
    assert_string_equal(zlistx_first(opts.jobs), "unit");
    assert_string_equal(zlistx_next(opts.jobs), "lint");
    assert_true(opts.shards_set);
    assert_int_equal(opts.shards, 4);
    assert_true(opts.retries_set);
    assert_int_equal(opts.retries, 2);
    assert_true(opts.timeout_set);
    assert_int_equal(opts.timeout_s, 60);
    assert_true(opts.no_cache);
    assert_true(opts.local_agents_set);
    assert_int_equal(opts.local_agents, 3);
    assert_string_equal(opts.junit_path, "j.xml");
    assert_string_equal(opts.json_path, "s.json");
    assert_string_equal(opts.trace_path, "t.json");
    assert_int_equal(opts.command_argc, 3);
    assert_string_equal(opts.command_argv[0], "sh");
    assert_string_equal(opts.command_argv[1], "-c"); //  never taken as an option
    assert_string_equal(opts.command_argv[2], "exit 0");
    tsr_run_opts_clear(&opts);
}

static void
test_run_opts_shards_auto_is_zero(void **state)
{
    (void)state;
    char *words[] = {"run", "--shards", "auto", NULL};
    tsr_run_opts_t opts;
    char *error = NULL;
    assert_int_equal(s_parse(&opts, words, &error), TSR_OK);
    assert_true(opts.shards_set);
    assert_int_equal(opts.shards, 0);
    tsr_run_opts_clear(&opts);
}

//  Each of these must fail with a message containing `expected`.
static void
s_expect_error(char **words, const char *expected)
{
    tsr_run_opts_t opts;
    char *error = NULL;
    assert_int_equal(s_parse(&opts, words, &error), TSR_EINVAL);
    assert_non_null(error);
    if (!strstr(error, expected))
        fail_msg("error '%s' does not mention '%s'", error, expected);
    free(error);
    tsr_run_opts_clear(&opts);
}

static void
test_run_opts_rejects_bad_input(void **state)
{
    (void)state;
    char *unknown[] = {"run", "--shrads", "4", NULL};
    s_expect_error(unknown, "--shrads");
    char *unknown_short[] = {"run", "-x", NULL};
    s_expect_error(unknown_short, "-x");
    char *zero_shards[] = {"run", "--shards", "0", NULL};
    s_expect_error(zero_shards, "--shards");
    char *word_shards[] = {"run", "--shards", "four", NULL};
    s_expect_error(word_shards, "four");
    char *negative[] = {"run", "--retries", "-1", NULL};
    s_expect_error(negative, "--retries");
    char *trailing[] = {"run", "--timeout", "10s", NULL};
    s_expect_error(trailing, "--timeout");
    char *too_many[] = {"run", "--shards", "10001", NULL};
    s_expect_error(too_many, "10000");
    char *no_agents[] = {"run", "--local-agents", "0", NULL};
    s_expect_error(no_agents, "--local-agents");
    char *missing[] = {"run", "--json", NULL};
    s_expect_error(missing, "needs a value");
    char *stray[] = {"run", "pytest", NULL};
    s_expect_error(stray, "after '--'");
    char *empty[] = {"run", "--", NULL};
    s_expect_error(empty, "no command");
}

static void
test_run_opts_help(void **state)
{
    (void)state;
    char *words[] = {"run", "--help", NULL};
    tsr_run_opts_t opts;
    char *error = NULL;
    assert_int_equal(s_parse(&opts, words, &error), TSR_OK);
    assert_true(opts.help);
    tsr_run_opts_clear(&opts);
}

static void
test_run_opts_parses_repeat_flaky_and_slow(void **state)
{
    (void)state;
    char *words[] = {"run",    "--repeat", "5",  "--fail-on-flaky",  "--retries=2",
                     "--slow", "3",        "--", "/usr/bin/python3", "-m",
                     "pytest", "tests",    NULL};
    tsr_run_opts_t opts;
    char *error = NULL;
    assert_int_equal(s_parse(&opts, words, &error), TSR_OK);
    assert_true(opts.repeat_set);
    assert_int_equal(opts.repeat, 5);
    assert_true(opts.fail_on_flaky);
    assert_true(opts.retries_set);
    assert_int_equal(opts.retries, 2);
    assert_true(opts.slow_set);
    assert_int_equal(opts.slow_s, 3);
    assert_int_equal(opts.command_argc, 4);
    assert_string_equal(opts.command_argv[0], "/usr/bin/python3");
    tsr_run_opts_clear(&opts);

    char *defaults[] = {"run", NULL};
    assert_int_equal(s_parse(&opts, defaults, &error), TSR_OK);
    assert_false(opts.repeat_set);
    assert_int_equal(opts.repeat, 1);
    assert_false(opts.fail_on_flaky);
    assert_false(opts.slow_set);
    assert_int_equal(opts.slow_s, 0);
    tsr_run_opts_clear(&opts);
}

static void
test_run_opts_rejects_bad_repeat_and_slow(void **state)
{
    (void)state;
    char *zero[] = {"run", "--repeat", "0", NULL};
    s_expect_error(zero, "--repeat");
    char *huge[] = {"run", "--repeat", "1001", NULL};
    s_expect_error(huge, "1000");
    char *word[] = {"run", "--repeat", "many", NULL};
    s_expect_error(word, "many");
    char *missing[] = {"run", "--repeat", NULL};
    s_expect_error(missing, "needs a value");
    char *valued[] = {"run", "--fail-on-flaky=yes", NULL};
    s_expect_error(valued, "--fail-on-flaky");
    char *slow[] = {"run", "--slow", "1.5", NULL};
    s_expect_error(slow, "--slow");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_opts_defaults_without_arguments),
        cmocka_unit_test(test_run_opts_parses_every_option_and_the_command),
        cmocka_unit_test(test_run_opts_shards_auto_is_zero),
        cmocka_unit_test(test_run_opts_rejects_bad_input),
        cmocka_unit_test(test_run_opts_help),
        cmocka_unit_test(test_run_opts_parses_repeat_flaky_and_slow),
        cmocka_unit_test(test_run_opts_rejects_bad_repeat_and_slow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
