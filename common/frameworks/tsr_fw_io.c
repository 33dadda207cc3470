/*  tsr_fw_io - what the framework adapters do around their tools
    String lists for argv/env, one way to call ctx->run, scratch files and
    JSON-lines reports. Used by the tsr_fw_* adapters only; no state.       */
#include "tsr_fw_io.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
s_string_dup(const void *text)
{
    char *copy = strdup((const char *)text);
    assert(copy);
    return copy;
}

static void
s_string_free(void **text_p)
{
    free(*text_p);
    *text_p = NULL;
}

static int
s_string_compare(const void *left, const void *right)
{
    return strcmp((const char *)left, (const char *)right);
}

zlistx_t *
tsr_fw_strlist_new(void)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_duplicator(list, s_string_dup);
    zlistx_set_destructor(list, s_string_free);
    zlistx_set_comparator(list, s_string_compare);
    return list;
}

void
tsr_fw_strlist_addf(zlistx_t *list, const char *format, ...)
{
    assert(list);
    va_list args;
    va_start(args, format);
    char *text = zsys_vprintf(format, args);
    va_end(args);
    assert(text);
    zlistx_add_end(list, text);
    zstr_free(&text);
}

void
tsr_fw_strlist_add_all(zlistx_t *list, const char *const *strings)
{
    assert(list);
    for (size_t index = 0; strings && strings[index]; index++)
        zlistx_add_end(list, (void *)strings[index]);
}

bool
tsr_fw_strlist_has(zlistx_t *list, const char *text)
{
    assert(list);
    for (const char *item = (const char *)zlistx_first(list); item;
         item = (const char *)zlistx_next(list))
        if (streq(item, text))
            return true;
    return false;
}

//  A NULL-terminated array viewing the strings of `list` (borrowed), or NULL
//  for a NULL list. The array itself is the caller's.
static const char **
s_strlist_array(zlistx_t *list)
{
    if (!list)
        return NULL;
    const char **array = (const char **)zmalloc((zlistx_size(list) + 1) * sizeof *array);
    size_t index = 0;
    for (const char *item = (const char *)zlistx_first(list); item;
         item = (const char *)zlistx_next(list))
        array[index++] = item;
    array[index] = NULL;
    return array;
}

int
tsr_fw_exec(tsr_fw_ctx_t *ctx, zlistx_t *argv, const char *cwd, const char *stdout_path,
            zlistx_t *env, int *exit_code)
{
    int term_signal;
    return tsr_fw_exec_signal(ctx, argv, cwd, stdout_path, env, exit_code, &term_signal);
}

int
tsr_fw_exec_signal(tsr_fw_ctx_t *ctx, zlistx_t *argv, const char *cwd, const char *stdout_path,
                   zlistx_t *env, int *exit_code, int *term_signal)
{
    assert(ctx);
    assert(ctx->run);
    assert(argv && zlistx_size(argv) > 0);
    assert(exit_code);
    assert(term_signal);
    const char **argv_array = s_strlist_array(argv);
    const char **env_array = s_strlist_array(env);
    *term_signal = 0;
    *exit_code = -1;
    tsr_log_debug("framework exec argv0=%s args=%zu", argv_array[0], zlistx_size(argv));
    int rc = ctx->run(ctx, argv_array, cwd, stdout_path, env_array, exit_code, term_signal);
    if (rc == TSR_OK && *term_signal != 0)
        *exit_code = -1;
    if (rc != TSR_OK || *exit_code != -1)
        *term_signal = 0;
    free(argv_array);
    free(env_array);
    return rc;
}

char *
tsr_fw_scratch_path(tsr_fw_ctx_t *ctx, const char *name)
{
    assert(ctx && ctx->scratch_dir);
    char *path = zsys_sprintf("%s/%s", ctx->scratch_dir, name);
    assert(path);
    return path;
}

int
tsr_fw_file_write(const char *path, const char *text)
{
    assert(path);
    assert(text);
    FILE *file = fopen(path, "w");
    if (!file)
        return -errno;
    size_t length = strlen(text);
    int rc = TSR_OK;
    if (fwrite(text, 1, length, file) != length)
        rc = -EIO;
    if (fclose(file) != 0 && rc == TSR_OK)
        rc = -errno;
    return rc;
}

int
tsr_fw_file_read(const char *path, size_t max_bytes, char **text_out)
{
    assert(path);
    assert(text_out);
    *text_out = NULL;
    FILE *file = fopen(path, "rb");
    if (!file)
        return -errno;
    int rc = TSR_OK;
    size_t capacity = max_bytes < 4096 ? max_bytes : 4096;
    size_t length = 0;
    char *text = (char *)zmalloc(capacity + 1);
    while (true) {
        if (length == capacity) {
            if (capacity >= max_bytes) {
                if (fgetc(file) != EOF)
                    rc = TSR_ETOOBIG;
                break;
            }
            capacity = capacity * 2 < max_bytes ? capacity * 2 : max_bytes;
            text = (char *)realloc(text, capacity + 1);
            assert(text);
        }
        size_t got = fread(text + length, 1, capacity - length, file);
        length += got;
        if (got == 0) {
            if (ferror(file))
                rc = -EIO;
            break;
        }
    }
    text[length] = '\0';
    fclose(file);
    if (rc == TSR_OK)
        *text_out = text;
    else
        free(text);
    return rc;
}

int
tsr_fw_jsonl_read(const char *path, tsr_fw_jsonl_fn *callback, void *arg, size_t *objects_out)
{
    assert(path);
    assert(callback);
    if (objects_out)
        *objects_out = 0;
    FILE *file = fopen(path, "r");
    if (!file)
        return -errno;
    int rc = TSR_OK;
    char *line = NULL;
    size_t line_size = 0;
    ssize_t length;
    while ((length = getline(&line, &line_size, file)) >= 0) {
        cJSON *value = cJSON_ParseWithLength(line, (size_t)length);
        if (!cJSON_IsObject(value)) {
            cJSON_Delete(value); //  a test's own output line: not ours
            continue;
        }
        if (objects_out)
            (*objects_out)++;
        rc = callback(value, arg);
        cJSON_Delete(value);
        if (rc != TSR_OK)
            break;
    }
    free(line);
    fclose(file);
    return rc;
}

const char *
tsr_fw_json_string(const cJSON *object, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

uint64_t
tsr_fw_seconds_to_ms(double seconds)
{
    if (!(seconds > 0)) //  also NaN
        return 0;
    double millis = seconds * 1000.0 + 0.5;
    return millis >= (double)UINT64_MAX ? UINT64_MAX : (uint64_t)millis;
}

//  The part of `path` after `base` + "/", or NULL if not under it.
static const char *
s_under(const char *path, const char *base)
{
    size_t base_length = strlen(base);
    while (base_length > 1 && base[base_length - 1] == '/')
        base_length--;
    if (strncmp(path, base, base_length) != 0 || path[base_length] != '/')
        return NULL;
    return path + base_length + 1;
}

char *
tsr_fw_path_relative(const char *path, const char *base)
{
    assert(path);
    assert(base);
    const char *rest = s_under(path, base);
    if (rest) {
        char *copy = strdup(rest);
        assert(copy);
        return copy;
    }
    //  Tools often report resolved paths (jest: realpath); so compare those
    char *real_path = realpath(path, NULL);
    char *real_base = realpath(base, NULL);
    char *relative = NULL;
    if (real_path && real_base && (rest = s_under(real_path, real_base)) != NULL)
        relative = strdup(rest);
    else
        relative = strdup(path);
    assert(relative);
    free(real_path);
    free(real_base);
    return relative;
}
