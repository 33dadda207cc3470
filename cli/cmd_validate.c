/*  cmd_validate - `tessera validate [FILE]`: check a tessera.yml            */
#include "tsr_cmd.h"
#include "tsr_spec.h"
#include <getopt.h>

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
    }
    free(error);
    tsr_spec_destroy(&spec);
    return exit_code;
}

const tsr_cmd_entry_t tsr_cmd_validate_entry = {
    .name = "validate",
    .usage = "[FILE]",
    .summary = "Check a tessera.yml (default: ./tessera.yml) without running anything.",
    .help = "Prints 'FILE: ok (N jobs)', or the first error as FILE:LINE:COL: message and\n"
            "exits with 2.\n",
    .exec = s_exec,
};
