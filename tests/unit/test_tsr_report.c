/*  Unit tests for tsr_report: the --json documents.                       */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cJSON.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tsr_report.h"

//  A failed run with two shards.
typedef struct {
    Tessera__RunSummary summary;
    Tessera__ShardSummary shards[2];
    Tessera__ShardSummary *pointers[2];
} s_fixture_t;

static void
s_fixture(s_fixture_t *fixture)
{
    tessera__run_summary__init(&fixture->summary);
    fixture->summary.run_id = "r7";
    fixture->summary.status = "failed";
    fixture->summary.total = 2;
    fixture->summary.passed = 1;
    fixture->summary.failed = 1;
    fixture->summary.flaky = 1;
    fixture->summary.shards = 2;
    fixture->summary.cached_shards = 1;
    fixture->summary.wall_ms = 1500;
    fixture->summary.uploaded_bytes = 12345;
    const char *ids[] = {"default/0", "default/1"};
    for (int index = 0; index < 2; index++) {
        tessera__shard_summary__init(&fixture->shards[index]);
        fixture->shards[index].id = (char *)ids[index];
        fixture->shards[index].agent = "local-0";
        fixture->shards[index].attempts = (uint32_t)index + 1;
        fixture->shards[index].duration_ms = 250;
        fixture->pointers[index] = &fixture->shards[index];
    }
    fixture->shards[0].outcome = TESSERA__OUTCOME__PASSED;
    fixture->shards[1].outcome = TESSERA__OUTCOME__TIMED_OUT;
    fixture->summary.n_results = 2;
    fixture->summary.results = fixture->pointers;
}

static double
s_number(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

static const char *
s_string(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static void
test_report_summary_has_the_design_fields(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture);
    char *text = tsr_report_summary_json(&fixture.summary);
    assert_int_equal(text[strlen(text) - 1], '\n');
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(s_string(root, "run"), "r7");
    assert_string_equal(s_string(root, "status"), "failed");
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(root, "tests");
    assert_true(cJSON_IsObject(tests));
    assert_int_equal(s_number(tests, "total"), 2);
    assert_int_equal(s_number(tests, "passed"), 1);
    assert_int_equal(s_number(tests, "failed"), 1);
    assert_int_equal(s_number(tests, "skipped"), 0);
    assert_int_equal(s_number(tests, "flaky"), 1);
    assert_int_equal(s_number(root, "shards"), 2);
    assert_int_equal(s_number(root, "cached_shards"), 1);
    assert_true(s_number(root, "wall_s") == 1.5);
    assert_int_equal(s_number(root, "uploaded_bytes"), 12345);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    assert_int_equal(cJSON_GetArraySize(results), 2);
    const cJSON *second = cJSON_GetArrayItem(results, 1);
    assert_string_equal(s_string(second, "id"), "default/1");
    assert_string_equal(s_string(second, "outcome"), "timed_out");
    assert_true(s_number(second, "duration_s") == 0.25);
    assert_int_equal(s_number(second, "attempts"), 2);
    assert_string_equal(s_string(second, "agent"), "local-0");
    cJSON_Delete(root);
    free(text);
}

static void
test_report_runs_and_empty_lists(void **state)
{
    (void)state;
    s_fixture_t fixture;
    s_fixture(&fixture);
    Tessera__RunSummary *runs[] = {&fixture.summary, &fixture.summary};
    char *text = tsr_report_runs_json(runs, 2);
    cJSON *root = cJSON_Parse(text);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "runs")), 2);
    cJSON_Delete(root);
    free(text);
    text = tsr_report_runs_json(NULL, 0);
    root = cJSON_Parse(text);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "runs")));
    cJSON_Delete(root);
    free(text);
}

static void
test_report_agents(void **state)
{
    (void)state;
    Tessera__Label label = TESSERA__LABEL__INIT;
    label.key = "os";
    label.value = "linux";
    Tessera__Label *labels[] = {&label};
    uint32_t cpus[] = {0, 1};
    Tessera__AgentInfo agent = TESSERA__AGENT_INFO__INIT;
    agent.id = "abcdEFGH";
    agent.name = "ci-1";
    agent.version = "0.1.0";
    agent.n_cpus = 2;
    agent.cpus = cpus;
    agent.slots = 2;
    agent.free_slots = 1;
    agent.n_labels = 1;
    agent.labels = labels;
    agent.draining = true;
    agent.running = 1;
    Tessera__AgentInfo *agents[] = {&agent};
    char *text = tsr_report_agents_json(agents, 1);
    cJSON *root = cJSON_Parse(text);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "agents"), 0);
    assert_string_equal(s_string(first, "id"), "abcdEFGH");
    assert_string_equal(s_string(first, "name"), "ci-1");
    assert_string_equal(s_string(first, "version"), "0.1.0");
    const cJSON *cpu_list = cJSON_GetObjectItemCaseSensitive(first, "cpus");
    assert_int_equal(cJSON_GetArraySize(cpu_list), 2);
    assert_int_equal(cJSON_GetArrayItem(cpu_list, 1)->valueint, 1);
    assert_int_equal(s_number(first, "slots"), 2);
    assert_int_equal(s_number(first, "free_slots"), 1);
    assert_string_equal(s_string(cJSON_GetObjectItemCaseSensitive(first, "labels"), "os"), "linux");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "draining")));
    assert_int_equal(s_number(first, "running"), 1);
    cJSON_Delete(root);
    free(text);
}

static void
test_report_write_file_replaces_atomically_and_reports_errors(void **state)
{
    (void)state;
    const char *base = getenv("TSR_TEST_TMP");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/report-XXXXXX", base ? base : "/tmp");
    if (base)
        zsys_dir_create("%s", base);
    assert_non_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    assert_int_equal(tsr_report_write_file(path, "first", 5), TSR_OK);
    assert_int_equal(tsr_report_write_file(path, "{}\n", 3), TSR_OK);
    FILE *file = fopen(path, "r");
    char content[16] = "";
    assert_int_equal(fread(content, 1, sizeof content - 1, file), 3);
    fclose(file);
    assert_string_equal(content, "{}\n");
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.json", dir);
    assert_int_equal(tsr_report_write_file(missing, "x", 1), -ENOENT);
    unlink(path);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_summary_has_the_design_fields),
        cmocka_unit_test(test_report_runs_and_empty_lists),
        cmocka_unit_test(test_report_agents),
        cmocka_unit_test(test_report_write_file_replaces_atomically_and_reports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
