/*  tsr_listing - JSON of `agents --json` and `status --json` (cJSON)       */
#include "tsr_listing.h"
#include "tsr_report.h"
#include "tsr_results.h"
#include <cJSON.h>

//  cJSON returns NULL on OOM: treat that as czmq does.
static void *
s_check(void *pointer)
{
    if (!pointer) {
        fprintf(stderr, "tessera: out of memory\n");
        abort();
    }
    return pointer;
}

//  Print and free a document, with a trailing newline.
static char *
s_print(cJSON *root)
{
    char *text = s_check(cJSON_Print(root));
    cJSON_Delete(root);
    char *document = zsys_sprintf("%s\n", text);
    cJSON_free(text);
    return document;
}

char *
tsr_listing_runs_json(Tessera__RunSummary *const *runs, size_t count)
{
    cJSON *root = s_check(cJSON_CreateObject());
    cJSON *array = s_check(cJSON_AddArrayToObject(root, "runs"));
    for (size_t index = 0; index < count; index++) {
        tsr_report_t *report = tsr_results_report(runs[index], NULL);
        char *text = tsr_report_json(report);
        cJSON_AddItemToArray(array, s_check(cJSON_Parse(text)));
        free(text);
        tsr_report_destroy(&report);
    }
    return s_print(root);
}

char *
tsr_listing_agents_json(Tessera__AgentInfo *const *agents, size_t count)
{
    cJSON *root = s_check(cJSON_CreateObject());
    cJSON *array = s_check(cJSON_AddArrayToObject(root, "agents"));
    for (size_t index = 0; index < count; index++) {
        const Tessera__AgentInfo *info = agents[index];
        cJSON *agent = s_check(cJSON_CreateObject());
        cJSON_AddStringToObject(agent, "id", info->id ? info->id : "");
        cJSON_AddStringToObject(agent, "name", info->name ? info->name : "");
        cJSON_AddStringToObject(agent, "version", info->version ? info->version : "");
        cJSON *cpus = s_check(cJSON_AddArrayToObject(agent, "cpus"));
        for (size_t cpu = 0; cpu < info->n_cpus; cpu++)
            cJSON_AddItemToArray(cpus, s_check(cJSON_CreateNumber(info->cpus[cpu])));
        cJSON_AddNumberToObject(agent, "slots", info->slots);
        cJSON_AddNumberToObject(agent, "free_slots", info->free_slots);
        cJSON *labels = s_check(cJSON_AddObjectToObject(agent, "labels"));
        for (size_t label = 0; label < info->n_labels; label++)
            cJSON_AddStringToObject(labels, info->labels[label]->key,
                                    info->labels[label]->value ? info->labels[label]->value : "");
        cJSON_AddBoolToObject(agent, "draining", info->draining);
        cJSON_AddNumberToObject(agent, "running", info->running);
        cJSON_AddItemToArray(array, agent);
    }
    return s_print(root);
}
