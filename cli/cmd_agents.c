/*  cmd_agents - `tessera agents [--json]`: the coordinator's agents        */
#include "tsr_cmd.h"
#include "tsr_conn.h"
#include "tsr_msg.h"
#include "tsr_listing.h"
#include <getopt.h>
#include <string.h>

//  "k=v,k=v" of an agent's labels. Caller frees.
static char *
s_labels(const Tessera__AgentInfo *agent)
{
    char *text = strdup("");
    for (size_t index = 0; index < agent->n_labels; index++) {
        char *longer = zsys_sprintf("%s%s%s=%s", text, index ? "," : "", agent->labels[index]->key,
                                    agent->labels[index]->value);
        free(text);
        text = longer;
    }
    return text;
}

static void
s_print_table(const Tessera__AgentsReply *reply)
{
    int name_width = 4, id_width = 2;
    for (size_t index = 0; index < reply->n_agents; index++) {
        int name_len = (int)strlen(reply->agents[index]->name);
        int id_len = (int)strlen(reply->agents[index]->id);
        name_width = name_len > name_width ? name_len : name_width;
        id_width = id_len > id_width ? id_len : id_width;
    }
    printf("%-*s  %-*s  %5s  %4s  %7s  %8s  %s\n", name_width, "NAME", id_width, "ID", "SLOTS",
           "FREE", "RUNNING", "DRAINING", "LABELS");
    for (size_t index = 0; index < reply->n_agents; index++) {
        const Tessera__AgentInfo *agent = reply->agents[index];
        char *labels = s_labels(agent);
        printf("%-*s  %-*s  %5u  %4u  %7u  %8s  %s\n", name_width, agent->name, id_width, agent->id,
               agent->slots, agent->free_slots, agent->running, agent->draining ? "yes" : "no",
               labels);
        free(labels);
    }
    if (reply->n_agents == 0)
        printf("(no agents connected)\n");
}

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    bool json = false;
    int exit_code;
    if (!tsr_cmd_parse_flags(&tsr_cmd_agents_entry, argc, argv, &json, &exit_code))
        return exit_code;
    if (optind < argc)
        return tsr_cmd_usage_error(&tsr_cmd_agents_entry, "unexpected argument '%s'", argv[optind]);
    Tessera__AgentsRequest body = TESSERA__AGENTS_REQUEST__INIT;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_AGENTS_REQUEST;
    request.agents_request = &body;
    Tessera__Envelope *reply = NULL;
    exit_code = tsr_conn_call_once(cli, &tsr_cmd_agents_entry, &request,
                                   TESSERA__ENVELOPE__BODY_AGENTS_REPLY, &reply);
    if (exit_code == TSR_EXIT_OK) {
        if (json) {
            char *document =
                tsr_listing_agents_json(reply->agents_reply->agents, reply->agents_reply->n_agents);
            fputs(document, stdout);
            free(document);
        } else
            s_print_table(reply->agents_reply);
    }
    tsr_msg_destroy(&reply);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_agents_entry = {
    .name = "agents",
    .usage = "[--json]",
    .summary = "List the agents connected to the coordinator.",
    .help = "Options:\n"
            "  --json   print {\"agents\":[{\"id\",\"name\",\"version\",\"cpus\",\"slots\",\n"
            "           \"free_slots\",\"labels\",\"draining\",\"running\"}]}\n"
            "Needs --coordinator, --server-key and --key (or TESSERA_* variables).\n",
    .exec = s_exec,
};
