/*  tsr_spec - `tessera.yml` job specifications (libyaml)
    Owns the project name, the ignore patterns and the jobs. A parse builds
    everything aside and replaces the spec's contents only when the whole
    file is valid, `needs` included (existing jobs, no cycles). Callers: the
    CLI (run, validate) and the coordinator. Any thread; one owner.        */
#include "tsr_spec.h" //  own header first: proves it self-contained
#include "tsr_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _tsr_spec_t {
    char *project;     //  owned; NULL if not set
    zlistx_t *ignore;  //  owned, of char *
    zlistx_t *jobs;    //  owned, of tsr_job_spec_t *, file order
    zhashx_t *by_name; //  owned; job name -> tsr_job_spec_t * (borrowed, owner: jobs)
};

//  Longest job name; names end up in logs, reports and directory names.
#define S_JOB_NAME_MAX 128

static void
s_string_destroy(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

static zlistx_t *
s_strings_new(void)
{
    zlistx_t *list = zlistx_new();
    assert(list);
    zlistx_set_destructor(list, s_string_destroy);
    return list;
}

static void
s_add_string(zlistx_t *list, const char *text)
{
    char *copy = strdup(text);
    assert(copy);
    zlistx_add_end(list, copy);
}

static tsr_job_spec_t *
s_job_new(const char *name)
{
    tsr_job_spec_t *job = (tsr_job_spec_t *)zmalloc(sizeof *job);
    job->name = strdup(name);
    job->workdir = strdup("");
    assert(job->name && job->workdir);
    job->argv = s_strings_new();
    job->env = s_strings_new();
    job->labels = s_strings_new();
    job->needs = s_strings_new();
    job->threads = 1;
    return job;
}

static void
s_job_destroy(tsr_job_spec_t **job_p)
{
    tsr_job_spec_t *job = *job_p;
    if (!job)
        return;
    free(job->name);
    free(job->framework);
    free(job->workdir);
    zlistx_destroy(&job->argv);
    zlistx_destroy(&job->env);
    zlistx_destroy(&job->labels);
    zlistx_destroy(&job->needs);
    free(job);
    *job_p = NULL;
}

static void
s_job_destroy_item(void **item_p)
{
    s_job_destroy((tsr_job_spec_t **)item_p);
}

static zlistx_t *
s_jobs_new(void)
{
    zlistx_t *jobs = zlistx_new();
    assert(jobs);
    zlistx_set_destructor(jobs, s_job_destroy_item);
    return jobs;
}

tsr_spec_t *
tsr_spec_new(void)
{
    tsr_spec_t *self = (tsr_spec_t *)zmalloc(sizeof *self);
    self->ignore = s_strings_new();
    self->jobs = s_jobs_new();
    self->by_name = zhashx_new();
    assert(self->by_name);
    return self;
}

void
tsr_spec_destroy(tsr_spec_t **self_p)
{
    assert(self_p);
    tsr_spec_t *self = *self_p;
    if (!self)
        return;
    free(self->project);
    zlistx_destroy(&self->ignore);
    zlistx_destroy(&self->jobs);
    zhashx_destroy(&self->by_name);
    free(self);
    *self_p = NULL;
}

//  Job names: letters, digits, '.', '_', '-'; not starting with '.'.
static bool
s_job_name_is_valid(const char *name)
{
    size_t length = strlen(name);
    return length > 0 && length <= S_JOB_NAME_MAX && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               length;
}

static bool
s_framework_is_known(const char *name)
{
    return strcmp(name, "command") == 0 || strcmp(name, "pytest") == 0 ||
           strcmp(name, "cargo") == 0 || strcmp(name, "npm") == 0;
}

//  Relative, and never climbing out of the workspace.
static bool
s_workdir_is_safe(const char *path)
{
    if (path[0] == '/')
        return false;
    const char *part = path;
    while (*part) {
        size_t length = strcspn(part, "/");
        if (length == 2 && part[0] == '.' && part[1] == '.')
            return false;
        part += length;
        part += strspn(part, "/");
    }
    return true;
}

//  Default shards: a test framework is split by the planner; a plain
//  command runs once unless the file asks for more.
static uint32_t
s_default_shards(const char *framework)
{
    return strcmp(framework, "command") == 0 ? 1 : 0;
}

//  The framework a job's command runs. A string command (run by `sh -c`)
//  is looked into only when it is one plain command line, words apart by
//  blanks with nothing the shell would interpret; else it is "command".
static const char *
s_detect_job_framework(tsr_job_spec_t *job, bool from_string)
{
    size_t argc = zlistx_size(job->argv);
    char *line = NULL;
    if (from_string) {
        zlistx_first(job->argv);
        zlistx_next(job->argv);
        const char *text = (const char *)zlistx_next(job->argv); //  after "sh", "-c"
        if (strpbrk(text, "|&;<>()$`\\\"'*?[]#~={}%!\n"))
            return "command";
        line = strdup(text);
        assert(line);
        argc = strlen(text) / 2 + 1; //  enough for any split
    }
    char **argv = (char **)zmalloc((argc + 1) * sizeof *argv);
    size_t index = 0;
    if (from_string) {
        char *save = NULL;
        for (char *word = strtok_r(line, " \t", &save); word; word = strtok_r(NULL, " \t", &save))
            argv[index++] = word;
    } else
        for (char *arg = (char *)zlistx_first(job->argv); arg; arg = (char *)zlistx_next(job->argv))
            argv[index++] = arg;
    const char *framework = tsr_spec_detect_framework((int)index, argv);
    free(argv);
    free(line);
    return framework;
}

static int
s_parse_command(tsr_yaml_t *yaml, const yaml_node_t *value, tsr_job_spec_t *job)
{
    if (value->type == YAML_SCALAR_NODE) {
        char *text = NULL;
        int rc = tsr_yaml_string(yaml, value, "command", &text);
        if (rc != TSR_OK)
            return rc;
        if (text[strspn(text, " \t\r\n")] == '\0') {
            free(text);
            return tsr_yaml_error(yaml, value, "'command' must not be empty");
        }
        s_add_string(job->argv, "sh");
        s_add_string(job->argv, "-c");
        zlistx_add_end(job->argv, text);
        return TSR_OK;
    }
    if (value->type != YAML_SEQUENCE_NODE)
        return tsr_yaml_error(yaml, value, "'command' must be a string or a list of strings");
    int rc = tsr_yaml_strings(yaml, value, "command", job->argv);
    if (rc != TSR_OK)
        return rc;
    const char *program = (const char *)zlistx_first(job->argv);
    if (!program || *program == '\0')
        return tsr_yaml_error(yaml, value, "'command' must not be empty");
    return TSR_OK;
}

static int
s_parse_shards(tsr_yaml_t *yaml, const yaml_node_t *value, tsr_job_spec_t *job)
{
    const char *text = tsr_yaml_scalar(value);
    if (text && value->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(text, "auto") == 0) {
        job->shards = 0;
        return TSR_OK;
    }
    if (!text || *text == '\0' || strspn(text, "0123456789") != strlen(text) ||
        value->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return tsr_yaml_error(yaml, value, "'shards' must be a positive integer or 'auto'");
    uint64_t shards = 0;
    int rc = tsr_yaml_uint(yaml, value, "shards", 1, UINT32_MAX, &shards);
    job->shards = (uint32_t)shards;
    return rc;
}

static int
s_parse_uint32(tsr_yaml_t *yaml, const yaml_node_t *value, const char *what, uint64_t min,
               uint32_t *field)
{
    uint64_t number = 0;
    int rc = tsr_yaml_uint(yaml, value, what, min, UINT32_MAX, &number);
    if (rc == TSR_OK)
        *field = (uint32_t)number;
    return rc;
}

//  One job's key. *needs_key_out is set when the key is `needs`.
static int
s_parse_job_key(tsr_yaml_t *yaml, const yaml_node_t *key_node, const yaml_node_t *value,
                tsr_job_spec_t *job, const yaml_node_t **needs_key_out)
{
    const char *key = tsr_yaml_scalar(key_node);
    if (strcmp(key, "command") == 0)
        return s_parse_command(yaml, value, job);
    if (strcmp(key, "framework") == 0) {
        int rc = tsr_yaml_string(yaml, value, "framework", &job->framework);
        if (rc == TSR_OK && !s_framework_is_known(job->framework))
            rc = tsr_yaml_error(yaml, value, "'framework' must be command, pytest, cargo or npm");
        return rc;
    }
    if (strcmp(key, "env") == 0)
        return tsr_yaml_pairs(yaml, value, "env", job->env);
    if (strcmp(key, "timeout") == 0)
        return s_parse_uint32(yaml, value, "timeout", 0, &job->timeout_s);
    if (strcmp(key, "slow") == 0)
        return s_parse_uint32(yaml, value, "slow", 0, &job->slow_s);
    if (strcmp(key, "threads") == 0)
        return s_parse_uint32(yaml, value, "threads", 1, &job->threads);
    if (strcmp(key, "labels") == 0)
        return tsr_yaml_pairs(yaml, value, "labels", job->labels);
    if (strcmp(key, "needs") == 0) {
        *needs_key_out = key_node;
        return tsr_yaml_strings(yaml, value, "needs", job->needs);
    }
    if (strcmp(key, "shards") == 0)
        return s_parse_shards(yaml, value, job);
    if (strcmp(key, "retries") == 0)
        return s_parse_uint32(yaml, value, "retries", 0, &job->retries);
    if (strcmp(key, "workdir") == 0) {
        char *workdir = NULL;
        int rc = tsr_yaml_string(yaml, value, "workdir", &workdir);
        if (rc != TSR_OK)
            return rc;
        free(job->workdir);
        job->workdir = workdir;
        if (!s_workdir_is_safe(workdir))
            return tsr_yaml_error(yaml, value, "'workdir' must be a relative path without '..'");
        return TSR_OK;
    }
    return tsr_yaml_error(yaml, key_node, "unknown key '%s'", key);
}

//  A job, as parsed, with what the `needs` check reports against.
typedef struct {
    tsr_job_spec_t *job;            //  borrowed (owner: the jobs list)
    const yaml_node_t *needs_key;   //  borrowed (owner: the document); NULL if no needs
    const yaml_node_t *needs_value; //  borrowed (owner: the document)
    size_t *needs_index;            //  owned; indexes of the needed jobs
    size_t needs_count;             //  entries in needs_index
} s_entry_t;

static int
s_parse_job(tsr_yaml_t *yaml, const yaml_node_t *name_node, const yaml_node_t *value,
            s_entry_t *entry)
{
    const char *name = tsr_yaml_scalar(name_node);
    if (!s_job_name_is_valid(name))
        return tsr_yaml_error(yaml, name_node,
                              "job name '%s' must be 1-%d letters, digits, '.', '_' or '-' "
                              "(not starting with '.')",
                              name, S_JOB_NAME_MAX);
    int rc = tsr_yaml_mapping(yaml, value, name);
    if (rc != TSR_OK)
        return rc;
    tsr_job_spec_t *job = entry->job;
    const yaml_node_t *command = NULL;
    bool has_shards = false;
    for (const yaml_node_pair_t *pair = value->data.mapping.pairs.start;
         pair < value->data.mapping.pairs.top; pair++) {
        const yaml_node_t *key_node = tsr_yaml_node(yaml, pair->key);
        const yaml_node_t *value_node = tsr_yaml_node(yaml, pair->value);
        rc = s_parse_job_key(yaml, key_node, value_node, job, &entry->needs_key);
        if (rc != TSR_OK)
            return rc;
        if (strcmp(tsr_yaml_scalar(key_node), "command") == 0)
            command = value_node;
        has_shards |= strcmp(tsr_yaml_scalar(key_node), "shards") == 0;
        if (entry->needs_key == key_node)
            entry->needs_value = value_node;
    }
    if (!command)
        return tsr_yaml_error(yaml, name_node, "job '%s' has no 'command'", name);
    if (!job->framework) {
        bool from_string = command->type == YAML_SCALAR_NODE;
        job->framework = strdup(s_detect_job_framework(job, from_string));
        assert(job->framework);
    }
    if (!has_shards)
        job->shards = s_default_shards(job->framework);
    return TSR_OK;
}

//  Resolve every job's `needs` to indexes: each must name another job.
static int
s_resolve_needs(tsr_yaml_t *yaml, s_entry_t *entries, size_t count)
{
    zhashx_t *by_name = zhashx_new(); //  job name -> its entry (borrowed)
    assert(by_name);
    for (size_t index = 0; index < count; index++)
        zhashx_insert(by_name, entries[index].job->name, &entries[index]);
    int rc = TSR_OK;
    for (size_t index = 0; index < count && rc == TSR_OK; index++) {
        s_entry_t *entry = &entries[index];
        if (!entry->needs_value)
            continue;
        const yaml_node_item_t *start = entry->needs_value->data.sequence.items.start;
        const yaml_node_item_t *top = entry->needs_value->data.sequence.items.top;
        entry->needs_index = (size_t *)zmalloc((size_t)(top - start + 1) * sizeof(size_t));
        for (const yaml_node_item_t *item = start; item < top && rc == TSR_OK; item++) {
            const yaml_node_t *item_node = tsr_yaml_node(yaml, *item);
            const char *needed = tsr_yaml_scalar(item_node);
            s_entry_t *needed_entry = (s_entry_t *)zhashx_lookup(by_name, needed);
            if (!needed_entry)
                rc = tsr_yaml_error(yaml, item_node, "job '%s' needs unknown job '%s'",
                                    entry->job->name, needed);
            else if (needed_entry == entry)
                rc = tsr_yaml_error(yaml, item_node, "job '%s' needs itself", entry->job->name);
            else
                entry->needs_index[entry->needs_count++] = (size_t)(needed_entry - entries);
        }
    }
    zhashx_destroy(&by_name);
    return rc;
}

//  Report the cycle that runs from stack[from] to the top of the stack and
//  back, at the `needs` of its first job.
static int
s_cycle_error(tsr_yaml_t *yaml, const s_entry_t *entries, const size_t *stack, size_t depth,
              size_t from)
{
    char *path = NULL;
    size_t path_size = 0;
    FILE *stream = open_memstream(&path, &path_size);
    assert(stream);
    for (size_t position = from; position < depth; position++)
        fprintf(stream, "%s -> ", entries[stack[position]].job->name);
    fprintf(stream, "%s", entries[stack[from]].job->name);
    fclose(stream);
    const s_entry_t *first = &entries[stack[from]];
    int rc = tsr_yaml_error(yaml, first->needs_key, "job '%s' is in a dependency cycle: %s",
                            first->job->name, path);
    free(path);
    return rc;
}

//  Depth-first search over `needs` (iterative: a long chain must not
//  exhaust the C stack); a job met again while on the path closes a cycle.
static int
s_check_cycles(tsr_yaml_t *yaml, const s_entry_t *entries, size_t count)
{
    enum { S_UNSEEN, S_ON_PATH, S_DONE };
    unsigned char *state = (unsigned char *)zmalloc(count + 1);
    size_t *cursor = (size_t *)zmalloc((count + 1) * sizeof(size_t));
    size_t *stack = (size_t *)zmalloc((count + 1) * sizeof(size_t));
    int rc = TSR_OK;
    for (size_t root = 0; root < count && rc == TSR_OK; root++) {
        if (state[root] != S_UNSEEN)
            continue;
        size_t depth = 0;
        stack[depth++] = root;
        state[root] = S_ON_PATH;
        cursor[root] = 0;
        while (depth > 0 && rc == TSR_OK) {
            size_t top = stack[depth - 1];
            if (cursor[top] == entries[top].needs_count) {
                state[top] = S_DONE;
                depth--;
                continue;
            }
            size_t next = entries[top].needs_index[cursor[top]++];
            if (state[next] == S_ON_PATH) {
                size_t from = 0;
                while (stack[from] != next)
                    from++;
                rc = s_cycle_error(yaml, entries, stack, depth, from);
            } else if (state[next] == S_UNSEEN) {
                state[next] = S_ON_PATH;
                cursor[next] = 0;
                stack[depth++] = next;
            }
        }
    }
    free(state);
    free(cursor);
    free(stack);
    return rc;
}

static int
s_parse_jobs(tsr_yaml_t *yaml, const yaml_node_t *jobs_node, zlistx_t *jobs)
{
    int rc = tsr_yaml_mapping(yaml, jobs_node, "jobs");
    if (rc != TSR_OK)
        return rc;
    const yaml_node_pair_t *start = jobs_node->data.mapping.pairs.start;
    size_t count = (size_t)(jobs_node->data.mapping.pairs.top - start);
    if (count == 0)
        return tsr_yaml_error(yaml, jobs_node, "no jobs");
    s_entry_t *entries = (s_entry_t *)zmalloc(count * sizeof *entries);
    for (size_t index = 0; index < count && rc == TSR_OK; index++) {
        const yaml_node_t *name_node = tsr_yaml_node(yaml, start[index].key);
        entries[index].job = s_job_new(tsr_yaml_scalar(name_node));
        zlistx_add_end(jobs, entries[index].job);
        rc = s_parse_job(yaml, name_node, tsr_yaml_node(yaml, start[index].value), &entries[index]);
    }
    if (rc == TSR_OK)
        rc = s_resolve_needs(yaml, entries, count);
    if (rc == TSR_OK)
        rc = s_check_cycles(yaml, entries, count);
    for (size_t index = 0; index < count; index++)
        free(entries[index].needs_index);
    free(entries);
    return rc;
}

//  Parse the loaded document into the spec; on error the spec is unchanged.
static int
s_parse(tsr_spec_t *self, tsr_yaml_t *yaml)
{
    char *project = NULL;
    zlistx_t *ignore = s_strings_new();
    zlistx_t *jobs = s_jobs_new();
    int rc = TSR_OK;
    const yaml_node_t *root = tsr_yaml_root(yaml);
    if (!root) {
        rc = tsr_yaml_error(yaml, NULL, "no jobs");
        goto out;
    }
    rc = tsr_yaml_mapping(yaml, root, NULL);
    if (rc != TSR_OK)
        goto out;
    bool has_jobs = false;
    for (const yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top && rc == TSR_OK; pair++) {
        const yaml_node_t *key_node = tsr_yaml_node(yaml, pair->key);
        const yaml_node_t *value = tsr_yaml_node(yaml, pair->value);
        const char *key = tsr_yaml_scalar(key_node);
        if (strcmp(key, "project") == 0)
            rc = tsr_yaml_string(yaml, value, "project", &project);
        else if (strcmp(key, "ignore") == 0)
            rc = tsr_yaml_strings(yaml, value, "ignore", ignore);
        else if (strcmp(key, "jobs") == 0) {
            has_jobs = true;
            rc = s_parse_jobs(yaml, value, jobs);
        } else
            rc = tsr_yaml_error(yaml, key_node, "unknown key '%s'", key);
    }
    if (rc == TSR_OK && !has_jobs)
        rc = tsr_yaml_error(yaml, root, "no jobs");
    if (rc != TSR_OK)
        goto out;

    //  Valid: swap in the new contents; the old ones are freed below
    char *old_project = self->project;
    self->project = project;
    project = old_project;
    zlistx_t *old_ignore = self->ignore;
    self->ignore = ignore;
    ignore = old_ignore;
    zlistx_t *old_jobs = self->jobs;
    self->jobs = jobs;
    jobs = old_jobs;
    zhashx_purge(self->by_name);
    for (tsr_job_spec_t *job = (tsr_job_spec_t *)zlistx_first(self->jobs); job;
         job = (tsr_job_spec_t *)zlistx_next(self->jobs))
        zhashx_insert(self->by_name, job->name, job);
out:
    free(project);
    zlistx_destroy(&ignore);
    zlistx_destroy(&jobs);
    return rc;
}

//  Parse a document whose loading returned `rc`, hand out its error text and
//  free it: the end of tsr_spec_load and tsr_spec_parse
static int
s_parse_loaded(tsr_spec_t *self, tsr_yaml_t *yaml, int rc, char **error_out)
{
    if (rc == TSR_OK)
        rc = s_parse(self, yaml);
    if (error_out)
        *error_out = tsr_yaml_take_error(yaml);
    tsr_yaml_clear(yaml);
    return rc;
}

int
tsr_spec_load(tsr_spec_t *self, const char *path, char **error_out)
{
    assert(self);
    assert(path);
    tsr_yaml_t yaml = {0};
    int rc = tsr_yaml_load_file(&yaml, path);
    return s_parse_loaded(self, &yaml, rc, error_out);
}

int
tsr_spec_parse(tsr_spec_t *self, const char *name, const char *text, size_t size, char **error_out)
{
    assert(self);
    assert(name);
    tsr_yaml_t yaml = {0};
    int rc = tsr_yaml_load(&yaml, name, text, size);
    return s_parse_loaded(self, &yaml, rc, error_out);
}

int
tsr_spec_add_command(tsr_spec_t *self, const char *name, int argc, char *const *argv)
{
    assert(self);
    if (!name)
        name = "default";
    if (argc < 1 || !argv || !argv[0] || *argv[0] == '\0')
        return TSR_EINVAL;
    if (!s_job_name_is_valid(name) || tsr_spec_job(self, name))
        return TSR_EINVAL;
    for (int index = 0; index < argc; index++)
        if (!argv[index])
            return TSR_EINVAL;
    tsr_job_spec_t *job = s_job_new(name);
    for (int index = 0; index < argc; index++)
        s_add_string(job->argv, argv[index]);
    job->framework = strdup(tsr_spec_detect_framework(argc, argv));
    assert(job->framework);
    job->shards = s_default_shards(job->framework);
    zlistx_add_end(self->jobs, job);
    zhashx_insert(self->by_name, job->name, job);
    return TSR_OK;
}

const char *
tsr_spec_project(tsr_spec_t *self)
{
    assert(self);
    return self->project;
}

zlistx_t *
tsr_spec_ignore(tsr_spec_t *self)
{
    assert(self);
    return self->ignore;
}

zlistx_t *
tsr_spec_jobs(tsr_spec_t *self)
{
    assert(self);
    return self->jobs;
}

tsr_job_spec_t *
tsr_spec_job(tsr_spec_t *self, const char *name)
{
    assert(self);
    assert(name);
    //  A lookup, not a walk: callers may be iterating the jobs list
    return (tsr_job_spec_t *)zhashx_lookup(self->by_name, name);
}

//  The program's file name, without its directory.
static const char *
s_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool
s_is_one_of(const char *text, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(text, *names) == 0)
            return true;
    return false;
}

//  Index of the first argument from `from` that is not an option, skipping
//  the values of the options in `with_value`; argc if none.
static int
s_first_operand(int argc, char *const *argv, int from, const char *const *with_value)
{
    int index = from;
    while (index < argc && (argv[index][0] == '-' || argv[index][0] == '+')) {
        if (strcmp(argv[index], "--") == 0)
            return index + 1;
        if (with_value && s_is_one_of(argv[index], with_value))
            index++;
        index++;
    }
    return index;
}

static bool
s_is_python(const char *program)
{
    //  python, python3, python3.12
    if (strncmp(program, "python", 6) != 0)
        return false;
    return strspn(program + 6, "0123456789.") == strlen(program + 6);
}

//  `python [options] -m pytest`: -m ends the interpreter's options
static bool
s_python_runs_pytest(int argc, char *const *argv)
{
    static const char *const with_value[] = {"-W", "-X", "--check-hash-based-pycs", NULL};
    for (int index = 1; index < argc; index++) {
        const char *arg = argv[index];
        if (strcmp(arg, "-m") == 0)
            return index + 1 < argc && strcmp(argv[index + 1], "pytest") == 0;
        if (strcmp(arg, "-mpytest") == 0)
            return true;
        if (arg[0] != '-' || strcmp(arg, "-c") == 0 || strcmp(arg, "-") == 0)
            return false; //  a script or -c code: not pytest itself
        if (s_is_one_of(arg, with_value))
            index++;
    }
    return false;
}

const char *
tsr_spec_detect_framework(int argc, char *const *argv)
{
    static const char *const pytest_names[] = {"pytest", "py.test", NULL};
    static const char *const js_runners[] = {"jest", "mocha", "vitest", NULL};
    static const char *const cargo_with_value[] = {"--color", "--config", "-C", "-Z", NULL};
    static const char *const npm_test[] = {"test", "t", "tst", NULL};
    static const char *const npm_run[] = {"run", "run-script", "rum", "urn", NULL};
    if (argc < 1 || !argv || !argv[0])
        return "command";
    for (int index = 0; index < argc; index++)
        if (!argv[index])
            return "command";
    const char *program = s_basename(argv[0]);

    if (s_is_one_of(program, pytest_names))
        return "pytest";
    if (s_is_python(program) && s_python_runs_pytest(argc, argv))
        return "pytest";

    if (strcmp(program, "cargo") == 0) {
        int sub = s_first_operand(argc, argv, 1, cargo_with_value);
        if (sub < argc && (strcmp(argv[sub], "test") == 0 || strcmp(argv[sub], "nextest") == 0))
            return "cargo";
        return "command";
    }

    if (s_is_one_of(program, js_runners))
        return "npm";
    if (strcmp(program, "npm") == 0) {
        int sub = s_first_operand(argc, argv, 1, NULL);
        if (sub < argc && s_is_one_of(argv[sub], npm_test))
            return "npm";
        if (sub < argc && s_is_one_of(argv[sub], npm_run)) {
            int script = s_first_operand(argc, argv, sub + 1, NULL);
            if (script < argc && strcmp(argv[script], "test") == 0)
                return "npm";
        }
        return "command";
    }
    if (strcmp(program, "npx") == 0) {
        int tool = s_first_operand(argc, argv, 1, NULL);
        if (tool < argc && s_is_one_of(s_basename(argv[tool]), js_runners))
            return "npm";
        return "command";
    }
    if (strcmp(program, "node") == 0) {
        //  `node --test`: the flag comes before any script
        int script = s_first_operand(argc, argv, 1, NULL);
        for (int index = 1; index < script; index++)
            if (strcmp(argv[index], "--test") == 0)
                return "npm";
    }
    return "command";
}
