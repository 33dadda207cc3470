/*  tsr_cmd - usage printing, option and number parsing shared by the subcommands */
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

bool
tsr_cmd_parse_flags(const tsr_cmd_entry_t *entry, int argc, char **argv, bool *json_out,
                    int *exit_out)
{
    assert(entry);
    assert(exit_out);
    static const struct option help_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct option json_options[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, "h", json_out ? json_options : help_options, NULL)) !=
           -1) {
        if (option == 'h') {
            tsr_cmd_print_help(entry, stdout);
            *exit_out = TSR_EXIT_OK;
            return false;
        }
        if (option == 'j') {
            *json_out = true;
            continue;
        }
        *exit_out =
            tsr_cmd_usage_error(entry, "unknown option '%s'", tsr_cmd_bad_option(argv, optopt));
        return false;
    }
    return true;
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
