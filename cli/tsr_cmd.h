/*  tsr_cmd - the `tessera` command table entry and what every subcommand shares
    One file per subcommand (cmd_run.c, cmd_status.c, ...) defines one
    tsr_cmd_entry_t; main.c lists them in cmd_table[] (tmux cmd-*.c). The
    global options are parsed by main.c into a tsr_cli_t the subcommands
    borrow. Helpers here print usage and parse options and numbers. Main thread only.  */
#ifndef TSR_CMD_H
#define TSR_CMD_H

#include "tsr_common.h"
#include <stdio.h>

//  Global options of `tessera` (DESIGN "User contract"), from argv or env.
typedef struct {
    const char *coordinator; //  borrowed (argv or environ); NULL = embedded local cluster
    const char *server_key;  //  borrowed; path of the coordinator's public certificate
    const char *key;         //  borrowed; path of our secret certificate (0600)
    const char *log_file;    //  borrowed; NULL = stderr
    bool stdout_is_tty;      //  progress line (true) or plain lines (false)
} tsr_cli_t;

//  One subcommand. `exec` gets argv with argv[0] = the command name and
//  returns a tsr_exit_t code (it prints its own messages).
typedef struct {
    const char *name;    //  "run", "status", ...
    const char *usage;   //  the arguments after the name, one line
    const char *summary; //  one line for `tessera --help`
    const char *help;    //  options and notes for `tessera NAME --help`
    int (*exec)(const tsr_cli_t *cli, int argc, char **argv);
} tsr_cmd_entry_t;

extern const tsr_cmd_entry_t tsr_cmd_run_entry;
extern const tsr_cmd_entry_t tsr_cmd_status_entry;
extern const tsr_cmd_entry_t tsr_cmd_results_entry;
extern const tsr_cmd_entry_t tsr_cmd_agents_entry;
extern const tsr_cmd_entry_t tsr_cmd_drain_entry;
extern const tsr_cmd_entry_t tsr_cmd_undrain_entry;
extern const tsr_cmd_entry_t tsr_cmd_cancel_entry;
extern const tsr_cmd_entry_t tsr_cmd_keygen_entry;
extern const tsr_cmd_entry_t tsr_cmd_validate_entry;

//  Print "usage: tessera NAME USAGE", the summary and the help to `stream`.
void tsr_cmd_print_help(const tsr_cmd_entry_t *entry, FILE *stream);

//  Print "tessera NAME: MESSAGE (see 'tessera NAME --help')" on stderr;
//  returns TSR_EXIT_CONFIG so callers can `return tsr_cmd_usage_error(...)`.
int tsr_cmd_usage_error(const tsr_cmd_entry_t *entry, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  Parse the options of a subcommand whose only options are --help and, when
//  `json_out` is not NULL, --json (sets *json_out). Returns true when the
//  subcommand goes on with its operands from argv[optind]; false when it is
//  done, with *exit_out set: TSR_EXIT_OK after printing the help, or
//  TSR_EXIT_CONFIG after printing a usage error.
bool tsr_cmd_parse_flags(const tsr_cmd_entry_t *entry, int argc, char **argv, bool *json_out,
                         int *exit_out);

//  Parse a decimal integer in [0, max] (no sign, no trailing text).
//  Returns TSR_OK or TSR_EINVAL; *value_out unchanged on error.
TSR_NODISCARD int tsr_cmd_parse_uint(const char *text, uint32_t max, uint32_t *value_out);

//  Text of the option getopt_long just rejected (argv[optind - 1] or the short
//  option letter), for "unknown option" messages. Static storage.
const char *tsr_cmd_bad_option(char **argv, int optopt_value);

#endif
