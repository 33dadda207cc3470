/*  tsr_spec - `tessera.yml` job specifications (libyaml)
    A project with jobs; each job a command (list or string: a string runs via
    `sh -c`, and its framework is detected only when it is one plain command
    line without shell syntax), framework, env, timeout, slow, threads,
    labels, needs, shards, retries, workdir. Errors name file, line and column
    (`tessera.yml:12:5: unknown key 'shrads'`); `needs` must name existing
    jobs without cycles.

        project: demo
        ignore: [build/, "*.o"]
        jobs:
          unit:
            command: python3 -m pytest tests
            framework: pytest        # default: detected from the command
            env: {PYTHONHASHSEED: "0"}
            timeout: 600             # seconds: per test (a test job), or whole shard
            slow: 5                  # seconds: list tests slower than this (0 = off)
            threads: 1
            labels: {os: linux}
            needs: [build]
            shards: auto             # or a number
            retries: 1
            workdir: sub/dir                                                 */
#ifndef TSR_SPEC_H
#define TSR_SPEC_H

#include "tsr_common.h"

typedef struct {
    char *name;         //  owned
    char *framework;    //  owned; "command", "pytest", "cargo", "npm"; default detected
    zlistx_t *argv;     //  owned, of char *
    zlistx_t *env;      //  owned, of char * "NAME=VALUE", in file order
    uint32_t timeout_s; //  0 = none; per test for a test job, else per shard
    uint32_t slow_s;    //  tests slower than this are listed as slow; 0 = off
    uint32_t threads;   //  >= 1
    zlistx_t *labels;   //  owned, of char * "key=value"
    zlistx_t *needs;    //  owned, of char * job names
    uint32_t shards;    //  0 = auto; default auto for a test framework, 1 for "command"
    uint32_t retries;   //  extra attempts of a failed shard
    char *workdir;      //  owned; "" = workspace root
} tsr_job_spec_t;

typedef struct _tsr_spec_t tsr_spec_t;

tsr_spec_t *tsr_spec_new(void);
void tsr_spec_destroy(tsr_spec_t **self_p);

//  Parse a YAML file. Returns TSR_OK, or TSR_ECONFIG with *error_out (caller
//  frees) "PATH:LINE:COL: message", or -errno (error_out set too).
TSR_NODISCARD int tsr_spec_load(tsr_spec_t *self, const char *path, char **error_out);

//  Parse YAML text; `name` is used in error messages in place of a path.
//  Both loads replace the spec's project, ignore list and jobs, and only
//  when the whole text is valid.
TSR_NODISCARD int tsr_spec_parse(tsr_spec_t *self, const char *name, const char *text, size_t size,
                                 char **error_out);

//  Add one job made from a command line (`tessera run -- CMD`): framework
//  detected from argv. The job is named "default" unless `name` is given.
//  Returns TSR_OK or TSR_EINVAL (empty argv, a bad or already used name).
TSR_NODISCARD int tsr_spec_add_command(tsr_spec_t *self, const char *name, int argc,
                                       char *const *argv);

const char *tsr_spec_project(tsr_spec_t *self); //  NULL if not set
//  Ignore patterns (zlistx of char *, borrowed).
zlistx_t *tsr_spec_ignore(tsr_spec_t *self);
//  Jobs in file order (zlistx of tsr_job_spec_t *, borrowed).
zlistx_t *tsr_spec_jobs(tsr_spec_t *self);
tsr_job_spec_t *tsr_spec_job(tsr_spec_t *self, const char *name); //  NULL if absent

//  "pytest" for `pytest ...`, `python3 -m pytest`, `py.test`; "cargo" for
//  `cargo test`; "npm" for `npm test`, `npx jest|mocha|vitest`, `node --test`;
//  else "command". Static string.
const char *tsr_spec_detect_framework(int argc, char *const *argv);

#endif
