/*  Unit tests for tsr_registry: agents keyed by key, liveness, slots, drain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_registry.h"

#define KEY_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define KEY_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

//  A Hello with `cpu_count` CPUs and one label; static storage, one at a time
static Tessera__Hello *
s_hello(const char *name, size_t cpu_count, const char *label_key, const char *label_value)
{
    static Tessera__Hello hello;
    static uint32_t cpus[16];
    static Tessera__Label label;
    static Tessera__Label *labels[1];
    tessera__hello__init(&hello);
    tessera__label__init(&label);
    hello.name = (char *)name;
    hello.version = (char *)"0.1.0";
    for (size_t index = 0; index < cpu_count; index++)
        cpus[index] = (uint32_t)index;
    hello.cpus = cpus;
    hello.n_cpus = cpu_count;
    if (label_key) {
        label.key = (char *)label_key;
        label.value = (char *)label_value;
        labels[0] = &label;
        hello.labels = labels;
        hello.n_labels = 1;
    }
    return &hello;
}

static void
s_string_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void
test_registry_hello_creates_agent_keyed_by_key(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    zframe_t *routing_id = zframe_new("r1", 2);
    bool created = false;
    tsr_registry_agent_t *agent = tsr_registry_hello(
        registry, KEY_A, routing_id, s_hello("alpha", 4, "os", "linux"), 1000, &created);
    assert_true(created);
    assert_string_equal(agent->key, KEY_A);
    assert_string_equal(agent->id, "AAAAAAAA");
    assert_string_equal(agent->name, "alpha");
    assert_int_equal(agent->slots, 4);
    assert_int_equal(tsr_registry_agent_free_slots(agent), 4);
    assert_true(zframe_eq(agent->routing_id, routing_id));
    assert_int_equal(tsr_registry_size(registry), 1);

    //  Same key, another name: the same agent (a name is only a label)
    tsr_registry_agent_t *again = tsr_registry_hello(
        registry, KEY_A, routing_id, s_hello("renamed", 2, NULL, NULL), 1500, &created);
    assert_false(created);
    assert_ptr_equal(again, agent);
    assert_string_equal(agent->name, "renamed");
    assert_int_equal(agent->slots, 2);
    assert_int_equal(tsr_registry_size(registry), 1);
    assert_null(tsr_registry_lookup(registry, KEY_B));
    zframe_destroy(&routing_id);
    tsr_registry_destroy(&registry);
    assert_null(registry);
}

static void
test_registry_hello_without_name_uses_short_id(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    tsr_registry_agent_t *agent =
        tsr_registry_hello(registry, KEY_B, NULL, s_hello("", 1, NULL, NULL), 0, NULL);
    assert_string_equal(agent->name, "BBBBBBBB");
    tsr_registry_destroy(&registry);
}

static void
test_registry_expires_agents_after_ttl(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    tsr_registry_agent_t *agent =
        tsr_registry_hello(registry, KEY_A, NULL, s_hello("a", 1, NULL, NULL), 1000, NULL);
    tsr_registry_hello(registry, KEY_B, NULL, s_hello("b", 1, NULL, NULL), 1000, NULL);
    zlistx_t *expired = zlistx_new();
    zlistx_set_destructor(expired, s_string_free);
    tsr_registry_expired(registry, 4000, expired);
    assert_int_equal(zlistx_size(expired), 0); //  exactly at the deadline: still alive

    tsr_registry_touch(registry, agent, NULL, 3500); //  any message pushes the expiry
    tsr_registry_expired(registry, 4001, expired);
    assert_int_equal(zlistx_size(expired), 1);
    assert_string_equal((char *)zlistx_first(expired), KEY_B);
    tsr_registry_remove(registry, KEY_B);
    assert_null(tsr_registry_lookup(registry, KEY_B));
    tsr_registry_remove(registry, KEY_B); //  unknown: no-op
    zlistx_purge(expired);
    tsr_registry_expired(registry, 6501, expired);
    assert_int_equal(zlistx_size(expired), 1);
    zlistx_destroy(&expired);
    tsr_registry_destroy(&registry);
}

static void
test_registry_touch_updates_routing_id(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    zframe_t *first = zframe_new("r1", 2);
    zframe_t *second = zframe_new("r2", 2);
    tsr_registry_agent_t *agent =
        tsr_registry_hello(registry, KEY_A, first, s_hello("a", 1, NULL, NULL), 0, NULL);
    tsr_registry_touch(registry, agent, second, 10);
    assert_true(zframe_eq(agent->routing_id, second));
    tsr_registry_touch(registry, agent, NULL, 20);
    assert_true(zframe_eq(agent->routing_id, second));
    zframe_destroy(&first);
    zframe_destroy(&second);
    tsr_registry_destroy(&registry);
}

static void
test_registry_find_by_id_name_or_key(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    tsr_registry_agent_t *alpha =
        tsr_registry_hello(registry, KEY_A, NULL, s_hello("same", 1, NULL, NULL), 0, NULL);
    tsr_registry_agent_t *beta =
        tsr_registry_hello(registry, KEY_B, NULL, s_hello("beta", 1, NULL, NULL), 0, NULL);
    assert_ptr_equal(tsr_registry_find(registry, KEY_A), alpha);
    assert_ptr_equal(tsr_registry_find(registry, "AAAAAAAA"), alpha);
    assert_ptr_equal(tsr_registry_find(registry, "beta"), beta);
    assert_null(tsr_registry_find(registry, "AAAA")); //  too short to be an id
    assert_null(tsr_registry_find(registry, "nobody"));
    assert_null(tsr_registry_find(registry, ""));
    assert_null(tsr_registry_find(registry, NULL));
    //  Two agents called "same": ambiguous, so no match
    tsr_registry_hello(registry, KEY_B, NULL, s_hello("same", 1, NULL, NULL), 0, NULL);
    assert_null(tsr_registry_find(registry, "same"));
    tsr_registry_destroy(&registry);
}

static void
test_registry_leases_and_drain_limit_free_slots(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    tsr_registry_agent_t *agent =
        tsr_registry_hello(registry, KEY_A, NULL, s_hello("a", 4, NULL, NULL), 0, NULL);
    tsr_registry_lease(registry, agent, 3, 1);
    assert_int_equal(tsr_registry_agent_free_slots(agent), 1);
    assert_int_equal(agent->running, 1);
    tsr_registry_set_drain(registry, agent, true);
    assert_true(tsr_registry_agent_is_draining(agent));
    assert_int_equal(tsr_registry_agent_free_slots(agent), 0);
    tsr_registry_set_drain(registry, agent, false);
    assert_int_equal(tsr_registry_agent_free_slots(agent), 1);

    //  The agent's own drain (SIGTERM) comes with its heartbeat
    Tessera__Heartbeat heartbeat = TESSERA__HEARTBEAT__INIT;
    heartbeat.draining = true;
    heartbeat.free_slots = 1;
    tsr_registry_heartbeat(registry, agent, &heartbeat);
    assert_true(tsr_registry_agent_is_draining(agent));
    assert_int_equal(tsr_registry_agent_free_slots(agent), 0);

    tsr_registry_lease(registry, agent, 3, -1);
    assert_int_equal(agent->used_slots, 0);
    assert_int_equal(agent->running, 0);
    //  A new Hello (the agent restarted) clears its own drain, keeps ours
    tsr_registry_set_drain(registry, agent, true);
    tsr_registry_hello(registry, KEY_A, NULL, s_hello("a", 4, NULL, NULL), 10, NULL);
    assert_false(agent->self_draining);
    assert_true(agent->drain_requested);
    tsr_registry_destroy(&registry);
}

static void
test_registry_labels_must_all_match(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    tsr_registry_agent_t *agent =
        tsr_registry_hello(registry, KEY_A, NULL, s_hello("a", 1, "os", "linux"), 0, NULL);
    Tessera__Label linux_label = TESSERA__LABEL__INIT;
    linux_label.key = (char *)"os";
    linux_label.value = (char *)"linux";
    Tessera__Label mac_label = TESSERA__LABEL__INIT;
    mac_label.key = (char *)"os";
    mac_label.value = (char *)"darwin";
    Tessera__Label gpu_label = TESSERA__LABEL__INIT;
    gpu_label.key = (char *)"gpu";
    gpu_label.value = (char *)"1";
    Tessera__Label *wanted[2] = {&linux_label, &gpu_label};
    assert_true(tsr_registry_agent_has_labels(agent, NULL, 0));
    assert_true(tsr_registry_agent_has_labels(agent, wanted, 1));
    assert_false(tsr_registry_agent_has_labels(agent, wanted, 2));
    Tessera__Label *other[1] = {&mac_label};
    assert_false(tsr_registry_agent_has_labels(agent, other, 1));
    tsr_registry_destroy(&registry);
}

static void
test_registry_agent_info_describes_agent(void **state)
{
    (void)state;
    tsr_registry_t *registry = tsr_registry_new(3000);
    tsr_registry_agent_t *agent =
        tsr_registry_hello(registry, KEY_A, NULL, s_hello("a", 2, "os", "linux"), 1000, NULL);
    tsr_registry_lease(registry, agent, 1, 1);
    Tessera__AgentInfo info;
    tsr_registry_agent_info(agent, 1250, &info);
    assert_string_equal(info.id, "AAAAAAAA");
    assert_string_equal(info.name, "a");
    assert_string_equal(info.version, "0.1.0");
    assert_int_equal(info.n_cpus, 2);
    assert_int_equal(info.cpus[1], 1);
    assert_int_equal(info.slots, 2);
    assert_int_equal(info.free_slots, 1);
    assert_int_equal(info.running, 1);
    assert_int_equal(info.n_labels, 1);
    assert_string_equal(info.labels[0]->key, "os");
    assert_string_equal(info.labels[0]->value, "linux");
    assert_int_equal(info.last_seen_ms_ago, 250);
    tsr_registry_agent_info_clear(&info);
    assert_int_equal(info.n_cpus, 0);
    assert_int_equal(info.n_labels, 0);
    tsr_registry_lease(registry, agent, 1, -1);
    tsr_registry_destroy(&registry);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_hello_creates_agent_keyed_by_key),
        cmocka_unit_test(test_registry_hello_without_name_uses_short_id),
        cmocka_unit_test(test_registry_expires_agents_after_ttl),
        cmocka_unit_test(test_registry_touch_updates_routing_id),
        cmocka_unit_test(test_registry_find_by_id_name_or_key),
        cmocka_unit_test(test_registry_leases_and_drain_limit_free_slots),
        cmocka_unit_test(test_registry_labels_must_all_match),
        cmocka_unit_test(test_registry_agent_info_describes_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
