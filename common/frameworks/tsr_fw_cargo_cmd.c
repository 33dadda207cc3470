/*  tsr_fw_cargo_cmd - the user's `cargo test` command line, taken apart
    Which arguments are cargo's, which go to the test binaries, which are
    test-name filters, and which we replace (target and package choice for
    doctests, libtest's output format). Pure; any thread.                   */
#include "tsr_fw_cargo.h"
#include "tsr_fw_io.h"
#include <stdlib.h>
#include <string.h>

//  cargo test options that take a value as the next argument
static const char *const s_cargo_value_options[] = {
    "-p",        "--package",        "--exclude", "--bin",        "--test",
    "--example", "--bench",          "-F",        "--features",   "-j",
    "--jobs",    "--profile",        "--target",  "--target-dir", "--manifest-path",
    "--color",   "--message-format", "--config",  "-Z",           "--lockfile-path",
    NULL};

//  Options choosing targets: a command with one runs no doctests
static const char *const s_target_options[] = {
    "--lib",     "--bin",     "--bins",     "--test",        "--tests", "--bench",
    "--benches", "--example", "--examples", "--all-targets", "--doc",   NULL};

//  Options choosing packages: `cargo test --doc -p PKG` replaces them
static const char *const s_package_options[] = {"-p",    "--package", "--workspace",
                                                "--all", "--exclude", NULL};

//  libtest options that take a value as the next argument
static const char *const s_test_value_options[] = {
    "--test-threads", "--skip", "--format", "--logfile", "--color", "-Z", "--shuffle-seed", NULL};

//  libtest options we set ourselves (their values too)
static const char *const s_test_owned_options[] = {"--format", "-Z",      "--list",
                                                   "-q",       "--quiet", NULL};

//  `arg` is one of `names`, as is or as "name=value"
static bool
s_option_in(const char *arg, const char *const *names)
{
    for (size_t index = 0; names[index]; index++) {
        size_t length = strlen(names[index]);
        if (strncmp(arg, names[index], length) == 0 &&
            (arg[length] == '\0' || (arg[length] == '=' && names[index][1] == '-')))
            return true;
    }
    return false;
}

//  `arg` is one of `names` exactly (its value follows as the next argument)
static bool
s_option_takes_next(const char *arg, const char *const *names)
{
    for (size_t index = 0; names[index]; index++)
        if (streq(arg, names[index]))
            return true;
    return false;
}

void
tsr_fw_cargo_cmd_destroy(tsr_fw_cargo_cmd_t **self_p)
{
    assert(self_p);
    tsr_fw_cargo_cmd_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy(&self->prefix);
    zlistx_destroy(&self->cargo_args);
    zlistx_destroy(&self->test_args);
    zlistx_destroy(&self->filters);
    free(self->manifest_path);
    free(self);
    *self_p = NULL;
}

int
tsr_fw_cargo_cmd_parse(const char *const *argv, tsr_fw_cargo_cmd_t **cmd_out)
{
    assert(cmd_out);
    *cmd_out = NULL;
    if (!argv || !argv[0])
        return TSR_EINVAL;
    //  Find the subcommand past cargo's global options (+toolchain, --config X)
    size_t index = 1;
    while (argv[index] && !streq(argv[index], "test") && !streq(argv[index], "t")) {
        if (s_option_takes_next(argv[index],
                                (const char *const[]){"--config", "-Z", "--color", "-C", NULL}))
            index++;
        else if (argv[index][0] != '-' && argv[index][0] != '+')
            return TSR_EINVAL; //  another subcommand
        if (argv[index])
            index++;
    }
    if (!argv[index])
        return TSR_EINVAL;
    tsr_fw_cargo_cmd_t *self = (tsr_fw_cargo_cmd_t *)zmalloc(sizeof *self);
    self->prefix = tsr_fw_strlist_new();
    self->cargo_args = tsr_fw_strlist_new();
    self->test_args = tsr_fw_strlist_new();
    self->filters = tsr_fw_strlist_new();
    for (size_t prefix = 0; prefix < index; prefix++)
        zlistx_add_end(self->prefix, (void *)argv[prefix]);
    bool selects_targets = false;
    for (index++; argv[index] && !streq(argv[index], "--"); index++) {
        const char *arg = argv[index];
        if (arg[0] != '-') {
            zlistx_add_end(self->filters, (void *)arg); //  TESTNAME
            continue;
        }
        if (s_option_in(arg, s_target_options))
            selects_targets = true;
        if (streq(arg, "--doc"))
            self->doc_only = true;
        zlistx_add_end(self->cargo_args, (void *)arg);
        const char *value = NULL;
        if (s_option_takes_next(arg, s_cargo_value_options) && argv[index + 1]) {
            value = argv[++index];
            zlistx_add_end(self->cargo_args, (void *)value);
        } else if (strncmp(arg, "--manifest-path=", 16) == 0)
            value = arg + 16;
        if (value && strncmp(arg, "--manifest-path", 15) == 0) {
            free(self->manifest_path);
            self->manifest_path = strdup(value);
        }
    }
    if (argv[index]) //  "--": the test binaries' arguments
        for (index++; argv[index]; index++) {
            const char *arg = argv[index];
            if (arg[0] != '-')
                zlistx_add_end(self->filters, (void *)arg);
            else {
                zlistx_add_end(self->test_args, (void *)arg);
                if (s_option_takes_next(arg, s_test_value_options) && argv[index + 1])
                    zlistx_add_end(self->test_args, (void *)argv[++index]);
            }
        }
    self->doctests = self->doc_only || !selects_targets;
    *cmd_out = self;
    return TSR_OK;
}

void
tsr_fw_cargo_cmd_add_test_args(const tsr_fw_cargo_cmd_t *self, zlistx_t *argv, unsigned drop)
{
    bool skip_value = false;
    for (const char *arg = (const char *)zlistx_first(self->test_args); arg;
         arg = (const char *)zlistx_next(self->test_args)) {
        if (skip_value) {
            skip_value = false;
            continue;
        }
        if (s_option_in(arg, s_test_owned_options) ||
            ((drop & TSR_FW_CARGO_DROP_EXACT) && streq(arg, "--exact")) ||
            ((drop & TSR_FW_CARGO_DROP_THREADS) &&
             s_option_in(arg, (const char *const[]){"--test-threads", NULL}))) {
            skip_value = s_option_takes_next(arg, s_test_value_options);
            continue;
        }
        zlistx_add_end(argv, (void *)arg);
    }
}

void
tsr_fw_cargo_cmd_add_doc_args(const tsr_fw_cargo_cmd_t *self, zlistx_t *argv)
{
    bool skip_value = false;
    for (const char *arg = (const char *)zlistx_first(self->cargo_args); arg;
         arg = (const char *)zlistx_next(self->cargo_args)) {
        if (skip_value) {
            skip_value = false;
            continue;
        }
        if (s_option_in(arg, s_target_options) || s_option_in(arg, s_package_options)) {
            skip_value = s_option_takes_next(arg, s_cargo_value_options);
            continue;
        }
        zlistx_add_end(argv, (void *)arg);
    }
}
