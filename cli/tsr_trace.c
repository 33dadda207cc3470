/*  tsr_trace - Chrome trace JSON from the finished shards (cJSON)          */
#include "tsr_trace.h"
#include "tsr_output.h"
#include <cJSON.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static void *
s_check(void *pointer)
{
    if (!pointer) {
        fprintf(stderr, "tessera: out of memory\n");
        abort();
    }
    return pointer;
}

char *
tsr_trace_render(tsr_progress_t *progress)
{
    assert(progress);
    cJSON *root = s_check(cJSON_CreateObject());
    cJSON *events = s_check(cJSON_AddArrayToObject(root, "traceEvents"));
    zhashx_t *tracks = zhashx_new(); //  agent name -> (uintptr_t) track id
    zlistx_t *shards = tsr_progress_shards(progress);
    for (const tsr_progress_shard_t *shard = zlistx_first(shards); shard;
         shard = zlistx_next(shards)) {
        const char *agent = shard->agent[0] ? shard->agent : "unknown";
        uintptr_t track = (uintptr_t)zhashx_lookup(tracks, agent);
        if (!track) {
            track = zhashx_size(tracks) + 1;
            zhashx_insert(tracks, agent, (void *)track);
            cJSON *meta = s_check(cJSON_CreateObject());
            cJSON_AddStringToObject(meta, "name", "thread_name");
            cJSON_AddStringToObject(meta, "ph", "M");
            cJSON_AddNumberToObject(meta, "pid", 1);
            cJSON_AddNumberToObject(meta, "tid", (double)track);
            cJSON *args = s_check(cJSON_AddObjectToObject(meta, "args"));
            cJSON_AddStringToObject(args, "name", agent);
            cJSON_AddItemToArray(events, meta);
        }
        double end_us = (double)shard->finished_at_ms * 1000.0;
        double duration_us = (double)shard->duration_ms * 1000.0;
        double start_us = end_us > duration_us ? end_us - duration_us : 0.0;
        cJSON *event = s_check(cJSON_CreateObject());
        cJSON_AddStringToObject(event, "name", shard->id);
        cJSON_AddStringToObject(event, "cat", shard->job);
        cJSON_AddStringToObject(event, "ph", "X");
        cJSON_AddNumberToObject(event, "ts", start_us);
        cJSON_AddNumberToObject(event, "dur", duration_us);
        cJSON_AddNumberToObject(event, "pid", 1);
        cJSON_AddNumberToObject(event, "tid", (double)track);
        cJSON *args = s_check(cJSON_AddObjectToObject(event, "args"));
        cJSON_AddStringToObject(args, "outcome", tsr_output_outcome(shard->outcome));
        //  A shard of tests stolen from another (work stealing) says so
        for (const tsr_progress_attempt_t *attempt = zlistx_first(shard->requeued); attempt;
             attempt = zlistx_next(shard->requeued))
            if (strncmp(attempt->text, "split:", 6) == 0)
                cJSON_AddStringToObject(args, "split", attempt->text);
        cJSON_AddItemToArray(events, event);
    }
    zhashx_destroy(&tracks);
    cJSON_AddStringToObject(root, "displayTimeUnit", "ms");
    char *text = s_check(cJSON_PrintUnformatted(root));
    cJSON_Delete(root);
    char *document = zsys_sprintf("%s\n", text);
    cJSON_free(text);
    return document;
}

int
tsr_trace_write(tsr_progress_t *progress, const char *path)
{
    assert(progress);
    assert(path);
    char *document = tsr_trace_render(progress);
    char *tmp_path = zsys_sprintf("%s.tmp.%d", path, (int)getpid());
    int rc = TSR_OK;
    FILE *file = fopen(tmp_path, "w");
    if (!file)
        rc = -errno;
    else {
        size_t size = strlen(document);
        bool written = fwrite(document, 1, size, file) == size;
        if (fclose(file) != 0 || !written)
            rc = -EIO;
        else if (rename(tmp_path, path) != 0)
            rc = -errno;
        if (rc != TSR_OK)
            unlink(tmp_path);
    }
    free(tmp_path);
    free(document);
    return rc;
}
