/*  tsr_registry - the coordinator's agents, keyed by their ZAP User-Id
    A zhashx of tsr_registry_agent_t by Z85 key. Pure policy over records: callers
    (the agent channel, the scheduler) pass the time in. Loop thread only.   */
#include "tsr_registry.h"
#include "tsr_list.h"
#include <string.h>

struct _tsr_registry_t {
    zhashx_t *agents; //  owned; key -> tsr_registry_agent_t (owned, destructor set)
    uint64_t ttl_ms;  //  liveness period: heartbeat_ivl_ms * liveness
};

static void
s_label_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void
s_agent_destroy(void **item_p)
{
    tsr_registry_agent_t *agent = (tsr_registry_agent_t *)*item_p;
    if (!agent)
        return;
    free(agent->key);
    zframe_destroy(&agent->routing_id);
    free(agent->name);
    free(agent->version);
    free(agent->cpus);
    zhashx_destroy(&agent->labels);
    free(agent);
    *item_p = NULL;
}

tsr_registry_t *
tsr_registry_new(uint64_t ttl_ms)
{
    tsr_registry_t *self = (tsr_registry_t *)zmalloc(sizeof(tsr_registry_t));
    self->agents = zhashx_new();
    zhashx_set_destructor(self->agents, s_agent_destroy);
    self->ttl_ms = ttl_ms;
    return self;
}

void
tsr_registry_destroy(tsr_registry_t **self_p)
{
    assert(self_p);
    tsr_registry_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->agents);
    free(self);
    *self_p = NULL;
}

static void
s_set_routing_id(tsr_registry_agent_t *agent, zframe_t *routing_id)
{
    if (!routing_id)
        return;
    if (agent->routing_id && zframe_eq(agent->routing_id, routing_id))
        return;
    zframe_destroy(&agent->routing_id);
    agent->routing_id = zframe_dup(routing_id);
}

static void
s_replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value ? value : "");
}

tsr_registry_agent_t *
tsr_registry_hello(tsr_registry_t *self, const char *key, zframe_t *routing_id,
                   const Tessera__Hello *hello, uint64_t now_ms, bool *created_out)
{
    assert(self);
    assert(key);
    assert(hello);
    tsr_registry_agent_t *agent = (tsr_registry_agent_t *)zhashx_lookup(self->agents, key);
    bool created = agent == NULL;
    if (created) {
        agent = (tsr_registry_agent_t *)zmalloc(sizeof(tsr_registry_agent_t));
        agent->key = strdup(key);
        snprintf(agent->id, sizeof agent->id, "%.8s", key);
        agent->labels = zhashx_new();
        zhashx_set_destructor(agent->labels, s_label_free);
        zhashx_insert(self->agents, key, agent);
    }
    s_set_routing_id(agent, routing_id);
    s_replace(&agent->name, hello->name && *hello->name ? hello->name : agent->id);
    s_replace(&agent->version, hello->version);

    free(agent->cpus);
    agent->cpus = NULL;
    agent->cpu_count = hello->n_cpus;
    if (hello->n_cpus) {
        agent->cpus = (uint32_t *)zmalloc(hello->n_cpus * sizeof(uint32_t));
        memcpy(agent->cpus, hello->cpus, hello->n_cpus * sizeof(uint32_t));
    }
    agent->slots = (uint32_t)hello->n_cpus;
    agent->reported_free = agent->slots > agent->used_slots ? agent->slots - agent->used_slots : 0;

    zhashx_purge(agent->labels);
    for (size_t index = 0; index < hello->n_labels; index++) {
        const Tessera__Label *label = hello->labels[index];
        if (!label || !label->key || !*label->key)
            continue; //  nothing from the wire is trusted; an empty key labels nothing
        zhashx_update(agent->labels, label->key, strdup(label->value ? label->value : ""));
    }
    agent->self_draining = false;
    agent->last_seen_ms = now_ms;
    agent->expiry_ms = now_ms + self->ttl_ms;
    if (created_out)
        *created_out = created;
    return agent;
}

tsr_registry_agent_t *
tsr_registry_lookup(tsr_registry_t *self, const char *key)
{
    assert(self);
    return key ? (tsr_registry_agent_t *)zhashx_lookup(self->agents, key) : NULL;
}

tsr_registry_agent_t *
tsr_registry_find(tsr_registry_t *self, const char *name_or_id)
{
    assert(self);
    if (!name_or_id || !*name_or_id)
        return NULL;
    tsr_registry_agent_t *agent = tsr_registry_lookup(self, name_or_id);
    if (agent)
        return agent;
    size_t length = strlen(name_or_id);
    tsr_registry_agent_t *by_id = NULL;
    tsr_registry_agent_t *by_name = NULL;
    size_t name_matches = 0;
    for (agent = (tsr_registry_agent_t *)zhashx_first(self->agents); agent;
         agent = (tsr_registry_agent_t *)zhashx_next(self->agents)) {
        if (length >= 8 && strncmp(agent->key, name_or_id, length) == 0)
            by_id = agent;
        if (strcmp(agent->name, name_or_id) == 0) {
            by_name = agent;
            name_matches++;
        }
    }
    if (by_id)
        return by_id;
    return name_matches == 1 ? by_name : NULL;
}

void
tsr_registry_touch(tsr_registry_t *self, tsr_registry_agent_t *agent, zframe_t *routing_id,
                   uint64_t now_ms)
{
    assert(self);
    assert(agent);
    s_set_routing_id(agent, routing_id);
    agent->last_seen_ms = now_ms;
    agent->expiry_ms = now_ms + self->ttl_ms;
}

void
tsr_registry_heartbeat(tsr_registry_t *self, tsr_registry_agent_t *agent,
                       const Tessera__Heartbeat *heartbeat)
{
    assert(self);
    assert(agent);
    assert(heartbeat);
    agent->reported_free = heartbeat->free_slots;
    agent->self_draining = heartbeat->draining;
}

void
tsr_registry_set_drain(tsr_registry_t *self, tsr_registry_agent_t *agent, bool drain)
{
    assert(self);
    assert(agent);
    agent->drain_requested = drain;
}

void
tsr_registry_lease(tsr_registry_t *self, tsr_registry_agent_t *agent, uint32_t threads, int delta)
{
    assert(self);
    assert(agent);
    assert(delta == 1 || delta == -1);
    if (delta > 0) {
        agent->used_slots += threads;
        agent->running++;
    } else {
        //  Leases are counted by the scheduler; going below zero is a bug there
        assert(agent->used_slots >= threads);
        assert(agent->running > 0);
        agent->used_slots -= threads;
        agent->running--;
    }
}

void
tsr_registry_expired(tsr_registry_t *self, uint64_t now_ms, zlistx_t *keys_out)
{
    assert(self);
    assert(keys_out);
    for (tsr_registry_agent_t *agent = (tsr_registry_agent_t *)zhashx_first(self->agents); agent;
         agent = (tsr_registry_agent_t *)zhashx_next(self->agents))
        if (now_ms > agent->expiry_ms)
            zlistx_add_end(keys_out, strdup(agent->key));
}

void
tsr_registry_remove(tsr_registry_t *self, const char *key)
{
    assert(self);
    if (key)
        zhashx_delete(self->agents, key);
}

tsr_registry_agent_t *
tsr_registry_first(tsr_registry_t *self)
{
    assert(self);
    return (tsr_registry_agent_t *)zhashx_first(self->agents);
}

tsr_registry_agent_t *
tsr_registry_next(tsr_registry_t *self)
{
    assert(self);
    return (tsr_registry_agent_t *)zhashx_next(self->agents);
}

size_t
tsr_registry_size(tsr_registry_t *self)
{
    assert(self);
    return zhashx_size(self->agents);
}

uint32_t
tsr_registry_agent_free_slots(const tsr_registry_agent_t *agent)
{
    assert(agent);
    if (tsr_registry_agent_is_draining(agent) || agent->used_slots >= agent->slots)
        return 0;
    return agent->slots - agent->used_slots;
}

bool
tsr_registry_agent_is_draining(const tsr_registry_agent_t *agent)
{
    assert(agent);
    return agent->drain_requested || agent->self_draining;
}

bool
tsr_registry_agent_has_labels(const tsr_registry_agent_t *agent, Tessera__Label *const *labels,
                              size_t label_count)
{
    assert(agent);
    for (size_t index = 0; index < label_count; index++) {
        const Tessera__Label *label = labels[index];
        if (!label || !label->key || !*label->key)
            continue;
        const char *value = (const char *)zhashx_lookup(agent->labels, label->key);
        if (!value || strcmp(value, label->value ? label->value : "") != 0)
            return false;
    }
    return true;
}

void
tsr_registry_agent_info(const tsr_registry_agent_t *agent, uint64_t now_ms,
                        Tessera__AgentInfo *info)
{
    assert(agent);
    assert(info);
    tessera__agent_info__init(info);
    info->id = strdup(agent->id);
    info->name = strdup(agent->name);
    info->version = strdup(agent->version);
    info->n_cpus = agent->cpu_count;
    if (agent->cpu_count) {
        info->cpus = (uint32_t *)zmalloc(agent->cpu_count * sizeof(uint32_t));
        memcpy(info->cpus, agent->cpus, agent->cpu_count * sizeof(uint32_t));
    }
    info->slots = agent->slots;
    info->free_slots = agent->slots > agent->used_slots ? agent->slots - agent->used_slots : 0;
    //  Labels sorted by key, so listings are stable
    zlistx_t *keys = zhashx_keys(agent->labels);
    tsr_list_sort_strings(keys);
    info->n_labels = zlistx_size(keys);
    if (info->n_labels)
        info->labels = (Tessera__Label **)zmalloc(info->n_labels * sizeof(Tessera__Label *));
    size_t index = 0;
    for (const char *key = (const char *)zlistx_first(keys); key;
         key = (const char *)zlistx_next(keys)) {
        Tessera__Label *label = (Tessera__Label *)zmalloc(sizeof(Tessera__Label));
        tessera__label__init(label);
        label->key = strdup(key);
        label->value = strdup((const char *)zhashx_lookup(agent->labels, key));
        info->labels[index++] = label;
    }
    zlistx_destroy(&keys);
    info->draining = tsr_registry_agent_is_draining(agent);
    info->running = agent->running;
    info->last_seen_ms_ago = now_ms > agent->last_seen_ms ? now_ms - agent->last_seen_ms : 0;
}

void
tsr_registry_agent_info_clear(Tessera__AgentInfo *info)
{
    assert(info);
    free(info->id);
    free(info->name);
    free(info->version);
    free(info->cpus);
    for (size_t index = 0; index < info->n_labels; index++) {
        free(info->labels[index]->key);
        free(info->labels[index]->value);
        free(info->labels[index]);
    }
    free(info->labels);
    tessera__agent_info__init(info);
}
