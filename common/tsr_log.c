/*  tsr_log - level filter and formatting in front of czmq's zsys sink      */
#include "tsr_log.h"
#include <czmq.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <string.h>

static atomic_int s_level = TSR_LOG_INFO;
static FILE *s_stream; //  owned when a --log-file was given

int
tsr_log_init(const char *ident, const char *path)
{
    zsys_set_logident(ident ? ident : "tessera");
    zsys_set_logsystem(false);
    if (path) {
        FILE *stream = fopen(path, "a");
        if (!stream)
            return -errno;
        setvbuf(stream, NULL, _IOLBF, 0);
        s_stream = stream; //  lives until exit: zsys keeps borrowing it
        zsys_set_logstream(stream);
    } else
        zsys_set_logstream(stderr);
    return 0;
}

void
tsr_log_set_level(tsr_log_level_t level)
{
    atomic_store(&s_level, (int)level);
}

tsr_log_level_t
tsr_log_level(void)
{
    return (tsr_log_level_t)atomic_load(&s_level);
}

int
tsr_log_level_parse(const char *name)
{
    static const char *names[] = {"error", "warn", "info", "debug", "trace"};
    for (int index = 0; index < 5; index++)
        if (name && strcmp(name, names[index]) == 0)
            return index;
    return -1;
}

static void
s_vwrite(tsr_log_level_t level, const char *file, int line, const char *func, const char *format,
         va_list args)
{
    char text[2048];
    vsnprintf(text, sizeof text, format, args);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    switch (level) {
    case TSR_LOG_ERROR:
        zsys_error("%s (%s:%d %s)", text, base, line, func);
        break;
    case TSR_LOG_WARN:
        zsys_warning("%s (%s:%d)", text, base, line);
        break;
    case TSR_LOG_INFO:
        zsys_info("%s", text);
        break;
    default:
        zsys_debug("%s (%s:%d)", text, base, line);
        break;
    }
}

void
tsr_log_write(tsr_log_level_t level, const char *file, int line, const char *func,
              const char *format, ...)
{
    va_list args;
    va_start(args, format);
    s_vwrite(level, file, line, func, format, args);
    va_end(args);
}

void
tsr_log_fatal_exit(int exit_code, const char *file, int line, const char *func, const char *format,
                   ...)
{
    va_list args;
    va_start(args, format);
    s_vwrite(TSR_LOG_ERROR, file, line, func, format, args);
    va_end(args);
    exit(exit_code);
}
