/*  tsr_fw_io - what the framework adapters do around their tools
    Running a command given as string lists through the agent's tsr_fw_ctx_t,
    scratch files (written plugins, id lists, reports), JSON-lines reports read
    with cJSON. Internal to common/frameworks; any thread, no state.        */
#ifndef TSR_FW_IO_H
#define TSR_FW_IO_H

#include "tsr_framework.h"
#include <cjson/cJSON.h>

//  A new list of owned strings (strdup in, free out), for argv and env.
zlistx_t *tsr_fw_strlist_new(void);

//  Append a printf-formatted string to a list from tsr_fw_strlist_new.
void tsr_fw_strlist_addf(zlistx_t *list, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  Append every string of the NULL-terminated `strings` (may be NULL).
void tsr_fw_strlist_add_all(zlistx_t *list, const char *const *strings);

//  True if the list holds a string equal to `text`.
bool tsr_fw_strlist_has(zlistx_t *list, const char *text);

//  Run `argv` (zlistx of char *) through ctx->run in `cwd` (NULL = workdir)
//  with stdout to `stdout_path` (NULL = the shard log) and extra `env`
//  (zlistx of "K=V", may be NULL). Returns what ctx->run returns: TSR_OK with
//  *exit_code (-1 when killed by a signal), TSR_ETIMEOUT, TSR_ECANCELLED or
//  -errno (-ENOENT: command not found).
TSR_NODISCARD int tsr_fw_exec(tsr_fw_ctx_t *ctx, zlistx_t *argv, const char *cwd,
                              const char *stdout_path, zlistx_t *env, int *exit_code);

//  tsr_fw_exec that also says which signal ended the command: *term_signal
//  is set when TSR_OK with *exit_code -1, else 0.
TSR_NODISCARD int tsr_fw_exec_signal(tsr_fw_ctx_t *ctx, zlistx_t *argv, const char *cwd,
                                     const char *stdout_path, zlistx_t *env, int *exit_code,
                                     int *term_signal);

//  "<scratch_dir>/<name>", a new string.
char *tsr_fw_scratch_path(tsr_fw_ctx_t *ctx, const char *name);

//  Create or truncate `path` and write `text`. Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_fw_file_write(const char *path, const char *text);

//  Read all of `path` (at most `max_bytes`), NUL-terminated, into *text_out
//  (the caller's). Returns TSR_OK, -errno, or TSR_ETOOBIG.
TSR_NODISCARD int tsr_fw_file_read(const char *path, size_t max_bytes, char **text_out);

//  Called with each JSON value of a JSON-lines file (borrowed, freed after
//  the call). Returns TSR_OK to go on, or an error that stops the reading.
typedef int(tsr_fw_jsonl_fn)(const cJSON *value, void *arg);

//  Read `path` line by line; lines that are not JSON objects (a test's own
//  output mixed into the stream) are skipped. *objects_out (may be NULL)
//  counts the objects seen. Returns TSR_OK, the callback's error, or -errno
//  (-ENOENT: no such file).
TSR_NODISCARD int tsr_fw_jsonl_read(const char *path, tsr_fw_jsonl_fn *callback, void *arg,
                                    size_t *objects_out);

//  The string value of `object`.`name`, or NULL if absent or not a string.
const char *tsr_fw_json_string(const cJSON *object, const char *name);

//  Milliseconds from a number of seconds (negative, NaN, absent: 0).
uint64_t tsr_fw_seconds_to_ms(double seconds);

//  The path of `path` relative to `base` when it lies under it, else `path`
//  itself. Returns a new string.
char *tsr_fw_path_relative(const char *path, const char *base);

#endif
