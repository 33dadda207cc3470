/*  cmd_keygen - `tessera keygen PATH`: a CURVE key pair as czmq certificates */
#include "tsr_cmd.h"
#include "tsr_keys.h"
#include <getopt.h>
#include <string.h>

static int
s_exec(const tsr_cli_t *cli, int argc, char **argv)
{
    (void)cli;
    int exit_code;
    if (!tsr_cmd_parse_flags(&tsr_cmd_keygen_entry, argc, argv, NULL, &exit_code))
        return exit_code;
    if (argc - optind != 1)
        return tsr_cmd_usage_error(&tsr_cmd_keygen_entry, "needs exactly one PATH");
    const char *path = argv[optind];
    int rc = tsr_keys_generate(path);
    if (rc != TSR_OK) {
        fprintf(stderr, "tessera keygen: cannot write %s: %s%s\n", path, tsr_strerror(rc),
                rc == -EEXIST ? " (refusing to overwrite a key)" : "");
        return TSR_EXIT_CONFIG;
    }
    printf("%s.pub\n", path);
    return TSR_EXIT_OK;
}

const tsr_cmd_entry_t tsr_cmd_keygen_entry = {
    .name = "keygen",
    .usage = "PATH",
    .summary = "Write a new CURVE key pair: PATH (secret, mode 0600) and PATH.pub (public).",
    .help = "Prints the path of the public key. Never overwrites an existing key.\n"
            "Give PATH.pub to the coordinator's operator (allow/clients/ or allow/agents/).\n",
    .exec = s_exec,
};
