/*  tessera-agent - runs a tsr_agent_t in the main thread
    Connects to a coordinator, runs shards on this host's pinned slots.
    SIGTERM/SIGINT drain it (running work finishes within the grace period,
    the rest is handed back) and it exits 0. Exit 2 on usage or config
    errors, 3 when it cannot start for another reason.                      */
#include "tsr_agent.h"
#include "tsr_cpuset.h"
#include "tsr_labels.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_usage(FILE *stream)
{
    fprintf(
        stream,
        "usage: tessera-agent --coordinator tcp://HOST:PORT --server-key COORD.pub --key AGENT\n"
        "                     [--cpus 0-15] [--labels k=v,...] [--data DIR] [--name NAME]\n"
        "                     [--user USER] [--ready-file PATH] [--log-file PATH]\n"
        "                     [--log-level error|warn|info|debug|trace] [--heartbeat-ms N]\n"
        "                     [--drain-grace-ms N]\n"
        "\n"
        "  --coordinator URL   the coordinator's agents endpoint\n"
        "  --server-key PATH   the coordinator's public certificate (keys/coordinator.pub)\n"
        "  --key PATH          this agent's secret certificate (mode 0600)\n"
        "  --cpus LIST         CPUs to run shards on, one slot each (default: all ours)\n"
        "  --labels k=v,...    labels added to the detected ones (os, arch, tools)\n"
        "  --data DIR          cache and work directories (default: %s)\n"
        "  --name NAME         display name (default: the host name)\n"
        "  --user USER         run jobs as USER (when started as root)\n"
        "  --ready-file PATH   written (name=NAME) once the coordinator welcomed us\n"
        "  --log-file PATH     log here instead of stderr\n"
        "  --log-level LEVEL   default info\n"
        "  --heartbeat-ms N    heartbeat interval until the coordinator sets one (1000)\n"
        "  --drain-grace-ms N  on SIGTERM, how long running work may finish (30000)\n",
        geteuid() == 0 ? "/var/lib/tessera-agent" : "~/.cache/tessera/agent");
}

static _Noreturn __attribute__((format(printf, 1, 2))) void
s_usage_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "tessera-agent: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n(see tessera-agent --help)\n");
    va_end(args);
    exit(TSR_EXIT_CONFIG);
}

static uint32_t
s_parse_ms(const char *option, const char *text)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno || !end || *end || end == text || text[0] == '-' || value == 0 ||
        value > 24ull * 3600 * 1000) {
        fprintf(stderr, "tessera-agent: %s needs a positive number of milliseconds, not '%s'\n",
                option, text);
        exit(TSR_EXIT_CONFIG);
    }
    return (uint32_t)value;
}

static char *
s_default_data_dir(void)
{
    if (geteuid() == 0)
        return strdup("/var/lib/tessera-agent");
    const char *cache = getenv("XDG_CACHE_HOME");
    if (cache && *cache)
        return zsys_sprintf("%s/tessera/agent", cache);
    const char *home = getenv("HOME");
    return zsys_sprintf("%s/.cache/tessera/agent", home && *home ? home : ".");
}

int
main(int argc, char *argv[])
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"coordinator", required_argument, NULL, 'c'},
        {"server-key", required_argument, NULL, 's'},
        {"key", required_argument, NULL, 'k'},
        {"cpus", required_argument, NULL, 'p'},
        {"labels", required_argument, NULL, 'l'},
        {"data", required_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"user", required_argument, NULL, 'u'},
        {"ready-file", required_argument, NULL, 'r'},
        {"log-file", required_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, 'v'},
        {"heartbeat-ms", required_argument, NULL, 'b'},
        {"drain-grace-ms", required_argument, NULL, 'g'},
        {NULL, 0, NULL, 0},
    };
    tsr_agent_opts_t opts = {0};
    const char *log_file = NULL;
    const char *log_level = "info";
    int option;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'h':
            s_usage(stdout);
            return TSR_EXIT_OK;
        case 'c':
            opts.coordinator = optarg;
            break;
        case 's':
            opts.server_key = optarg;
            break;
        case 'k':
            opts.key = optarg;
            break;
        case 'p':
            opts.cpus = optarg;
            break;
        case 'l':
            opts.labels = optarg;
            break;
        case 'd':
            opts.data_dir = optarg;
            break;
        case 'n':
            opts.name = optarg;
            break;
        case 'u':
            opts.user = optarg;
            break;
        case 'r':
            opts.ready_file = optarg;
            break;
        case 'f':
            log_file = optarg;
            break;
        case 'v':
            log_level = optarg;
            break;
        case 'b':
            opts.heartbeat_ivl_ms = s_parse_ms("--heartbeat-ms", optarg);
            break;
        case 'g':
            opts.drain_grace_ms = s_parse_ms("--drain-grace-ms", optarg);
            break;
        default:
            fprintf(stderr, "(see tessera-agent --help)\n");
            return TSR_EXIT_CONFIG;
        }
    }
    if (optind < argc)
        s_usage_error("unexpected argument '%s'", argv[optind]);
    if (!opts.coordinator)
        s_usage_error("--coordinator tcp://HOST:PORT is required");
    if (!opts.server_key)
        s_usage_error("--server-key PATH (the coordinator's public key) is required");
    if (!opts.key)
        s_usage_error("--key PATH (this agent's secret key) is required");
    //  Syntax errors on the terminal even when logging goes to a file
    zhashx_t *labels = tsr_labels_new();
    char error[256];
    int parse_rc = tsr_labels_parse(opts.labels, labels, error, sizeof error);
    zhashx_destroy(&labels);
    if (parse_rc != TSR_OK)
        s_usage_error("--labels: %s", error);
    tsr_cpuset_t cpus;
    if (opts.cpus && tsr_cpuset_parse(opts.cpus, &cpus) != TSR_OK)
        s_usage_error("--cpus '%s' is not a CPU list like 0-3,8", opts.cpus);
    int level = tsr_log_level_parse(log_level);
    if (level < 0)
        s_usage_error("--log-level '%s' is not one of error, warn, info, debug, trace", log_level);

    zsys_init(); //  catches SIGINT/SIGTERM (zsys_interrupted) from here on
    if (tsr_log_init("tessera-agent", log_file) != 0) {
        fprintf(stderr, "tessera-agent: cannot open --log-file %s: %s\n", log_file,
                strerror(errno));
        return TSR_EXIT_CONFIG;
    }
    tsr_log_set_level((tsr_log_level_t)level);
    char *default_data_dir = opts.data_dir ? NULL : s_default_data_dir();
    if (!opts.data_dir)
        opts.data_dir = default_data_dir;

    tsr_agent_t *agent = tsr_agent_new(&opts);
    int rc = tsr_agent_start(agent);
    if (rc != TSR_OK) {
        tsr_agent_destroy(&agent);
        free(default_data_dir);
        if (log_file)
            fprintf(stderr, "tessera-agent: cannot start: %s (details in %s)\n", tsr_strerror(rc),
                    log_file);
        bool config = rc == TSR_EINVAL || rc == TSR_EKEY || rc == TSR_EPERM || rc == TSR_ECONFIG ||
                      rc == -ENOENT || rc == -EACCES;
        tsr_log_fatal(config ? TSR_EXIT_CONFIG : TSR_EXIT_INFRA, "agent cannot start: %s",
                      tsr_strerror(rc));
    }
    rc = tsr_agent_run(agent, NULL);
    tsr_agent_destroy(&agent);
    free(default_data_dir);
    return rc == TSR_OK ? TSR_EXIT_OK : TSR_EXIT_INFRA;
}
