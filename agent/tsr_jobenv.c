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
    for (size_t index = 0; base && base[index]; index++) {
        const char *equals = strchr(base[index], '=');
        if (!equals || equals == base[index])
            continue; //  not NAME=VALUE: nothing a child could read
        char *name = strndup(base[index], (size_t)(equals - base[index]));
        s_put(vars, name, equals + 1);
        free(name);
    }
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

    zlistx_t *names = zhashx_keys(vars);
    tsr_list_sort_strings(names);
    char **envp = (char **)zmalloc((zlistx_size(names) + 1) * sizeof(char *));
    size_t count = 0;
    for (const char *name = (const char *)zlistx_first(names); name;
         name = (const char *)zlistx_next(names))
        envp[count++] = strdup((const char *)zhashx_lookup(vars, name));
    envp[count] = NULL;
    zlistx_destroy(&names);
    zhashx_destroy(&vars);
    *envp_out = envp;
    return TSR_OK;
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
