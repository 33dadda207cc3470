/*  tsr_jobenv - layering of the agent's, the job's and the shard's variables
    A zhashx name -> "NAME=VALUE" collects the layers (a later layer replaces
    an earlier one); the result is sorted by name so it is deterministic.    */
#include "tsr_jobenv.h"
#include "tsr_list.h"
#include <inttypes.h>
#include <string.h>

static void
s_put(zhashx_t *vars, const char *name, const char *value)
{
    zhashx_update(vars, name, zsys_sprintf("%s=%s", name, value));
}

//  The values of `vars` as a NULL-terminated array sorted by name.
static char **
s_sorted(zhashx_t *vars)
{
    zlistx_t *names = zhashx_keys(vars);
    tsr_list_sort_strings(names);
    char **envp = (char **)zmalloc((zlistx_size(names) + 1) * sizeof(char *));
    size_t count = 0;
    for (const char *name = (const char *)zlistx_first(names); name;
         name = (const char *)zlistx_next(names))
        envp[count++] = strdup((const char *)zhashx_lookup(vars, name));
    envp[count] = NULL;
    zlistx_destroy(&names);
    return envp;
}

//  Add "NAME=VALUE" entries to `vars`; `strict` refuses (TSR_EINVAL) what
//  is not NAME=VALUE, else such entries are skipped.
static int
s_put_all(zhashx_t *vars, const char *const *entries, bool strict)
{
    for (size_t index = 0; entries && entries[index]; index++) {
        const char *equals = strchr(entries[index], '=');
        if (!equals || equals == entries[index]) {
            if (strict)
                return TSR_EINVAL;
            continue; //  not NAME=VALUE: nothing a child could read
        }
        char *name = strndup(entries[index], (size_t)(equals - entries[index]));
        s_put(vars, name, equals + 1);
        free(name);
    }
    return TSR_OK;
}

static bool
s_name_is_valid(const char *name)
{
    return name && *name && !strchr(name, '=');
}

int
tsr_jobenv_build(const char *const *base, const Tessera__Assign *assign, uint32_t threads,
                 char ***envp_out)
{
    assert(assign && envp_out);
    *envp_out = NULL;
    for (size_t index = 0; index < assign->n_env; index++)
        if (!assign->env[index] || !s_name_is_valid(assign->env[index]->name))
            return TSR_EINVAL;

    zhashx_t *vars = zhashx_new();
    zhashx_set_destructor(vars, (zhashx_destructor_fn *)zstr_free);
    int rc = s_put_all(vars, base, false); //  not strict: cannot fail
    assert(rc == TSR_OK);
    (void)rc;
    char number[32];
    snprintf(number, sizeof number, "%" PRIu32, threads);
    s_put(vars, "TSR_THREADS", number);
    s_put(vars, "CARGO_BUILD_JOBS", number);
    snprintf(number, sizeof number, "-j%" PRIu32, threads);
    s_put(vars, "MAKEFLAGS", number);
    for (size_t index = 0; index < assign->n_env; index++)
        s_put(vars, assign->env[index]->name,
              assign->env[index]->value ? assign->env[index]->value : "");
    snprintf(number, sizeof number, "%" PRIu32, assign->shard_index);
    s_put(vars, "TSR_SHARD_INDEX", number);
    snprintf(number, sizeof number, "%" PRIu32, assign->shard_count ? assign->shard_count : 1);
    s_put(vars, "TSR_SHARD_COUNT", number);
    s_put(vars, "TSR_RUN_ID", assign->run_id ? assign->run_id : "");
    snprintf(number, sizeof number, "%" PRIu64, assign->attempt_id);
    s_put(vars, "TSR_ATTEMPT_ID", number);

    *envp_out = s_sorted(vars);
    zhashx_destroy(&vars);
    return TSR_OK;
}

int
tsr_jobenv_overlay(const char *const *envp, const char *const *extra, char ***envp_out)
{
    assert(envp_out);
    *envp_out = NULL;
    zhashx_t *vars = zhashx_new();
    zhashx_set_destructor(vars, (zhashx_destructor_fn *)zstr_free);
    int rc = s_put_all(vars, envp, false);
    if (rc == TSR_OK)
        rc = s_put_all(vars, extra, true);
    if (rc == TSR_OK)
        *envp_out = s_sorted(vars);
    zhashx_destroy(&vars);
    return rc;
}

const char *
tsr_jobenv_get(const char *const *envp, const char *name)
{
    assert(name);
    size_t length = strlen(name);
    for (size_t index = 0; envp && envp[index]; index++)
        if (strncmp(envp[index], name, length) == 0 && envp[index][length] == '=')
            return envp[index] + length + 1;
    return NULL;
}

void
tsr_jobenv_free(char ***envp_p)
{
    assert(envp_p);
    char **envp = *envp_p;
    if (!envp)
        return;
    for (size_t index = 0; envp[index]; index++)
        free(envp[index]);
    free(envp);
    *envp_p = NULL;
}
