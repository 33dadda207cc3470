/*  Unit tests for tsr_trace: Chrome trace of the finished shards.          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cJSON.h>
#include <string.h>

#include "tsr_trace.h"

static void
test_trace_one_complete_event_per_shard_on_agent_tracks(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(1000);
    Tessera__Event event = TESSERA__EVENT__INIT;
    event.kind = TESSERA__EVENT__KIND__SHARD_FINISHED;
    event.job = "default";
    event.shard_count = 2;
    event.agent = "a";
    event.duration_ms = 300;
    event.outcome = TESSERA__OUTCOME__PASSED;
    (void)tsr_progress_apply(progress, &event, 1500); //  ended at 500 ms: started at 200
    event.shard_index = 1;
    event.agent = "b";
    event.duration_ms = 900; //  longer than we watched: clamped to 0
    (void)tsr_progress_apply(progress, &event, 1600);

    char *text = tsr_trace_render(progress);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(root, "traceEvents");
    int complete = 0, tracks = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, events)
    {
        const char *phase = cJSON_GetObjectItemCaseSensitive(item, "ph")->valuestring;
        if (strcmp(phase, "M") == 0)
            tracks++;
        if (strcmp(phase, "X") != 0)
            continue;
        complete++;
        const char *name = cJSON_GetObjectItemCaseSensitive(item, "name")->valuestring;
        double ts = cJSON_GetObjectItemCaseSensitive(item, "ts")->valuedouble;
        double dur = cJSON_GetObjectItemCaseSensitive(item, "dur")->valuedouble;
        if (strcmp(name, "default/0") == 0) {
            assert_true(ts == 200000.0);
            assert_true(dur == 300000.0);
        } else {
            assert_string_equal(name, "default/1");
            assert_true(ts == 0.0);
        }
    }
    assert_int_equal(complete, 2);
    assert_int_equal(tracks, 2);
    cJSON_Delete(root);
    free(text);
    tsr_progress_destroy(&progress);
}

static void
test_trace_split_shard_carries_its_split_text(void **state)
{
    (void)state;
    tsr_progress_t *progress = tsr_progress_new(1000);
    Tessera__Event event = TESSERA__EVENT__INIT;
    event.kind = TESSERA__EVENT__KIND__SHARD_REQUEUED;
    event.job = "default";
    event.shard_index = 3;
    event.shard_count = 4;
    event.agent = "a";
    event.text = "split: 5 tests of shard default/1 moved";
    (void)tsr_progress_apply(progress, &event, 1100);
    event.kind = TESSERA__EVENT__KIND__SHARD_FINISHED;
    event.agent = "b";
    event.text = "5 passed, 0 failed";
    event.duration_ms = 50;
    event.outcome = TESSERA__OUTCOME__PASSED;
    (void)tsr_progress_apply(progress, &event, 1500);
    event.shard_index = 1;
    (void)tsr_progress_apply(progress, &event, 1600);

    char *text = tsr_trace_render(progress);
    cJSON *root = cJSON_Parse(text);
    assert_non_null(root);
    int split = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "traceEvents"))
    {
        const cJSON *args = cJSON_GetObjectItemCaseSensitive(item, "args");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(args, "split");
        if (!value)
            continue;
        split++;
        assert_string_equal(name->valuestring, "default/3");
        assert_string_equal(value->valuestring, "split: 5 tests of shard default/1 moved");
    }
    assert_int_equal(split, 1);
    cJSON_Delete(root);
    free(text);
    tsr_progress_destroy(&progress);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_one_complete_event_per_shard_on_agent_tracks),
        cmocka_unit_test(test_trace_split_shard_carries_its_split_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
