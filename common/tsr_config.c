/*  tsr_config - daemon configuration from YAML (libyaml)
    One table maps each key to its field, type and lower bound. A load works
    on a copy and replaces the caller's values only when the whole file is
    valid. Callers: daemon mains (--config, --check-config). Any thread.   */
#include "tsr_config.h" //  own header first: proves it self-contained
#include "tsr_yaml.h"

#include <stdlib.h>
#include <string.h>

typedef enum {
    S_STRING, //  char *, owned
    S_UINT32, //  uint32_t
    S_UINT64, //  uint64_t
} s_kind_t;

typedef struct {
    const char *key; //  YAML key
    size_t offset;   //  of the field in tsr_config_t
    s_kind_t kind;   //  type of the field
    uint64_t min;    //  smallest accepted integer
} s_key_t;

static const s_key_t s_keys[] = {
    {"data", offsetof(tsr_config_t, data_dir), S_STRING, 0},
    {"agents", offsetof(tsr_config_t, agents_endpoint), S_STRING, 0},
    {"clients", offsetof(tsr_config_t, clients_endpoint), S_STRING, 0},
    {"http", offsetof(tsr_config_t, http), S_STRING, 0},
    {"log_level", offsetof(tsr_config_t, log_level), S_STRING, 0},
    {"heartbeat_ms", offsetof(tsr_config_t, heartbeat_ivl_ms), S_UINT32, 10},
    {"liveness", offsetof(tsr_config_t, liveness), S_UINT32, 1},
    {"cache_max_bytes", offsetof(tsr_config_t, cache_max_bytes), S_UINT64, 0},
    {"max_infra_retries", offsetof(tsr_config_t, max_retries), S_UINT32, 0},
};

void
tsr_config_init(tsr_config_t *config)
{
    assert(config);
    memset(config, 0, sizeof *config);
    config->heartbeat_ivl_ms = 1000;
    config->liveness = 3;
    config->cache_max_bytes = 8ull * 1024 * 1024 * 1024;
    config->max_retries = 3;
}

static char *
s_strdup_or_null(const char *text)
{
    char *copy = text ? strdup(text) : NULL;
    assert(copy || !text);
    return copy;
}

//  Set one key from its value node.
static int
s_set(tsr_yaml_t *yaml, tsr_config_t *config, const s_key_t *key, const yaml_node_t *value)
{
    char *field = (char *)config + key->offset;
    if (key->kind == S_STRING) {
        char *text = NULL;
        int rc = tsr_yaml_string(yaml, value, key->key, &text);
        if (rc != TSR_OK)
            return rc;
        if (strcmp(key->key, "log_level") == 0 && tsr_log_level_parse(text) < 0) {
            free(text);
            return tsr_yaml_error(yaml, value,
                                  "'log_level' must be error, warn, info, debug or trace");
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = text;
        return TSR_OK;
    }
    uint64_t max = key->kind == S_UINT32 ? UINT32_MAX : UINT64_MAX;
    uint64_t number = 0;
    int rc = tsr_yaml_uint(yaml, value, key->key, key->min, max, &number);
    if (rc != TSR_OK)
        return rc;
    if (key->kind == S_UINT32)
        *(uint32_t *)(void *)field = (uint32_t)number;
    else
        *(uint64_t *)(void *)field = number;
    return TSR_OK;
}

static int
s_apply(tsr_yaml_t *yaml, tsr_config_t *config)
{
    const yaml_node_t *root = tsr_yaml_root(yaml);
    if (!root)
        return TSR_OK; //  an empty file changes nothing
    int rc = tsr_yaml_mapping(yaml, root, NULL);
    if (rc != TSR_OK)
        return rc;
    for (const yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        const yaml_node_t *key_node = tsr_yaml_node(yaml, pair->key);
        const char *name = tsr_yaml_scalar(key_node);
        const s_key_t *key = NULL;
        for (size_t index = 0; index < sizeof s_keys / sizeof s_keys[0]; index++)
            if (strcmp(s_keys[index].key, name) == 0)
                key = &s_keys[index];
        if (!key)
            return tsr_yaml_error(yaml, key_node, "unknown key '%s'", name);
        rc = s_set(yaml, config, key, tsr_yaml_node(yaml, pair->value));
        if (rc != TSR_OK)
            return rc;
    }
    return TSR_OK;
}

int
tsr_config_load(tsr_config_t *config, const char *path, char **error_out)
{
    assert(config);
    assert(path);
    //  Work on a copy so a bad file leaves the caller's values as they were
    tsr_config_t next = *config;
    next.data_dir = s_strdup_or_null(config->data_dir);
    next.agents_endpoint = s_strdup_or_null(config->agents_endpoint);
    next.clients_endpoint = s_strdup_or_null(config->clients_endpoint);
    next.http = s_strdup_or_null(config->http);
    next.log_level = s_strdup_or_null(config->log_level);

    tsr_yaml_t yaml = {0};
    int rc = tsr_yaml_load_file(&yaml, path);
    if (rc == TSR_OK)
        rc = s_apply(&yaml, &next);
    if (rc == TSR_OK) {
        tsr_config_clear(config);
        *config = next;
    } else
        tsr_config_clear(&next);
    if (error_out)
        *error_out = tsr_yaml_take_error(&yaml);
    tsr_yaml_clear(&yaml);
    return rc;
}

void
tsr_config_clear(tsr_config_t *config)
{
    assert(config);
    free(config->data_dir);
    free(config->agents_endpoint);
    free(config->clients_endpoint);
    free(config->http);
    free(config->log_level);
    config->data_dir = NULL;
    config->agents_endpoint = NULL;
    config->clients_endpoint = NULL;
    config->http = NULL;
    config->log_level = NULL;
}
