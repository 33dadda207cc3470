/*  tsr_log - the one logging module
    Lines go through czmq's zsys sink, so czmq's own lines and ours share it.
    Macros test the level first and record file, line and function.
    Thread-safe (zsys serialises). Never log secret keys.                    */
#ifndef TSR_LOG_H
#define TSR_LOG_H

#include <stdio.h>

typedef enum {
    TSR_LOG_ERROR = 0, //  an operator must act
    TSR_LOG_WARN = 1,  //  handled: agent lost, shard requeued
    TSR_LOG_INFO = 2,  //  lifecycle
    TSR_LOG_DEBUG = 3, //  per message
    TSR_LOG_TRACE = 4, //  per chunk
} tsr_log_level_t;

//  Set the process ident (binary name) and the sink: NULL path = stderr.
//  Returns 0 or -errno when the file cannot be opened.
int tsr_log_init(const char *ident, const char *path);

void tsr_log_set_level(tsr_log_level_t level);
tsr_log_level_t tsr_log_level(void);

//  Parse "error", "warn", "info", "debug", "trace". Returns -1 if unknown.
int tsr_log_level_parse(const char *name);

void tsr_log_write(tsr_log_level_t level, const char *file, int line, const char *func,
                   const char *format, ...) __attribute__((format(printf, 5, 6)));

_Noreturn void tsr_log_fatal_exit(int exit_code, const char *file, int line, const char *func,
                                  const char *format, ...) __attribute__((format(printf, 5, 6)));

#define TSR_LOG_AT(level, ...)                                                                     \
    do {                                                                                           \
        if ((level) <= tsr_log_level())                                                            \
            tsr_log_write((level), __FILE__, __LINE__, __func__, __VA_ARGS__);                     \
    } while (0)

#define tsr_log_error(...) TSR_LOG_AT(TSR_LOG_ERROR, __VA_ARGS__)
#define tsr_log_warn(...) TSR_LOG_AT(TSR_LOG_WARN, __VA_ARGS__)
#define tsr_log_info(...) TSR_LOG_AT(TSR_LOG_INFO, __VA_ARGS__)
#define tsr_log_debug(...) TSR_LOG_AT(TSR_LOG_DEBUG, __VA_ARGS__)
#define tsr_log_trace(...) TSR_LOG_AT(TSR_LOG_TRACE, __VA_ARGS__)
//  Startup only (main): log at ERROR and exit with a tsr_exit_t code.
#define tsr_log_fatal(exit_code, ...)                                                              \
    tsr_log_fatal_exit((exit_code), __FILE__, __LINE__, __func__, __VA_ARGS__)

#endif
