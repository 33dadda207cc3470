/*  tsr_config - daemon configuration from YAML (libyaml)
    `tessera-coordinator --config FILE` and `--check-config` use it. Unknown
    keys and bad values are errors naming file, line and column:
        coordinator.yml:3:1: unknown key 'agent'                           */
#ifndef TSR_CONFIG_H
#define TSR_CONFIG_H

#include "tsr_common.h"

typedef struct {
    char *data_dir;            //  owned; "data"
    char *agents_endpoint;     //  owned; "agents"  e.g. tcp://0.0.0.0:7400
    char *clients_endpoint;    //  owned; "clients" e.g. tcp://0.0.0.0:7401
    char *http;                //  owned; "http" ADDR:PORT, NULL = off
    char *log_level;           //  owned; "log_level"
    uint32_t heartbeat_ivl_ms; //  "heartbeat_ms", default 1000
    uint32_t liveness;         //  "liveness", missed heartbeats, default 3
    uint64_t cache_max_bytes;  //  "cache_max_bytes", default 8 GiB
    uint32_t max_retries;      //  "max_infra_retries", requeues of one shard, default 3
} tsr_config_t;

//  Fill defaults (strings NULL unless given).
void tsr_config_init(tsr_config_t *config);

//  Load and validate a YAML mapping from `path` over the current values.
//  Returns TSR_OK, or TSR_ECONFIG with *error_out (caller frees) like
//  "PATH:LINE:COL: message", or -errno if unreadable (error_out set too).
TSR_NODISCARD int tsr_config_load(tsr_config_t *config, const char *path, char **error_out);

//  Free owned strings; the struct may be reused after tsr_config_init.
void tsr_config_clear(tsr_config_t *config);

#endif
