/*  cmd_validate - `tessera validate [FILE]`: check a tessera.yml            */
#include "tsr_cmd.h"
#include "tsr_spec.h"
#include <getopt.h>
#include <string.h>

//  One line per job: what it runs and the limits it gets
static void
s_print_job(const tsr_job_spec_t *job, FILE *out)
{
    const char *framework = job->framework ? job->framework : "command";
    bool tests = strcmp(framework, "command") != 0;
    fprintf(out, "  %s: %s", job->name, framework);
    if (job->shards)
        fprintf(out, ", %u shard%s", (unsigned)job->shards, job->shards == 1 ? "" : "s");
    else
        fprintf(out, ", shards auto");
    if (job->retries)
        fprintf(out, ", retries %u", (unsigned)job->retries);
    if (job->timeout_s)
        fprintf(out, ", timeout %us per %s", (unsigned)job->timeout_s, tests ? "test" : "shard");
    else
        fprintf(out, ", no timeout");
    if (job->slow_s)
        fprintf(out, ", slow over %us", (unsigned)job->slow_s);
    fprintf(out, "\n");
}

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    (void)cli;
    int exit_code;
    if (!tsr_cmd_parse_flags(&tsr_cmd_validate_entry, argc, argv, NULL, &exit_code))
        return exit_code;
    if (argc - optind > 1)
        return tsr_cmd_usage_error(&tsr_cmd_validate_entry, "at most one FILE");
    const char *path = optind < argc ? argv[optind] : "tessera.yml";
    tsr_spec_t *spec = tsr_spec_new();
    char *error = NULL;
    int rc = tsr_spec_load(spec, path, &error);
    exit_code = TSR_EXIT_OK;
    if (rc != TSR_OK) {
        fprintf(stderr, "%s\n", error ? error : tsr_strerror(rc));
        exit_code = TSR_EXIT_CONFIG;
    } else {
        size_t jobs = zlistx_size(tsr_spec_jobs(spec));
        printf("%s: ok (%zu job%s)\n", path, jobs, jobs == 1 ? "" : "s");
        zlistx_t *list = tsr_spec_jobs(spec);
        for (const tsr_job_spec_t *job = zlistx_first(list); job; job = zlistx_next(list))
            s_print_job(job, stdout);
    }
    free(error);
    tsr_spec_destroy(&spec);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_validate_entry = {
    .name = "validate",
    .usage = "[FILE]",
    .summary = "Check a tessera.yml (default: ./tessera.yml) without running anything.",
    .help = "Prints 'FILE: ok (N jobs)' and a line per job (framework, shards, retries,\n"
            "timeout: per test for a test job, per shard for a command; slow: the threshold\n"
            "above which its tests are listed as slow), or the first error as\n"
            "FILE:LINE:COL: message and exits with 2.\n",
    .exec = s_exec,
};
