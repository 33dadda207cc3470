/*  tsr_report - JSON documents for --json (cJSON)                         */
#include "tsr_report.h"
#include "tsr_output.h"
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

//  cJSON aborts nothing on OOM: it returns NULL. Treat that as czmq does.
static void *
s_check(void *pointer)
{
    if (!pointer) {
        fprintf(stderr, "tessera: out of memory\n");
        abort();
    }
    return pointer;
}

static cJSON *
s_summary(const Tessera__RunSummary *summary)
{
    cJSON *root = s_check(cJSON_CreateObject());
    cJSON_AddStringToObject(root, "run", summary->run_id ? summary->run_id : "");
    cJSON_AddStringToObject(root, "status", summary->status ? summary->status : "");
    cJSON *tests = s_check(cJSON_AddObjectToObject(root, "tests"));
    cJSON_AddNumberToObject(tests, "total", summary->total);
    cJSON_AddNumberToObject(tests, "passed", summary->passed);
    cJSON_AddNumberToObject(tests, "failed", summary->failed);
    cJSON_AddNumberToObject(tests, "skipped", summary->skipped);
    cJSON_AddNumberToObject(tests, "flaky", summary->flaky);
    cJSON_AddNumberToObject(root, "shards", summary->shards);
    cJSON_AddNumberToObject(root, "cached_shards", summary->cached_shards);
    cJSON_AddNumberToObject(root, "wall_s", (double)summary->wall_ms / 1000.0);
    cJSON_AddNumberToObject(root, "uploaded_bytes", (double)summary->uploaded_bytes);
    cJSON *results = s_check(cJSON_AddArrayToObject(root, "results"));
    for (size_t index = 0; index < summary->n_results; index++) {
        const Tessera__ShardSummary *shard = summary->results[index];
        cJSON *result = s_check(cJSON_CreateObject());
        cJSON_AddStringToObject(result, "id", shard->id ? shard->id : "");
        cJSON_AddStringToObject(result, "outcome", tsr_output_outcome(shard->outcome));
        cJSON_AddNumberToObject(result, "duration_s", (double)shard->duration_ms / 1000.0);
        cJSON_AddNumberToObject(result, "attempts", shard->attempts);
        cJSON_AddStringToObject(result, "agent", shard->agent ? shard->agent : "");
        cJSON_AddItemToArray(results, result);
    }
    return root;
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
tsr_report_summary_json(const Tessera__RunSummary *summary)
{
    assert(summary);
    return s_print(s_summary(summary));
}

char *
tsr_report_runs_json(Tessera__RunSummary *const *runs, size_t count)
{
    cJSON *root = s_check(cJSON_CreateObject());
    cJSON *array = s_check(cJSON_AddArrayToObject(root, "runs"));
    for (size_t index = 0; index < count; index++)
        cJSON_AddItemToArray(array, s_summary(runs[index]));
    return s_print(root);
}

char *
tsr_report_agents_json(Tessera__AgentInfo *const *agents, size_t count)
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

int
tsr_report_write_file(const char *path, const void *data, size_t size)
{
    assert(path);
    int rc = TSR_OK;
    char *tmp_path = zsys_sprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    const char *cursor = data;
    size_t left = size;
    while (left > 0) {
        ssize_t written = write(fd, cursor, left);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        cursor += written;
        left -= (size_t)written;
    }
    if (close(fd) != 0 && rc == TSR_OK)
        rc = -errno;
    if (rc == TSR_OK && rename(tmp_path, path) != 0)
        rc = -errno;
    if (rc != TSR_OK)
        unlink(tmp_path);
out:
    free(tmp_path);
    return rc;
}
