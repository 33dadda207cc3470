/*  cmd_drain - `tessera drain AGENT` and `tessera undrain AGENT`
    Draining stops new work to an agent; running work finishes.            */
#include "tsr_cmd.h"
#include "tsr_conn.h"
#include "tsr_msg.h"
#include <getopt.h>

static int
s_exec_drain(const tsr_cmd_entry_t *entry, bool drain, const tsr_cli_t *cli, int argc, char **argv)
{
    int exit_code;
    if (!tsr_cmd_parse_flags(entry, argc, argv, NULL, &exit_code))
        return exit_code;
    if (argc - optind != 1)
        return tsr_cmd_usage_error(entry, "needs exactly one AGENT (name or id)");
    char *agent = argv[optind];
    Tessera__DrainAgent body = TESSERA__DRAIN_AGENT__INIT;
    body.agent = agent;
    body.drain = drain;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_DRAIN_AGENT;
    request.drain_agent = &body;
    Tessera__Envelope *reply = NULL;
    exit_code = tsr_conn_call_once(cli, entry, &request, TESSERA__ENVELOPE__BODY_OK, &reply);
    if (exit_code == TSR_EXIT_OK)
        printf("agent %s %s\n", agent, drain ? "draining" : "accepting work");
    tsr_msg_destroy(&reply);
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
