/*  tsr_submit - Submit and JobSpec messages from the spec and run options  */
#include "tsr_submit.h"
#include <string.h>

//  The spec job named `name` in `jobs`, or NULL.
static const tsr_job_spec_t *
s_find(zlistx_t *jobs, const char *name)
{
    for (const tsr_job_spec_t *job = zlistx_first(jobs); job; job = zlistx_next(jobs))
        if (strcmp(job->name, name) == 0)
            return job;
    return NULL;
}

//  "a, b, c": the job names, for error messages. Caller frees.
static char *
s_names(zlistx_t *jobs)
{
    size_t size = 1;
    for (const tsr_job_spec_t *job = zlistx_first(jobs); job; job = zlistx_next(jobs))
        size += strlen(job->name) + 2;
    char *names = zmalloc(size);
    for (const tsr_job_spec_t *job = zlistx_first(jobs); job; job = zlistx_next(jobs)) {
        if (names[0])
            strcat(names, ", ");
        strcat(names, job->name);
    }
    return names;
}

//  Split "NAME=VALUE" into two owned strings ("" value when there is no '=').
static void
s_split(const char *pair, char **name_out, char **value_out)
{
    const char *equals = strchr(pair, '=');
    if (equals) {
        *name_out = strndup(pair, (size_t)(equals - pair));
        *value_out = strdup(equals + 1);
    } else {
        *name_out = strdup(pair);
        *value_out = strdup("");
    }
    assert(*name_out && *value_out);
}

//  Copy a zlistx of char * into a new NULL-free array of owned strings.
static char **
s_strings(zlistx_t *list, size_t *count_out)
{
    size_t count = list ? zlistx_size(list) : 0;
    char **array = count ? zmalloc(count * sizeof *array) : NULL;
    size_t index = 0;
    if (list)
        for (const char *item = zlistx_first(list); item; item = zlistx_next(list))
            array[index++] = strdup(item);
    *count_out = count;
    return array;
}

Tessera__JobSpec *
tsr_submit_jobspec_new(const tsr_job_spec_t *job, const tsr_run_opts_t *opts)
{
    assert(job);
    Tessera__JobSpec *jobspec = zmalloc(sizeof *jobspec);
    tessera__job_spec__init(jobspec);
    jobspec->name = strdup(job->name);
    jobspec->framework = strdup(job->framework ? job->framework : "command");
    jobspec->workdir = strdup(job->workdir ? job->workdir : "");
    jobspec->argv = s_strings(job->argv, &jobspec->n_argv);
    jobspec->needs = s_strings(job->needs, &jobspec->n_needs);

    size_t env_count = job->env ? zlistx_size(job->env) : 0;
    if (env_count) {
        jobspec->env = zmalloc(env_count * sizeof *jobspec->env);
        for (const char *pair = zlistx_first(job->env); pair; pair = zlistx_next(job->env)) {
            Tessera__EnvVar *var = zmalloc(sizeof *var);
            tessera__env_var__init(var);
            s_split(pair, &var->name, &var->value);
            jobspec->env[jobspec->n_env++] = var;
        }
    }
    size_t label_count = job->labels ? zlistx_size(job->labels) : 0;
    if (label_count) {
        jobspec->labels = zmalloc(label_count * sizeof *jobspec->labels);
        for (const char *pair = zlistx_first(job->labels); pair; pair = zlistx_next(job->labels)) {
            Tessera__Label *label = zmalloc(sizeof *label);
            tessera__label__init(label);
            s_split(pair, &label->key, &label->value);
            jobspec->labels[jobspec->n_labels++] = label;
        }
    }
    jobspec->timeout_s = job->timeout_s;
    jobspec->slow_s = job->slow_s;
    jobspec->threads = job->threads;
    jobspec->shards = job->shards;
    jobspec->retries = job->retries;
    if (opts && opts->shards_set)
        jobspec->shards = opts->shards;
    if (opts && opts->retries_set)
        jobspec->retries = opts->retries;
    if (opts && opts->timeout_set)
        jobspec->timeout_s = opts->timeout_s;
    if (opts && opts->repeat_set)
        jobspec->repeat = opts->repeat;
    if (opts && opts->slow_set)
        jobspec->slow_s = opts->slow_s;
    return jobspec;
}

void
tsr_submit_jobspec_destroy(Tessera__JobSpec **jobspec_p)
{
    assert(jobspec_p);
    Tessera__JobSpec *jobspec = *jobspec_p;
    if (!jobspec)
        return;
    free(jobspec->name);
    free(jobspec->framework);
    free(jobspec->workdir);
    for (size_t index = 0; index < jobspec->n_argv; index++)
        free(jobspec->argv[index]);
    free(jobspec->argv);
    for (size_t index = 0; index < jobspec->n_needs; index++)
        free(jobspec->needs[index]);
    free(jobspec->needs);
    for (size_t index = 0; index < jobspec->n_env; index++) {
        free(jobspec->env[index]->name);
        free(jobspec->env[index]->value);
        free(jobspec->env[index]);
    }
    free(jobspec->env);
    for (size_t index = 0; index < jobspec->n_labels; index++) {
        free(jobspec->labels[index]->key);
        free(jobspec->labels[index]->value);
        free(jobspec->labels[index]);
    }
    free(jobspec->labels);
    free(jobspec);
    *jobspec_p = NULL;
}

//  Mark `name` and everything it needs, transitively, in `selected`.
//  TSR_EINVAL with *error_out if a name is not a job.
static int
s_select(zlistx_t *jobs, const char *name, const char *needed_by, zhashx_t *selected,
         char **error_out)
{
    if (zhashx_lookup(selected, name))
        return TSR_OK;
    const tsr_job_spec_t *job = s_find(jobs, name);
    if (!job) {
        char *names = s_names(jobs);
        if (needed_by)
            *error_out = zsys_sprintf("job '%s' needs '%s', which is not a job (jobs: %s)",
                                      needed_by, name, names);
        else
            *error_out = zsys_sprintf("no job named '%s' (jobs: %s)", name, names);
        free(names);
        return TSR_EINVAL;
    }
    zhashx_insert(selected, name, (void *)job);
    if (job->needs)
        for (const char *need = zlistx_first(job->needs); need; need = zlistx_next(job->needs))
            if (s_select(jobs, need, job->name, selected, error_out) != TSR_OK)
                return TSR_EINVAL;
    return TSR_OK;
}

int
tsr_submit_build(zlistx_t *jobs, const tsr_run_opts_t *opts, const char *project,
                 const char *client_uuid, Tessera__Submit **submit_out, char **error_out)
{
    assert(jobs);
    assert(opts);
    assert(submit_out);
    assert(error_out);
    *submit_out = NULL;
    *error_out = NULL;
    if (zlistx_size(jobs) == 0) {
        *error_out = strdup("no jobs to run");
        return TSR_EINVAL;
    }
    int rc = TSR_OK;
    zhashx_t *selected = zhashx_new(); //  name -> borrowed job
    //  zlistx iteration is stateful: walk the --job names over a copy of the cursor
    size_t wanted = zlistx_size(opts->jobs);
    const char **names = wanted ? zmalloc(wanted * sizeof *names) : NULL;
    size_t index = 0;
    for (const char *name = zlistx_first(opts->jobs); name; name = zlistx_next(opts->jobs))
        names[index++] = name;
    for (index = 0; index < wanted; index++)
        if ((rc = s_select(jobs, names[index], NULL, selected, error_out)) != TSR_OK)
            goto out;

    Tessera__Submit *submit = zmalloc(sizeof *submit);
    tessera__submit__init(submit);
    submit->client_uuid = strdup(client_uuid ? client_uuid : "");
    submit->project = strdup(project ? project : "");
    submit->no_cache = opts->no_cache;
    submit->fail_on_flaky = opts->fail_on_flaky;
    submit->jobs = zmalloc(zlistx_size(jobs) * sizeof *submit->jobs);
    for (const tsr_job_spec_t *job = zlistx_first(jobs); job; job = zlistx_next(jobs))
        if (wanted == 0 || zhashx_lookup(selected, job->name))
            submit->jobs[submit->n_jobs++] = tsr_submit_jobspec_new(job, opts);
    *submit_out = submit;
out:
    free(names);
    zhashx_destroy(&selected);
    return rc;
}

void
tsr_submit_destroy(Tessera__Submit **submit_p)
{
    assert(submit_p);
    Tessera__Submit *submit = *submit_p;
    if (!submit)
        return;
    free(submit->client_uuid);
    free(submit->project);
    for (size_t index = 0; index < submit->n_jobs; index++)
        tsr_submit_jobspec_destroy(&submit->jobs[index]);
    free(submit->jobs);
    free(submit);
    *submit_p = NULL;
}
