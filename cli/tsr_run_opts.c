/*  tsr_run_opts - getopt_long parsing of `tessera run`                    */
#include "tsr_run_opts.h"
#include "tsr_cmd.h"
#include <getopt.h>
#include <string.h>

void
tsr_run_opts_init(tsr_run_opts_t *opts)
{
    assert(opts);
    memset(opts, 0, sizeof *opts);
    opts->dir = ".";
    opts->local_agents = 1;
    opts->repeat = 1;
    opts->jobs = zlistx_new();
}

void
tsr_run_opts_clear(tsr_run_opts_t *opts)
{
    assert(opts);
    zlistx_destroy(&opts->jobs);
}

enum {
    S_OPT_CONFIG = 256,
    S_OPT_JOB,
    S_OPT_SHARDS,
    S_OPT_RETRIES,
    S_OPT_TIMEOUT,
    S_OPT_REPEAT,
    S_OPT_FAIL_ON_FLAKY,
    S_OPT_SLOW,
    S_OPT_NO_CACHE,
    S_OPT_LOCAL_AGENTS,
    S_OPT_JUNIT,
    S_OPT_JSON,
    S_OPT_TRACE,
};

static const struct option s_options[] = {
    {"config", required_argument, NULL, S_OPT_CONFIG},
    {"job", required_argument, NULL, S_OPT_JOB},
    {"shards", required_argument, NULL, S_OPT_SHARDS},
    {"retries", required_argument, NULL, S_OPT_RETRIES},
    {"timeout", required_argument, NULL, S_OPT_TIMEOUT},
    {"repeat", required_argument, NULL, S_OPT_REPEAT},
    {"fail-on-flaky", no_argument, NULL, S_OPT_FAIL_ON_FLAKY},
    {"slow", required_argument, NULL, S_OPT_SLOW},
    {"no-cache", no_argument, NULL, S_OPT_NO_CACHE},
    {"local-agents", required_argument, NULL, S_OPT_LOCAL_AGENTS},
    {"junit", required_argument, NULL, S_OPT_JUNIT},
    {"json", required_argument, NULL, S_OPT_JSON},
    {"trace", required_argument, NULL, S_OPT_TRACE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

//  A number option: value in [min, max] into *value_out.
static int
s_number(const char *option, const char *text, uint32_t min, uint32_t max, uint32_t *value_out,
         char **error_out)
{
    uint32_t value = 0;
    if (tsr_cmd_parse_uint(text, max, &value) != TSR_OK || value < min) {
        *error_out = zsys_sprintf("%s needs a number from %u to %u, not '%s'", option,
                                  (unsigned)min, (unsigned)max, text);
        return TSR_EINVAL;
    }
    *value_out = value;
    return TSR_OK;
}

//  Apply one parsed option. Returns TSR_OK or TSR_EINVAL with *error_out.
static int
s_apply(tsr_run_opts_t *opts, int option, const char *value, char **error_out)
{
    switch (option) {
    case 'C':
        opts->dir = value;
        return TSR_OK;
    case 'h':
        opts->help = true;
        return TSR_OK;
    case S_OPT_CONFIG:
        opts->config = value;
        return TSR_OK;
    case S_OPT_JOB:
        zlistx_add_end(opts->jobs, (void *)value);
        return TSR_OK;
    case S_OPT_SHARDS:
        opts->shards_set = true;
        if (strcmp(value, "auto") == 0) {
            opts->shards = 0;
            return TSR_OK;
        }
        return s_number("--shards", value, 1, TSR_RUN_MAX_SHARDS, &opts->shards, error_out);
    case S_OPT_RETRIES:
        opts->retries_set = true;
        return s_number("--retries", value, 0, TSR_RUN_MAX_RETRIES, &opts->retries, error_out);
    case S_OPT_TIMEOUT:
        opts->timeout_set = true;
        return s_number("--timeout", value, 0, 7 * 24 * 3600, &opts->timeout_s, error_out);
    case S_OPT_REPEAT:
        opts->repeat_set = true;
        return s_number("--repeat", value, 1, TSR_RUN_MAX_REPEAT, &opts->repeat, error_out);
    case S_OPT_FAIL_ON_FLAKY:
        opts->fail_on_flaky = true;
        return TSR_OK;
    case S_OPT_SLOW:
        opts->slow_set = true;
        return s_number("--slow", value, 0, 7 * 24 * 3600, &opts->slow_s, error_out);
    case S_OPT_NO_CACHE:
        opts->no_cache = true;
        return TSR_OK;
    case S_OPT_LOCAL_AGENTS:
        opts->local_agents_set = true;
        return s_number("--local-agents", value, 1, TSR_RUN_MAX_LOCAL_AGENTS, &opts->local_agents,
                        error_out);
    case S_OPT_JUNIT:
        opts->junit_path = value;
        return TSR_OK;
    case S_OPT_JSON:
        opts->json_path = value;
        return TSR_OK;
    case S_OPT_TRACE:
        opts->trace_path = value;
        return TSR_OK;
    default:
        *error_out = zsys_sprintf("unhandled option %d", option);
        return TSR_EINVAL;
    }
}

int
tsr_run_opts_parse(tsr_run_opts_t *opts, int argc, char **argv, char **error_out)
{
    assert(opts);
    assert(error_out);
    *error_out = NULL;
    optind = 0; //  glibc: full re-initialisation (tests parse many times)
    opterr = 0; //  our messages, not getopt's
    //  '+': stop at the first non-option, so the command after `--` is never
    //  permuted; ':': report a missing value as ':'
    int option;
    while ((option = getopt_long(argc, argv, "+:C:h", s_options, NULL)) != -1) {
        if (option == '?') {
            *error_out = zsys_sprintf("unknown option '%s'", tsr_cmd_bad_option(argv, optopt));
            return TSR_EINVAL;
        }
        if (option == ':') {
            *error_out =
                zsys_sprintf("option '%s' needs a value", tsr_cmd_bad_option(argv, optopt));
            return TSR_EINVAL;
        }
        if (s_apply(opts, option, optarg, error_out) != TSR_OK)
            return TSR_EINVAL;
    }
    bool dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
    if (optind == argc && dashdash) {
        *error_out = zsys_sprintf("no command after '--'");
        return TSR_EINVAL;
    }
    if (optind < argc) {
        if (!dashdash) {
            *error_out =
                zsys_sprintf("unexpected argument '%s' (put the command after '--')", argv[optind]);
            return TSR_EINVAL;
        }
        opts->command_argc = argc - optind;
        opts->command_argv = argv + optind;
    }
    return TSR_OK;
}
