/*  tessera-coordinator - the coordinator daemon
    Options and config file, logging, then the coordinator in a zactor while
    this thread waits for signals: SIGHUP reloads the allow-lists, SIGTERM and
    SIGINT stop it cleanly. Exit 0, or 2 on usage/config/start errors.       */
#include "tsr_coordinator.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_usage =
    "usage: tessera-coordinator --data DIR [options]\n"
    "\n"
    "  -d, --data DIR          data directory (keys, allow-lists, store)\n"
    "  -a, --agents ENDPOINT   agents endpoint (default tcp://0.0.0.0:7400)\n"
    "  -c, --clients ENDPOINT  clients endpoint (default tcp://0.0.0.0:7401)\n"
    "      --http ADDR:PORT    HTTP metrics/API endpoint (not served yet)\n"
    "  -f, --config FILE       YAML configuration (flags override it)\n"
    "  -t, --check-config      validate the configuration and exit (0 ok, 2 bad)\n"
    "      --ready-file PATH   write agents=, clients=, key= lines once serving\n"
    "      --log-file PATH     log here instead of stderr\n"
    "      --log-level LEVEL   error, warn, info (default), debug, trace\n"
    "      --heartbeat-ms N    heartbeat interval in ms (default 1000)\n"
    "  -V, --version           print the version and exit\n"
    "  -h, --help              this text\n"
    "\n"
    "Agents and clients authenticate with CURVE keys listed in DIR/allow/agents/*.pub\n"
    "and DIR/allow/clients/*.pub; SIGHUP re-reads both lists.\n";

enum {
    OPT_HTTP = 256,
    OPT_READY_FILE,
    OPT_LOG_FILE,
    OPT_LOG_LEVEL,
    OPT_HEARTBEAT_MS,
};

static const struct option s_options[] = {
    {"data", required_argument, NULL, 'd'},
    {"agents", required_argument, NULL, 'a'},
    {"clients", required_argument, NULL, 'c'},
    {"http", required_argument, NULL, OPT_HTTP},
    {"config", required_argument, NULL, 'f'},
    {"check-config", no_argument, NULL, 't'},
    {"ready-file", required_argument, NULL, OPT_READY_FILE},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"heartbeat-ms", required_argument, NULL, OPT_HEARTBEAT_MS},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

//  Command-line values; they override the config file
typedef struct {
    const char *data_dir;      //  borrowed from argv; NULL if not given
    const char *agents;        //  borrowed from argv
    const char *clients;       //  borrowed from argv
    const char *http;          //  borrowed from argv
    const char *config_path;   //  borrowed from argv
    const char *ready_file;    //  borrowed from argv
    const char *log_file;      //  borrowed from argv
    const char *log_level;     //  borrowed from argv
    uint32_t heartbeat_ivl_ms; //  0 = not given
    bool check_config;         //  validate and exit
} s_args_t;

static _Noreturn void
s_usage_error(const char *message)
{
    fprintf(stderr, "tessera-coordinator: %s\nTry 'tessera-coordinator --help'.\n", message);
    exit(TSR_EXIT_CONFIG);
}

static void
s_parse(int argc, char **argv, s_args_t *args)
{
    int option;
    while ((option = getopt_long(argc, argv, "d:a:c:f:tVh", s_options, NULL)) != -1) {
        switch (option) {
        case 'd':
            args->data_dir = optarg;
            break;
        case 'a':
            args->agents = optarg;
            break;
        case 'c':
            args->clients = optarg;
            break;
        case OPT_HTTP:
            args->http = optarg;
            break;
        case 'f':
            args->config_path = optarg;
            break;
        case 't':
            args->check_config = true;
            break;
        case OPT_READY_FILE:
            args->ready_file = optarg;
            break;
        case OPT_LOG_FILE:
            args->log_file = optarg;
            break;
        case OPT_LOG_LEVEL:
            args->log_level = optarg;
            break;
        case OPT_HEARTBEAT_MS: {
            char *end = NULL;
            errno = 0;
            unsigned long value = strtoul(optarg, &end, 10);
            if (errno || !end || *end || value == 0 || value > 3600000)
                s_usage_error("--heartbeat-ms needs a number of ms between 1 and 3600000");
            args->heartbeat_ivl_ms = (uint32_t)value;
            break;
        }
        case 'V':
            printf("tessera-coordinator %s\n", TSR_VERSION);
            exit(TSR_EXIT_OK);
        case 'h':
            fputs(s_usage, stdout);
            exit(TSR_EXIT_OK);
        default:
            s_usage_error("unknown option");
        }
    }
    if (optind < argc)
        s_usage_error("unexpected argument");
}

static void
s_replace(char **field, const char *value)
{
    if (!value)
        return;
    free(*field);
    *field = strdup(value);
}

//  Config file first, flags over it. Exits 2 on any error.
static void
s_configure(const s_args_t *args, tsr_config_t *config)
{
    tsr_config_init(config);
    if (args->config_path) {
        char *error = NULL;
        if (tsr_config_load(config, args->config_path, &error) != TSR_OK) {
            fprintf(stderr, "tessera-coordinator: %s\n",
                    error ? error : "cannot load the configuration");
            free(error);
            tsr_config_clear(config);
            exit(TSR_EXIT_CONFIG);
        }
    }
    s_replace(&config->data_dir, args->data_dir);
    s_replace(&config->agents_endpoint, args->agents);
    s_replace(&config->clients_endpoint, args->clients);
    s_replace(&config->http, args->http);
    s_replace(&config->log_level, args->log_level);
    if (args->heartbeat_ivl_ms)
        config->heartbeat_ivl_ms = args->heartbeat_ivl_ms;
    const char *problem = NULL;
    if (!config->data_dir || !*config->data_dir)
        problem = "a data directory is required (--data DIR or `data:` in the config)";
    else if (config->log_level && tsr_log_level_parse(config->log_level) < 0)
        problem = "log level must be error, warn, info, debug or trace";
    if (problem) {
        tsr_config_clear(config);
        s_usage_error(problem);
    }
}

//  Write the ready file atomically: a reader sees all three lines or nothing
static int
s_write_ready_file(const char *path, const char *agents, const char *clients, const char *key)
{
    char *temp = zsys_sprintf("%s.tmp", path);
    FILE *file = fopen(temp, "w");
    int rc = 0;
    if (!file)
        rc = -errno;
    else {
        fprintf(file, "agents=%s\nclients=%s\nkey=%s\n", agents, clients, key);
        if (fclose(file) != 0)
            rc = -errno;
        else if (rename(temp, path) != 0)
            rc = -errno;
    }
    if (rc != 0)
        unlink(temp);
    zstr_free(&temp);
    return rc;
}

int
main(int argc, char **argv)
{
    //  Signals go to sigwait below, never to a handler in some thread:
    //  block them before czmq starts any thread (they inherit the mask)
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    zsys_handler_set(NULL);

    s_args_t args = {0};
    s_parse(argc, argv, &args);
    tsr_config_t config;
    s_configure(&args, &config);
    if (args.check_config) {
        printf("configuration OK\n");
        tsr_config_clear(&config);
        return TSR_EXIT_OK;
    }
    if (tsr_log_init("tessera-coordinator", args.log_file) != 0) {
        fprintf(stderr, "tessera-coordinator: cannot open the log file %s: %s\n", args.log_file,
                strerror(errno));
        tsr_config_clear(&config);
        return TSR_EXIT_CONFIG;
    }
    if (config.log_level)
        tsr_log_set_level((tsr_log_level_t)tsr_log_level_parse(config.log_level));

    int exit_code = TSR_EXIT_OK;
    zactor_t *coordinator = zactor_new(tsr_coordinator_actor, &config);
    int start_rc = TSR_EUNREACHABLE;
    if (zstr_send(coordinator, "STATUS") == 0)
        (void)zsock_recv(coordinator, "i", &start_rc);
    if (start_rc != TSR_OK) {
        //  The coordinator logged the cause where it happened
        tsr_log_info("exiting: the coordinator did not start (%s)", tsr_strerror(start_rc));
        exit_code = TSR_EXIT_CONFIG;
        goto out;
    }
    if (args.ready_file) {
        char *agents = NULL, *clients = NULL, *key = NULL;
        zstr_send(coordinator, "ENDPOINTS");
        int rc = zsock_recv(coordinator, "sss", &agents, &clients, &key);
        if (rc == 0)
            rc = s_write_ready_file(args.ready_file, agents, clients, key);
        zstr_free(&agents);
        zstr_free(&clients);
        zstr_free(&key);
        if (rc != 0) {
            tsr_log_error("cannot write the ready file %s: %s", args.ready_file, tsr_strerror(rc));
            exit_code = TSR_EXIT_CONFIG;
            goto out;
        }
    }
    while (true) {
        int signal_number = 0;
        if (sigwait(&signals, &signal_number) != 0)
            continue;
        if (signal_number == SIGHUP) {
            tsr_log_info("SIGHUP: reloading allow-lists");
            zstr_send(coordinator, "RELOAD");
            continue;
        }
        tsr_log_info("%s: stopping", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
out:
    zactor_destroy(&coordinator);
    tsr_config_clear(&config);
    return exit_code;
}
