/*  cmd_results - `tessera results RUN [--junit FILE] [--json FILE]`
    Fetches a run's summary with every test and its tries (StatusRequest
    {run_id} -> StatusReply) and ends as `tessera run` does (tsr_recap):
    failed, flaky and slow tests, the summary line, the report files, and
    the run's exit code. Needs a remote coordinator.                        */
#include "tsr_cmd.h"
#include "tsr_conn.h"
#include "tsr_msg.h"
#include "tsr_recap.h"
#include <getopt.h>
#include <string.h>

enum {
    S_OPT_JUNIT = 256,
    S_OPT_JSON,
    S_OPT_SLOW,
};

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"junit", required_argument, NULL, S_OPT_JUNIT},
        {"json", required_argument, NULL, S_OPT_JSON},
        {"slow", required_argument, NULL, S_OPT_SLOW},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tsr_recap_opts_t recap = {.command = "results"};
    optind = 0;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'h':
            tsr_cmd_print_help(&tsr_cmd_results_entry, stdout);
            return TSR_EXIT_OK;
        case S_OPT_JUNIT:
            recap.junit_path = optarg;
            break;
        case S_OPT_JSON:
            recap.json_path = optarg;
            break;
        case S_OPT_SLOW:
            if (tsr_cmd_parse_uint(optarg, 7 * 24 * 3600, &recap.slow_s) != TSR_OK)
                return tsr_cmd_usage_error(&tsr_cmd_results_entry,
                                           "--slow needs a number of seconds, not '%s'", optarg);
            break;
        case ':':
            return tsr_cmd_usage_error(&tsr_cmd_results_entry, "option '%s' needs a value",
                                       tsr_cmd_bad_option(argv, optopt));
        default:
            return tsr_cmd_usage_error(&tsr_cmd_results_entry, "unknown option '%s'",
                                       tsr_cmd_bad_option(argv, optopt));
        }
    }
    if (argc - optind != 1)
        return tsr_cmd_usage_error(&tsr_cmd_results_entry, "give one RUN");
    const char *run_id = argv[optind];
    if (!run_id[0])
        return tsr_cmd_usage_error(&tsr_cmd_results_entry, "RUN is empty");
    Tessera__StatusRequest body = TESSERA__STATUS_REQUEST__INIT;
    body.run_id = (char *)run_id;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_STATUS_REQUEST;
    request.status_request = &body;
    Tessera__Envelope *reply = NULL;
    int exit_code = tsr_conn_call_once(cli, &tsr_cmd_results_entry, &request,
                                       TESSERA__ENVELOPE__BODY_STATUS_REPLY, &reply);
    if (exit_code == TSR_EXIT_OK) {
        const Tessera__StatusReply *status = reply->status_reply;
        if (status->n_runs == 0 || !status->runs[0]->run_id ||
            strcmp(status->runs[0]->run_id, run_id) != 0) {
            fprintf(stderr, "tessera results: no run '%s'\n", run_id);
            exit_code = TSR_EXIT_CONFIG;
        } else
            exit_code = tsr_recap_finish(&recap, status->runs[0], NULL, stdout);
    }
    tsr_msg_destroy(&reply);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_results_entry = {
    .name = "results",
    .usage = "RUN [--junit FILE] [--json FILE] [--slow SECONDS]",
    .summary = "Show a finished run's results again and write its reports.",
    .help = "Prints what 'tessera run' printed at the end of run RUN: the first failed tests\n"
            "with their messages, the flaky tests, the slow ones (--slow) and the summary line,\n"
            "and writes the same files.\n"
            "\n"
            "Options:\n"
            "  --junit FILE      write JUnit XML (as 'tessera run --junit')\n"
            "  --json FILE       write the JSON summary (as 'tessera run --json')\n"
            "  --slow SECONDS    list the tests that took longer than this (0 = off)\n"
            "\n"
            "Needs --coordinator, --server-key and --key (or TESSERA_* variables).\n"
            "Exit status: the run's (0 passed, 1 failed, cancelled or not finished,\n"
            "3 infrastructure error); 2 if the coordinator knows no such run.\n",
    .exec = s_exec,
};
