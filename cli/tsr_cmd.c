/*  tsr_cmd - usage printing and number parsing shared by the subcommands  */
#include "tsr_cmd.h"
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
tsr_cmd_print_help(const tsr_cmd_entry_t *entry, FILE *stream)
{
    assert(entry);
    fprintf(stream, "usage: tessera %s%s%s\n\n%s\n", entry->name, entry->usage[0] ? " " : "",
            entry->usage, entry->summary);
    if (entry->help && entry->help[0])
        fprintf(stream, "\n%s", entry->help);
}

int
tsr_cmd_usage_error(const tsr_cmd_entry_t *entry, const char *format, ...)
{
    assert(entry);
    char text[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    fprintf(stderr, "tessera %s: %s (see 'tessera %s --help')\n", entry->name, text, entry->name);
    return TSR_EXIT_CONFIG;
}

int
tsr_cmd_parse_uint(const char *text, uint32_t max, uint32_t *value_out)
{
    assert(value_out);
    if (!text || text[0] < '0' || text[0] > '9')
        return TSR_EINVAL;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > max)
        return TSR_EINVAL;
    *value_out = (uint32_t)value;
    return TSR_OK;
}

const char *
tsr_cmd_bad_option(char **argv, int optopt_value)
{
    static char letter[3];
    if (optopt_value > 0 && optopt_value < 128) {
        letter[0] = '-';
        letter[1] = (char)optopt_value;
        letter[2] = '\0';
        return letter;
    }
    if (optind > 0 && argv[optind - 1])
        return argv[optind - 1];
    return "?";
}
