/*  tessera - the command line of the Tessera cluster
    Global options (--coordinator, --server-key, --key or TESSERA_*;
    --log-level, --log-file), then one subcommand from cmd_table[] (tmux
    style: one cmd_*.c file each). Exit codes are tsr_exit_t.              */
#include "tsr_cmd.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const tsr_cmd_entry_t *const cmd_table[] = {
    &tsr_cmd_run_entry,    &tsr_cmd_results_entry, &tsr_cmd_status_entry,
    &tsr_cmd_agents_entry, &tsr_cmd_drain_entry,   &tsr_cmd_undrain_entry,
    &tsr_cmd_cancel_entry, &tsr_cmd_keygen_entry,  &tsr_cmd_validate_entry,
};
#define S_COMMANDS (sizeof cmd_table / sizeof cmd_table[0])

static void
s_usage(FILE *stream)
{
    fprintf(stream,
            "usage: tessera [--coordinator tcp://HOST:PORT --server-key COORD.pub --key CLIENT]\n"
            "               [--log-level LEVEL] [--log-file PATH] COMMAND [ARGS]\n"
            "\n"
            "Commands:\n");
    for (size_t index = 0; index < S_COMMANDS; index++)
        fprintf(stream, "  %-9s %s\n", cmd_table[index]->name, cmd_table[index]->summary);
    fprintf(stream,
            "\n"
            "Global options:\n"
            "  --coordinator URL   coordinator clients endpoint (env TESSERA_COORDINATOR);\n"
            "                      without it, 'run' starts an embedded local cluster\n"
            "  --server-key PATH   the coordinator's public key, COORD.pub (TESSERA_SERVER_KEY)\n"
            "  --key PATH          this client's secret key (TESSERA_KEY), from 'tessera keygen'\n"
            "  --log-level LEVEL   error, warn (default), info, debug, trace\n"
            "  --log-file PATH     log there instead of stderr\n"
            "  -h, --help          this text; 'tessera COMMAND --help' for a command\n"
            "  -V, --version       print the version\n"
            "\n"
            "Exit status: 0 passed, 1 tests failed, 2 usage or config error, 3 infrastructure "
            "error.\n");
}

static const tsr_cmd_entry_t *
s_find(const char *name)
{
    for (size_t index = 0; index < S_COMMANDS; index++)
        if (strcmp(cmd_table[index]->name, name) == 0)
            return cmd_table[index];
    return NULL;
}

//  An environment variable, NULL if unset or empty.
static const char *
s_env(const char *name)
{
    const char *value = getenv(name);
    return value && value[0] ? value : NULL;
}

enum {
    S_OPT_COORDINATOR = 256,
    S_OPT_SERVER_KEY,
    S_OPT_KEY,
    S_OPT_LOG_LEVEL,
    S_OPT_LOG_FILE,
};

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        {"coordinator", required_argument, NULL, S_OPT_COORDINATOR},
        {"server-key", required_argument, NULL, S_OPT_SERVER_KEY},
        {"key", required_argument, NULL, S_OPT_KEY},
        {"log-level", required_argument, NULL, S_OPT_LOG_LEVEL},
        {"log-file", required_argument, NULL, S_OPT_LOG_FILE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    tsr_cli_t cli = {
        .coordinator = s_env("TESSERA_COORDINATOR"),
        .server_key = s_env("TESSERA_SERVER_KEY"),
        .key = s_env("TESSERA_KEY"),
    };
    const char *log_level = "warn";
    opterr = 0;
    int option;
    //  '+': stop at the command name; its options are its own
    while ((option = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
        switch (option) {
        case S_OPT_COORDINATOR:
            cli.coordinator = optarg;
            break;
        case S_OPT_SERVER_KEY:
            cli.server_key = optarg;
            break;
        case S_OPT_KEY:
            cli.key = optarg;
            break;
        case S_OPT_LOG_LEVEL:
            log_level = optarg;
            break;
        case S_OPT_LOG_FILE:
            cli.log_file = optarg;
            break;
        case 'h':
            s_usage(stdout);
            return TSR_EXIT_OK;
        case 'V':
            printf("tessera %s (protocol %d)\n", TSR_VERSION, TSR_PROTOCOL_VERSION);
            return TSR_EXIT_OK;
        case ':':
            fprintf(stderr, "tessera: option '%s' needs a value\n",
                    tsr_cmd_bad_option(argv, optopt));
            return TSR_EXIT_CONFIG;
        default:
            fprintf(stderr, "tessera: unknown option '%s' (see 'tessera --help')\n",
                    tsr_cmd_bad_option(argv, optopt));
            return TSR_EXIT_CONFIG;
        }
    }
    int level = tsr_log_level_parse(log_level);
    if (level < 0) {
        fprintf(stderr, "tessera: unknown --log-level '%s' (error, warn, info, debug, trace)\n",
                log_level);
        return TSR_EXIT_CONFIG;
    }
    if (optind >= argc) {
        s_usage(stderr);
        return TSR_EXIT_CONFIG;
    }
    const char *name = argv[optind];
    bool help = strcmp(name, "help") == 0;
    if (help) { //  `tessera help [COMMAND]`
        if (optind + 1 >= argc) {
            s_usage(stdout);
            return TSR_EXIT_OK;
        }
        name = argv[optind + 1];
    }
    const tsr_cmd_entry_t *entry = s_find(name);
    if (!entry) {
        fprintf(stderr, "tessera: unknown command '%s' (see 'tessera --help')\n", name);
        return TSR_EXIT_CONFIG;
    }
    if (help) {
        tsr_cmd_print_help(entry, stdout);
        return TSR_EXIT_OK;
    }
    if (tsr_log_init("tessera", cli.log_file) != 0) {
        fprintf(stderr, "tessera: cannot open --log-file %s\n", cli.log_file);
        return TSR_EXIT_CONFIG;
    }
    tsr_log_set_level((tsr_log_level_t)level);
    const char *term = getenv("TERM");
    cli.stdout_is_tty = isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
    return entry->exec(&cli, argc - optind, argv + optind);
}
