/*  Unit tests for tsr_config: defaults, every key, and the errors a
    mistyped daemon configuration gets (file, line and column).            */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_config.h"
#include "tsr_testdir.h"

typedef struct {
    char *dir;      //  owned scratch directory (tsr_testdir)
    char path[300]; //  the config file inside it
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    fixture->dir = tsr_testdir_new("config");
    snprintf(fixture->path, sizeof fixture->path, "%s/coordinator.yml", fixture->dir);
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

static void
s_write(const fixture_t *fixture, const char *text)
{
    FILE *file = fopen(fixture->path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
}

//  Load `text` into a default config; returns the code, *error_out the message.
static int
s_load(const fixture_t *fixture, const char *text, tsr_config_t *config, char **error_out)
{
    s_write(fixture, text);
    return tsr_config_load(config, fixture->path, error_out);
}

//  The error must be "<path>:<where>: <message>".
static void
s_assert_error(const fixture_t *fixture, const char *error, const char *where, const char *message)
{
    char expected[600];
    snprintf(expected, sizeof expected, "%s:%s: %s", fixture->path, where, message);
    assert_non_null(error);
    assert_string_equal(error, expected);
}

static void
test_config_init_sets_defaults(void **state)
{
    (void)state;
    tsr_config_t config;
    tsr_config_init(&config);
    assert_int_equal(config.heartbeat_ivl_ms, 1000);
    assert_int_equal(config.liveness, 3);
    assert_true(config.cache_max_bytes == 8ull * 1024 * 1024 * 1024);
    assert_int_equal(config.max_retries, 3);
    assert_null(config.data_dir);
    assert_null(config.agents_endpoint);
    assert_null(config.clients_endpoint);
    assert_null(config.http);
    assert_null(config.log_level);
    tsr_config_clear(&config);
}

static void
test_config_load_reads_every_key(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    char *error = NULL;
    int rc = s_load(fixture,
                    "# coordinator\n"
                    "data: /var/lib/tessera\n"
                    "agents: tcp://0.0.0.0:7400\n"
                    "clients: \"tcp://0.0.0.0:7401\"\n"
                    "http: 127.0.0.1:7480\n"
                    "log_level: debug\n"
                    "heartbeat_ms: 250\n"
                    "liveness: 5\n"
                    "cache_max_bytes: 17179869184\n"
                    "max_infra_retries: 0\n",
                    &config, &error);
    assert_int_equal(rc, TSR_OK);
    assert_null(error);
    assert_string_equal(config.data_dir, "/var/lib/tessera");
    assert_string_equal(config.agents_endpoint, "tcp://0.0.0.0:7400");
    assert_string_equal(config.clients_endpoint, "tcp://0.0.0.0:7401");
    assert_string_equal(config.http, "127.0.0.1:7480");
    assert_string_equal(config.log_level, "debug");
    assert_int_equal(config.heartbeat_ivl_ms, 250);
    assert_int_equal(config.liveness, 5);
    assert_true(config.cache_max_bytes == 17179869184ull);
    assert_int_equal(config.max_retries, 0);
    tsr_config_clear(&config);
}

static void
test_config_load_keeps_values_not_in_file(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    config.data_dir = strdup("/from/command/line");
    int rc = s_load(fixture, "liveness: 7\n", &config, NULL);
    assert_int_equal(rc, TSR_OK);
    assert_string_equal(config.data_dir, "/from/command/line");
    assert_int_equal(config.liveness, 7);
    assert_int_equal(config.heartbeat_ivl_ms, 1000);
    tsr_config_clear(&config);
}

static void
test_config_load_accepts_empty_file(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    char *error = NULL;
    assert_int_equal(s_load(fixture, "# nothing yet\n", &config, &error), TSR_OK);
    assert_null(error);
    assert_int_equal(config.liveness, 3);
    tsr_config_clear(&config);
}

static void
test_config_load_rejects_unknown_key_with_line_and_column(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    char *error = NULL;
    int rc = s_load(fixture, "data: /tmp/x\nliveness: 2\nagent: tcp://*:1\n", &config, &error);
    assert_int_equal(rc, TSR_ECONFIG);
    s_assert_error(fixture, error, "3:1", "unknown key 'agent'");
    //  Nothing applied from a bad file
    assert_null(config.data_dir);
    assert_int_equal(config.liveness, 3);
    free(error);
    tsr_config_clear(&config);
}

static void
test_config_load_rejects_bad_log_level(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    char *error = NULL;
    int rc = s_load(fixture, "log_level: verbose\n", &config, &error);
    assert_int_equal(rc, TSR_ECONFIG);
    s_assert_error(fixture, error, "1:12", "'log_level' must be error, warn, info, debug or trace");
    assert_null(config.log_level);
    free(error);
    tsr_config_clear(&config);
}

static void
test_config_load_rejects_bad_numbers(void **state)
{
    fixture_t *fixture = *state;
    static const struct {
        const char *text;
        const char *where;
        const char *message;
    } cases[] = {
        {"heartbeat_ms: 5\n", "1:15", "'heartbeat_ms' must be an integer >= 10"},
        {"liveness: 0\n", "1:11", "'liveness' must be a positive integer"},
        {"liveness: -2\n", "1:11", "'liveness' must be a positive integer"},
        {"max_infra_retries: lots\n", "1:20", "'max_infra_retries' must be a non-negative integer"},
        {"max_infra_retries: \"3\"\n", "1:20",
         "'max_infra_retries' must be a non-negative integer"},
        {"cache_max_bytes: 1.5\n", "1:18", "'cache_max_bytes' must be a non-negative integer"},
        {"cache_max_bytes: 99999999999999999999999\n", "1:18",
         "'cache_max_bytes' must be a non-negative integer"},
        {"liveness: 4294967296\n", "1:11", "'liveness' must be at most 4294967295"},
        {"data: [a, b]\n", "1:7", "'data' must be a string"},
        {"- data\n", "1:1", "the top level must be a mapping"},
        {"liveness: 2\nliveness: 3\n", "2:1", "duplicate key 'liveness'"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        tsr_config_t config;
        tsr_config_init(&config);
        char *error = NULL;
        assert_int_equal(s_load(fixture, cases[index].text, &config, &error), TSR_ECONFIG);
        s_assert_error(fixture, error, cases[index].where, cases[index].message);
        free(error);
        tsr_config_clear(&config);
    }
}

static void
test_config_load_reports_syntax_error_line(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    char *error = NULL;
    int rc =
        s_load(fixture, "data: /x\nlog_level: info\nagents: \"tcp://*:7400\n", &config, &error);
    assert_int_equal(rc, TSR_ECONFIG);
    assert_non_null(error);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s:3:9: ", fixture->path);
    assert_memory_equal(error, prefix, strlen(prefix));
    free(error);
    tsr_config_clear(&config);
}

static void
test_config_load_reports_missing_file(void **state)
{
    fixture_t *fixture = *state;
    tsr_config_t config;
    tsr_config_init(&config);
    char *error = NULL;
    int rc = tsr_config_load(&config, fixture->path, &error); //  never written
    assert_int_equal(rc, -ENOENT);
    assert_non_null(error);
    assert_non_null(strstr(error, fixture->path));
    free(error);
    tsr_config_clear(&config);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_init_sets_defaults),
        cmocka_unit_test_setup_teardown(test_config_load_reads_every_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_keeps_values_not_in_file, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_accepts_empty_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_rejects_unknown_key_with_line_and_column,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_rejects_bad_log_level, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_rejects_bad_numbers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_reports_syntax_error_line, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_config_load_reports_missing_file, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
