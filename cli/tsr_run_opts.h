/*  tsr_run_opts - the options of `tessera run`, parsed with getopt_long
    Pure: no files, no sockets. cmd_run.c parses argv into this, then builds
    the Submit (tsr_submit) from the spec and these overrides. Main thread. */
#ifndef TSR_RUN_OPTS_H
#define TSR_RUN_OPTS_H

#include "tsr_common.h"

typedef struct {
    const char *dir;        //  borrowed; -C DIR, the workspace root; "." by default
    const char *config;     //  borrowed; --config FILE; NULL = DIR/tessera.yml
    zlistx_t *jobs;         //  owned list of borrowed char *: --job NAME, in order
    bool shards_set;        //  --shards given
    uint32_t shards;        //  0 = auto
    bool retries_set;       //  --retries given
    uint32_t retries;       //  re-runs of failed shards
    bool repeat_set;        //  --repeat given
    uint32_t repeat;        //  runs of every selected test (flaky hunting); >= 1
    bool fail_on_flaky;     //  --fail-on-flaky: a flaky test fails the run
    bool slow_set;          //  --slow given
    uint32_t slow_s;        //  report tests slower than this many seconds; 0 = off
    bool timeout_set;       //  --timeout given
    uint32_t timeout_s;     //  seconds, whole shard; 0 = none
    bool no_cache;          //  --no-cache
    bool local_agents_set;  //  --local-agents given
    uint32_t local_agents;  //  embedded agents; 1 by default
    const char *junit_path; //  borrowed; --junit FILE or NULL
    const char *json_path;  //  borrowed; --json FILE or NULL
    const char *trace_path; //  borrowed; --trace FILE or NULL
    int command_argc;       //  words after `--`; 0 = use tessera.yml
    char **command_argv;    //  borrowed from argv
    bool help;              //  --help / -h
} tsr_run_opts_t;

//  Most shards / local agents / retries / repeats accepted on the command line.
#define TSR_RUN_MAX_SHARDS 10000
#define TSR_RUN_MAX_LOCAL_AGENTS 256
#define TSR_RUN_MAX_RETRIES 100
#define TSR_RUN_MAX_REPEAT 1000

void tsr_run_opts_init(tsr_run_opts_t *opts);
void tsr_run_opts_clear(tsr_run_opts_t *opts);

//  Parse `run` arguments: argv[0] is "run"; options stop at the first
//  non-option word, which must be `--` followed by the command. Resets
//  getopt's state. Returns TSR_OK, or TSR_EINVAL with *error_out (caller
//  frees) saying what was wrong ("unknown option '--shrads'").
TSR_NODISCARD int tsr_run_opts_parse(tsr_run_opts_t *opts, int argc, char **argv, char **error_out);

#endif
