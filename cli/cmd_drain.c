/*  cmd_drain - `tessera drain AGENT` and `tessera undrain AGENT`
    Draining stops new work to an agent; running work finishes.            */
#include "tsr_cmd.h"
#include "tsr_conn.h"
#include "tsr_msg.h"
#include <getopt.h>

static int
s_exec_drain(const tsr_cmd_entry_t *entry, bool drain, const tsr_cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (option == 'h') {
            tsr_cmd_print_help(entry, stdout);
            return TSR_EXIT_OK;
        }
        return tsr_cmd_usage_error(entry, "unknown option '%s'", tsr_cmd_bad_option(argv, optopt));
    }
    if (argc - optind != 1)
        return tsr_cmd_usage_error(entry, "needs exactly one AGENT (name or id)");
    char *agent = argv[optind];
    tsr_conn_t *conn = NULL;
    int exit_code = tsr_conn_open(cli, entry, 0, &conn);
    if (exit_code != TSR_EXIT_OK)
        return exit_code;
    Tessera__DrainAgent body = TESSERA__DRAIN_AGENT__INIT;
    body.agent = agent;
    body.drain = drain;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_DRAIN_AGENT;
    request.drain_agent = &body;
    Tessera__Envelope *reply = NULL;
    exit_code = tsr_conn_call(conn, entry->name, &request, TESSERA__ENVELOPE__BODY_OK, &reply);
    if (exit_code == TSR_EXIT_OK)
        printf("agent %s %s\n", agent, drain ? "draining" : "accepting work");
    tsr_msg_destroy(&reply);
    tsr_conn_destroy(&conn);
    return exit_code;
}

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    return s_exec_drain(&tsr_cmd_drain_entry, true, cli, argc, argv);
}

static int
s_exec_undrain(const tsr_cli_t *cli, int argc, char **argv)
{
    return s_exec_drain(&tsr_cmd_undrain_entry, false, cli, argc, argv);
}

const tsr_cmd_entry_t tsr_cmd_drain_entry = {
    .name = "drain",
    .usage = "AGENT",
    .summary = "Stop sending new work to an agent (by name or id); running work finishes.",
    .help = "Exits 2 if the coordinator knows no such agent.\n",
    .exec = s_exec,
};

const tsr_cmd_entry_t tsr_cmd_undrain_entry = {
    .name = "undrain",
    .usage = "AGENT",
    .summary = "Let a drained agent (by name or id) take work again.",
    .help = "Exits 2 if the coordinator knows no such agent.\n",
    .exec = s_exec_undrain,
};
