/*  cmd_status - `tessera status [RUN] [--json]`: recent runs, or one run   */
#include "tsr_cmd.h"
#include "tsr_conn.h"
#include "tsr_listing.h"
#include "tsr_msg.h"
#include "tsr_output.h"
#include "tsr_report.h"
#include "tsr_results.h"
#include <getopt.h>
#include <string.h>
#include <time.h>

static void
s_print_runs(const Tessera__StatusReply *reply)
{
    int run_width = 3;
    for (size_t index = 0; index < reply->n_runs; index++) {
        int len = (int)strlen(reply->runs[index]->run_id);
        run_width = len > run_width ? len : run_width;
    }
    printf("%-*s  %-9s  %6s  %6s  %6s  %6s  %8s  %s\n", run_width, "RUN", "STATUS", "TESTS",
           "PASSED", "FAILED", "SHARDS", "WALL", "CREATED");
    for (size_t index = 0; index < reply->n_runs; index++) {
        const Tessera__RunSummary *run = reply->runs[index];
        char wall[32], created[32] = "-";
        tsr_output_duration(run->wall_ms, wall, sizeof wall);
        if (run->created_ms) {
            time_t seconds = (time_t)(run->created_ms / 1000);
            struct tm local;
            if (localtime_r(&seconds, &local))
                strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S", &local);
        }
        printf("%-*s  %-9s  %6u  %6u  %6u  %6u  %8s  %s\n", run_width, run->run_id, run->status,
               run->total, run->passed, run->failed, run->shards, wall, created);
    }
    if (reply->n_runs == 0)
        printf("(no runs)\n");
}

static void
s_print_run(const Tessera__RunSummary *run)
{
    tsr_report_t *report = tsr_results_report(run, NULL);
    tsr_report_counts_t counts;
    tsr_report_counts(report, &counts);
    tsr_report_destroy(&report);
    char *line = tsr_output_summary_line(run, &counts);
    printf("%s\n", line);
    free(line);
    for (size_t index = 0; index < run->n_results; index++) {
        const Tessera__ShardSummary *shard = run->results[index];
        char duration[32];
        tsr_output_duration(shard->duration_ms, duration, sizeof duration);
        printf("  %-24s %-9s %8s  %u attempt%s  %s\n", shard->id,
               tsr_output_outcome(shard->outcome), duration, shard->attempts,
               shard->attempts == 1 ? " " : "s", shard->agent);
    }
}

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    bool json = false;
    int exit_code;
    if (!tsr_cmd_parse_flags(&tsr_cmd_status_entry, argc, argv, &json, &exit_code))
        return exit_code;
    if (argc - optind > 1)
        return tsr_cmd_usage_error(&tsr_cmd_status_entry, "at most one RUN");
    char *run_id = optind < argc ? argv[optind] : "";
    Tessera__StatusRequest body = TESSERA__STATUS_REQUEST__INIT;
    body.run_id = run_id;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_STATUS_REQUEST;
    request.status_request = &body;
    Tessera__Envelope *reply = NULL;
    exit_code = tsr_conn_call_once(cli, &tsr_cmd_status_entry, &request,
                                   TESSERA__ENVELOPE__BODY_STATUS_REPLY, &reply);
    if (exit_code == TSR_EXIT_OK) {
        const Tessera__StatusReply *status = reply->status_reply;
        if (run_id[0] && status->n_runs == 0) {
            fprintf(stderr, "tessera status: no run '%s'\n", run_id);
            exit_code = TSR_EXIT_CONFIG;
        } else if (run_id[0] && json) {
            tsr_report_t *report = tsr_results_report(status->runs[0], NULL);
            char *document = tsr_report_json(report);
            fputs(document, stdout);
            free(document);
            tsr_report_destroy(&report);
        } else if (json) {
            char *document = tsr_listing_runs_json(status->runs, status->n_runs);
            fputs(document, stdout);
            free(document);
        } else if (run_id[0])
            s_print_run(status->runs[0]);
        else
            s_print_runs(status);
    }
    tsr_msg_destroy(&reply);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_status_entry = {
    .name = "status",
    .usage = "[RUN] [--json]",
    .summary = "Show recent runs, or one run with its shards.",
    .help = "Options:\n"
            "  --json   RUN given: the run summary (as 'tessera run --json');\n"
            "           else {\"runs\":[summary...]}\n"
            "Needs --coordinator, --server-key and --key (or TESSERA_* variables).\n"
            "Exits 2 if the coordinator knows no such run.\n",
    .exec = s_exec,
};
