/*  Unit tests for tsr_listing: `agents --json` and `status --json`.        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cJSON.h>
#include <string.h>

#include "tsr_listing.h"

static void
test_listing_agents_have_the_cluster_fields(void **state)
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
    char *text = tsr_listing_agents_json(agents, 1);
    assert_int_equal(text[strlen(text) - 1], '\n');
    cJSON *root = cJSON_Parse(text);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "agents"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "id")->valuestring, "abcdEFGH");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "name")->valuestring, "ci-1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "version")->valuestring, "0.1.0");
    const cJSON *cpu_list = cJSON_GetObjectItemCaseSensitive(first, "cpus");
    assert_int_equal(cJSON_GetArraySize(cpu_list), 2);
    assert_int_equal(cJSON_GetArrayItem(cpu_list, 1)->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(first, "slots")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(first, "free_slots")->valueint, 1);
    const cJSON *label_map = cJSON_GetObjectItemCaseSensitive(first, "labels");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(label_map, "os")->valuestring, "linux");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "draining")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(first, "running")->valueint, 1);
    cJSON_Delete(root);
    free(text);

    text = tsr_listing_agents_json(NULL, 0);
    root = cJSON_Parse(text);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "agents")), 0);
    cJSON_Delete(root);
    free(text);
}

static void
test_listing_runs_are_run_summaries(void **state)
{
    (void)state;
    Tessera__ShardSummary shard = TESSERA__SHARD_SUMMARY__INIT;
    shard.id = "default";
    shard.outcome = TESSERA__OUTCOME__FAILED;
    shard.attempts = 1;
    Tessera__ShardSummary *shards[] = {&shard};
    Tessera__RunSummary run = TESSERA__RUN_SUMMARY__INIT;
    run.run_id = "r1";
    run.status = "failed";
    run.shards = 1;
    run.n_results = 1;
    run.results = shards;
    Tessera__RunSummary *runs[] = {&run, &run};
    char *text = tsr_listing_runs_json(runs, 2);
    cJSON *root = cJSON_Parse(text);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "runs");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    const cJSON *first = cJSON_GetArrayItem(list, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "run")->valuestring, "r1");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(first, "status")->valuestring, "failed");
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(first, "tests");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(tests, "failed")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(first, "results")), 1);
    cJSON_Delete(root);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing_agents_have_the_cluster_fields),
        cmocka_unit_test(test_listing_runs_are_run_summaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
