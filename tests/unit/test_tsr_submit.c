/*  Unit tests for tsr_submit: spec jobs + run options -> Submit/JobSpec.  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_submit.h"

static void
s_free_word(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static void *
s_copy_word(const void *item)
{
    return strdup(item);
}

//  A list of words, owned by the list.
static zlistx_t *
s_words(const char *first, ...)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_destructor(list, s_free_word);
    zlistx_set_duplicator(list, s_copy_word);
    va_list args;
    va_start(args, first);
    for (const char *word = first; word; word = va_arg(args, const char *))
        zlistx_add_end(list, (void *)word);
    va_end(args);
    return list;
}

static tsr_job_spec_t *
s_job(const char *name, zlistx_t *needs)
{
    tsr_job_spec_t *job = zmalloc(sizeof *job);
    job->name = strdup(name);
    job->framework = strdup("command");
    job->argv = s_words("sh", "-c", "exit 0", NULL);
    job->env = s_words("A=1", "B=x=y", "EMPTY", NULL);
    job->labels = s_words("os=linux", NULL);
    job->needs = needs ? needs : s_words(NULL);
    job->timeout_s = 600;
    job->slow_s = 4;
    job->threads = 2;
    job->shards = 3;
    job->retries = 1;
    job->workdir = strdup("sub");
    return job;
}

static void
s_job_destroy(void **item_p)
{
    tsr_job_spec_t *job = *item_p;
    free(job->name);
    free(job->framework);
    free(job->workdir);
    zlistx_destroy(&job->argv);
    zlistx_destroy(&job->env);
    zlistx_destroy(&job->labels);
    zlistx_destroy(&job->needs);
    free(job);
    *item_p = NULL;
}

//  build <- test <- deploy; lint alone
static zlistx_t *
s_jobs(void)
{
    zlistx_t *jobs = zlistx_new();
    zlistx_set_destructor(jobs, s_job_destroy);
    zlistx_add_end(jobs, s_job("build", NULL));
    zlistx_add_end(jobs, s_job("lint", NULL));
    zlistx_add_end(jobs, s_job("test", s_words("build", NULL)));
    zlistx_add_end(jobs, s_job("deploy", s_words("test", NULL)));
    return jobs;
}

static void
test_submit_jobspec_copies_the_job(void **state)
{
    (void)state;
    zlistx_t *jobs = s_jobs();
    Tessera__JobSpec *spec = tsr_submit_jobspec_new(zlistx_first(jobs), NULL);
    assert_string_equal(spec->name, "build");
    assert_string_equal(spec->framework, "command");
    assert_int_equal(spec->n_argv, 3);
    assert_string_equal(spec->argv[2], "exit 0");
    assert_int_equal(spec->n_env, 3);
    assert_string_equal(spec->env[0]->name, "A");
    assert_string_equal(spec->env[0]->value, "1");
    assert_string_equal(spec->env[1]->name, "B");
    assert_string_equal(spec->env[1]->value, "x=y"); //  split at the first '='
    assert_string_equal(spec->env[2]->name, "EMPTY");
    assert_string_equal(spec->env[2]->value, "");
    assert_int_equal(spec->n_labels, 1);
    assert_string_equal(spec->labels[0]->key, "os");
    assert_string_equal(spec->labels[0]->value, "linux");
    assert_int_equal(spec->timeout_s, 600);
    assert_int_equal(spec->slow_s, 4);
    assert_int_equal(spec->threads, 2);
    assert_int_equal(spec->shards, 3);
    assert_int_equal(spec->retries, 1);
    assert_string_equal(spec->workdir, "sub");
    tsr_submit_jobspec_destroy(&spec);
    assert_null(spec);
    zlistx_destroy(&jobs);
}

static void
test_submit_options_override_the_spec(void **state)
{
    (void)state;
    zlistx_t *jobs = s_jobs();
    tsr_run_opts_t opts;
    tsr_run_opts_init(&opts);
    opts.shards_set = true;
    opts.shards = 0; //  auto
    opts.retries_set = true;
    opts.retries = 0;
    opts.timeout_set = true;
    opts.timeout_s = 5;
    opts.no_cache = true;
    Tessera__Submit *submit = NULL;
    char *error = NULL;
    assert_int_equal(tsr_submit_build(jobs, &opts, "demo", "uuid-1", &submit, &error), TSR_OK);
    assert_null(error);
    assert_string_equal(submit->project, "demo");
    assert_string_equal(submit->client_uuid, "uuid-1");
    assert_true(submit->no_cache);
    assert_null(submit->workspace);
    assert_int_equal(submit->n_jobs, 4);
    for (size_t index = 0; index < submit->n_jobs; index++) {
        assert_int_equal(submit->jobs[index]->shards, 0);
        assert_int_equal(submit->jobs[index]->retries, 0);
        assert_int_equal(submit->jobs[index]->timeout_s, 5);
        assert_int_equal(submit->jobs[index]->threads, 2); //  not overridable
    }
    tsr_submit_destroy(&submit);
    assert_null(submit);
    tsr_run_opts_clear(&opts);
    zlistx_destroy(&jobs);
}

static void
test_submit_job_selection_follows_needs_in_spec_order(void **state)
{
    (void)state;
    zlistx_t *jobs = s_jobs();
    tsr_run_opts_t opts;
    tsr_run_opts_init(&opts);
    zlistx_add_end(opts.jobs, "deploy");
    Tessera__Submit *submit = NULL;
    char *error = NULL;
    assert_int_equal(tsr_submit_build(jobs, &opts, "demo", "u", &submit, &error), TSR_OK);
    assert_int_equal(submit->n_jobs, 3);
    assert_string_equal(submit->jobs[0]->name, "build");
    assert_string_equal(submit->jobs[1]->name, "test");
    assert_string_equal(submit->jobs[2]->name, "deploy");
    assert_int_equal(submit->jobs[2]->n_needs, 1);
    assert_string_equal(submit->jobs[2]->needs[0], "test");
    tsr_submit_destroy(&submit);
    tsr_run_opts_clear(&opts);
    zlistx_destroy(&jobs);
}

static void
test_submit_rejects_an_unknown_job(void **state)
{
    (void)state;
    zlistx_t *jobs = s_jobs();
    tsr_run_opts_t opts;
    tsr_run_opts_init(&opts);
    zlistx_add_end(opts.jobs, "lint");
    zlistx_add_end(opts.jobs, "tset");
    Tessera__Submit *submit = NULL;
    char *error = NULL;
    assert_int_equal(tsr_submit_build(jobs, &opts, "demo", "u", &submit, &error), TSR_EINVAL);
    assert_null(submit);
    assert_non_null(error);
    assert_non_null(strstr(error, "'tset'"));
    assert_non_null(strstr(error, "build, lint, test, deploy"));
    free(error);
    tsr_run_opts_clear(&opts);
    zlistx_destroy(&jobs);
}

static void
test_submit_rejects_no_jobs_and_a_dangling_need(void **state)
{
    (void)state;
    zlistx_t *jobs = zlistx_new();
    zlistx_set_destructor(jobs, s_job_destroy);
    tsr_run_opts_t opts;
    tsr_run_opts_init(&opts);
    Tessera__Submit *submit = NULL;
    char *error = NULL;
    assert_int_equal(tsr_submit_build(jobs, &opts, "p", "u", &submit, &error), TSR_EINVAL);
    assert_non_null(error);
    free(error);
    zlistx_add_end(jobs, s_job("orphan", s_words("ghost", NULL)));
    zlistx_add_end(opts.jobs, "orphan");
    assert_int_equal(tsr_submit_build(jobs, &opts, "p", "u", &submit, &error), TSR_EINVAL);
    assert_non_null(strstr(error, "'ghost'"));
    free(error);
    tsr_run_opts_clear(&opts);
    zlistx_destroy(&jobs);
}

static void
test_submit_passes_repeat_slow_and_fail_on_flaky(void **state)
{
    (void)state;
    zlistx_t *jobs = s_jobs();
    tsr_run_opts_t opts;
    tsr_run_opts_init(&opts);
    Tessera__Submit *submit = NULL;
    char *error = NULL;
    //  without the flags: the spec's values, no repeat, flaky passes
    assert_int_equal(tsr_submit_build(jobs, &opts, "demo", "u", &submit, &error), TSR_OK);
    assert_false(submit->fail_on_flaky);
    assert_int_equal(submit->jobs[0]->repeat, 0);
    assert_int_equal(submit->jobs[0]->slow_s, 4);
    assert_int_equal(submit->jobs[0]->timeout_s, 600);
    assert_int_equal(submit->jobs[0]->retries, 1);
    tsr_submit_destroy(&submit);

    opts.repeat_set = true;
    opts.repeat = 7;
    opts.slow_set = true;
    opts.slow_s = 2;
    opts.retries_set = true;
    opts.retries = 3;
    opts.fail_on_flaky = true;
    assert_int_equal(tsr_submit_build(jobs, &opts, "demo", "u", &submit, &error), TSR_OK);
    assert_true(submit->fail_on_flaky);
    for (size_t index = 0; index < submit->n_jobs; index++) {
        assert_int_equal(submit->jobs[index]->repeat, 7);
        assert_int_equal(submit->jobs[index]->slow_s, 2);
        assert_int_equal(submit->jobs[index]->retries, 3);
    }
    tsr_submit_destroy(&submit);

    //  --slow 0 turns the spec's threshold off
    opts.slow_s = 0;
    assert_int_equal(tsr_submit_build(jobs, &opts, "demo", "u", &submit, &error), TSR_OK);
    for (size_t index = 0; index < submit->n_jobs; index++)
        assert_int_equal(submit->jobs[index]->slow_s, 0);
    tsr_submit_destroy(&submit);
    tsr_run_opts_clear(&opts);
    zlistx_destroy(&jobs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_jobspec_copies_the_job),
        cmocka_unit_test(test_submit_options_override_the_spec),
        cmocka_unit_test(test_submit_job_selection_follows_needs_in_spec_order),
        cmocka_unit_test(test_submit_rejects_an_unknown_job),
        cmocka_unit_test(test_submit_rejects_no_jobs_and_a_dangling_need),
        cmocka_unit_test(test_submit_passes_repeat_slow_and_fail_on_flaky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
