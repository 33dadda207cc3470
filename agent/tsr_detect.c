/*  tsr_detect - tool version probes, run concurrently, cached on disk
    Each probe resolves its binary in PATH (a stamp of real path, size and
    mtime keys the cache), spawns `TOOL --version` with stdout and stderr to
    files in tmp_dir, and parses the first version number of stdout (else
    stderr) of a probe that exited 0.                                       */
#include "tsr_detect.h"
#include "tsr_labels.h"
#include "tsr_spawn.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  Cached answers older than this are probed again (a rustup shim or a
//  `pip install pytest` changes a version without changing the binary).
#define S_CACHE_MAX_AGE_S 3600
//  Bytes of a probe's output parsed for its version.
#define S_OUTPUT_MAX 4096

typedef struct {
    const char *label;         //  label key
    const char *binary;        //  resolved in PATH unless it has a '/'
    const char *const argv[5]; //  the probe (argv[0] replaced by the path)
} s_tool_t;

static const s_tool_t s_tools[] = {
    {"python3", "/usr/bin/python3", {"python3", "--version", NULL}},
    {"pytest", "/usr/bin/python3", {"python3", "-m", "pytest", "--version", NULL}},
    {"cargo", "cargo", {"cargo", "--version", NULL}},
    {"rustc", "rustc", {"rustc", "--version", NULL}},
    {"node", "node", {"node", "--version", NULL}},
    {"npm", "npm", {"npm", "--version", NULL}},
};
#define S_TOOL_COUNT (sizeof s_tools / sizeof s_tools[0])

typedef struct {
    char *path;       //  owned; resolved binary, NULL = not installed
    char *stamp;      //  owned; "realpath:size:mtime_ns" cache key
    char *version;    //  owned; NULL = none (yet)
    bool cached;      //  answer taken from the cache
    tsr_proc_t *proc; //  owned; running probe
    char *out_path;   //  owned; probe stdout file
    char *err_path;   //  owned; probe stderr file
} s_probe_t;

//  Resolve `binary` like execvp would. Returns a malloc'd path or NULL.
static char *
s_which(const char *binary)
{
    if (strchr(binary, '/'))
        return access(binary, X_OK) == 0 ? strdup(binary) : NULL;
    const char *search = getenv("PATH");
    if (!search)
        search = "/usr/local/bin:/usr/bin:/bin";
    char *dirs = strdup(search);
    char *found = NULL;
    char *saveptr = NULL;
    for (char *dir = strtok_r(dirs, ":", &saveptr); dir && !found;
         dir = strtok_r(NULL, ":", &saveptr)) {
        char *candidate = zsys_sprintf("%s/%s", *dir ? dir : ".", binary);
        struct stat info;
        if (stat(candidate, &info) == 0 && S_ISREG(info.st_mode) && access(candidate, X_OK) == 0)
            found = candidate;
        else
            free(candidate);
    }
    free(dirs);
    return found;
}

static char *
s_stamp(const char *path)
{
    char real[PATH_MAX];
    struct stat info;
    if (!realpath(path, real) || stat(real, &info) != 0)
        return NULL;
    return zsys_sprintf("%s:%lld:%lld.%09ld", real, (long long)info.st_size,
                        (long long)info.st_mtim.tv_sec, (long)info.st_mtim.tv_nsec);
}

static cJSON *
s_cache_load(const char *cache_path)
{
    if (!cache_path)
        return NULL;
    FILE *file = fopen(cache_path, "r");
    if (!file)
        return NULL;
    char text[16384];
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = 0;
    cJSON *root = cJSON_Parse(text);
    if (root && !cJSON_IsObject(root))
        cJSON_Delete(root), root = NULL;
    return root;
}

//  Take a fresh cached answer for probe `index`, if the stamp still matches.
static void
s_cache_lookup(cJSON *cache, const s_tool_t *tool, s_probe_t *probe, time_t now_s)
{
    cJSON *entry = cJSON_GetObjectItemCaseSensitive(cache, tool->label);
    cJSON *stamp = cJSON_GetObjectItemCaseSensitive(entry, "stamp");
    cJSON *version = cJSON_GetObjectItemCaseSensitive(entry, "version");
    cJSON *at_s = cJSON_GetObjectItemCaseSensitive(entry, "at");
    if (!cJSON_IsString(stamp) || !cJSON_IsString(version) || !cJSON_IsNumber(at_s))
        return;
    if (strcmp(stamp->valuestring, probe->stamp) != 0)
        return;
    if (at_s->valuedouble > (double)now_s || (double)now_s - at_s->valuedouble > S_CACHE_MAX_AGE_S)
        return;
    probe->cached = true;
    if (*version->valuestring)
        probe->version = strdup(version->valuestring);
}

static void
s_cache_store(const char *cache_path, cJSON *old_cache, s_probe_t *probes, time_t now_s)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t index = 0; index < S_TOOL_COUNT; index++) {
        if (!probes[index].stamp)
            continue;
        cJSON *entry = NULL;
        if (probes[index].cached)
            entry = cJSON_Duplicate(
                cJSON_GetObjectItemCaseSensitive(old_cache, s_tools[index].label), true);
        else {
            entry = cJSON_CreateObject();
            cJSON_AddStringToObject(entry, "stamp", probes[index].stamp);
            cJSON_AddStringToObject(entry, "version",
                                    probes[index].version ? probes[index].version : "");
            cJSON_AddNumberToObject(entry, "at", (double)now_s);
        }
        cJSON_AddItemToObject(root, s_tools[index].label, entry);
    }
    char *text = cJSON_Print(root);
    char *tmp_path = zsys_sprintf("%s.%d.tmp", cache_path, (int)getpid());
    FILE *file = fopen(tmp_path, "w");
    bool written = file && fputs(text, file) >= 0;
    if (file && fclose(file) != 0)
        written = false;
    if (!written || rename(tmp_path, cache_path) != 0) {
        tsr_log_debug("cannot write label cache %s: %s", cache_path, strerror(errno));
        unlink(tmp_path);
    }
    free(tmp_path);
    free(text);
    cJSON_Delete(root);
}

//  Read up to S_OUTPUT_MAX bytes of a file as a string (caller frees).
static char *
s_read_head(const char *path)
{
    char *text = (char *)zmalloc(S_OUTPUT_MAX + 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t length = read(fd, text, S_OUTPUT_MAX);
        if (length > 0)
            text[length] = 0;
        close(fd);
    }
    return text;
}

static void
s_probe_start(const s_tool_t *tool, s_probe_t *probe, const char *tmp_dir, uint64_t timeout_ms)
{
    probe->out_path = zsys_sprintf("%s/probe-%d-%s.out", tmp_dir, (int)getpid(), tool->label);
    probe->err_path = zsys_sprintf("%s/probe-%d-%s.err", tmp_dir, (int)getpid(), tool->label);
    const char *argv[5];
    memcpy(argv, tool->argv, sizeof argv);
    argv[0] = probe->path;
    tsr_spawn_opts_t opts = {.argv = argv,
                             .stdout_path = probe->out_path,
                             .stderr_path = probe->err_path,
                             .timeout_ms = timeout_ms,
                             .kill_grace_ms = 200};
    int rc = tsr_spawn(&opts, &probe->proc);
    if (rc != TSR_OK)
        tsr_log_debug("probe %s: cannot start %s: %s", tool->label, probe->path, tsr_strerror(rc));
}

static void
s_probe_finish(const s_tool_t *tool, s_probe_t *probe)
{
    tsr_proc_status_t status;
    if (tsr_proc_wait(probe->proc, &status) != TSR_OK || status.exit_code != 0) {
        tsr_log_debug("probe %s: no version (exit %d%s)", tool->label, status.exit_code,
                      status.timed_out ? ", timed out" : "");
        goto out;
    }
    char version[64];
    for (int stream = 0; stream < 2 && !probe->version; stream++) {
        char *output = s_read_head(stream == 0 ? probe->out_path : probe->err_path);
        if (tsr_labels_version(output, version, sizeof version) == TSR_OK)
            probe->version = strdup(version);
        free(output);
    }
out:
    tsr_proc_destroy(&probe->proc);
    unlink(probe->out_path);
    unlink(probe->err_path);
}

int
tsr_detect_tools(zhashx_t *labels, const char *cache_path, const char *tmp_dir, uint64_t timeout_ms)
{
    assert(labels && tmp_dir);
    if (timeout_ms == 0)
        timeout_ms = TSR_DETECT_TIMEOUT_MS;
    time_t now_s = time(NULL);
    cJSON *cache = s_cache_load(cache_path);
    s_probe_t probes[S_TOOL_COUNT];
    memset(probes, 0, sizeof probes);
    bool probed = false;
    for (size_t index = 0; index < S_TOOL_COUNT; index++) {
        probes[index].path = s_which(s_tools[index].binary);
        if (probes[index].path)
            probes[index].stamp = s_stamp(probes[index].path);
        if (!probes[index].stamp)
            continue; //  not installed: no label
        s_cache_lookup(cache, &s_tools[index], &probes[index], now_s);
        if (!probes[index].cached) {
            s_probe_start(&s_tools[index], &probes[index], tmp_dir, timeout_ms);
            probed = true;
        }
    }
    //  All probes run at once; waiting for each in turn costs the slowest one
    for (size_t index = 0; index < S_TOOL_COUNT; index++)
        if (probes[index].proc)
            s_probe_finish(&s_tools[index], &probes[index]);
    if (cache_path && probed)
        s_cache_store(cache_path, cache, probes, now_s);
    for (size_t index = 0; index < S_TOOL_COUNT; index++) {
        if (probes[index].version)
            zhashx_update(labels, s_tools[index].label, probes[index].version);
        free(probes[index].path);
        free(probes[index].stamp);
        free(probes[index].version);
        free(probes[index].out_path);
        free(probes[index].err_path);
    }
    cJSON_Delete(cache);
    return TSR_OK;
}
