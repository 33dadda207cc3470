/*  cmd_cancel - `tessera cancel RUN`: stop a run; running shards are killed */
#include "tsr_cmd.h"
#include "tsr_conn.h"
#include "tsr_msg.h"
#include <getopt.h>

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    int exit_code;
    if (!tsr_cmd_parse_flags(&tsr_cmd_cancel_entry, argc, argv, NULL, &exit_code))
        return exit_code;
    if (argc - optind != 1)
        return tsr_cmd_usage_error(&tsr_cmd_cancel_entry, "needs exactly one RUN id");
    char *run_id = argv[optind];
    Tessera__CancelRun body = TESSERA__CANCEL_RUN__INIT;
    body.run_id = run_id;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_CANCEL_RUN;
    request.cancel_run = &body;
    Tessera__Envelope *reply = NULL;
    exit_code = tsr_conn_call_once(cli, &tsr_cmd_cancel_entry, &request, TESSERA__ENVELOPE__BODY_OK,
                                   &reply);
    if (exit_code == TSR_EXIT_OK)
        printf("run %s cancelled\n", run_id);
    tsr_msg_destroy(&reply);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_cancel_entry = {
    .name = "cancel",
    .usage = "RUN",
    .summary = "Cancel a run: queued shards are dropped, running ones are killed.",
    .help = "Exits 2 if the coordinator knows no such run.\n",
    .exec = s_exec,
};
