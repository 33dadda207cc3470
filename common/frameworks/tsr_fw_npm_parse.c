/*  tsr_fw_npm_parse - what the npm adapter reads: the user's command and
    package.json (cJSON; scripts split with wordexp, never run), node 20's
    test-file rules applied to the workdir, jest's file list and our
    reporters' JSON lines. No processes; any thread.                        */
#include "tsr_fw_io.h"
#include "tsr_list.h"
#include "tsr_fw_npm.h"
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <wordexp.h>

//  Largest package.json or file list we read
#define TSR_NPM_JSON_MAX (16u << 20)
//  Directory depth we walk for node --test (symlink loops end here)
#define TSR_NPM_WALK_DEPTH 64

void
tsr_fw_npm_cmd_destroy(tsr_fw_npm_cmd_t **self_p)
{
    assert(self_p);
    tsr_fw_npm_cmd_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy(&self->args);
    zlistx_destroy(&self->env);
    free(self->node);
    free(self);
    *self_p = NULL;
}

static const char *
s_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

//  A shell-style "NAME=value" assignment word
static bool
s_is_assignment(const char *word)
{
    const char *equals = strchr(word, '=');
    if (!equals || equals == word)
        return false;
    for (const char *scan = word; scan < equals; scan++)
        if (!(*scan == '_' || (*scan >= 'A' && *scan <= 'Z') || (*scan >= 'a' && *scan <= 'z') ||
              (scan > word && *scan >= '0' && *scan <= '9')))
            return false;
    return true;
}

//  Resolve words[0..] (a command without npm) into `self`: skips "K=V"
//  assignments (kept as env), cross-env and npx (with its options), then
//  takes the runner. TSR_ECONFIG if the runner is not one we know.
static int
s_resolve_words(tsr_fw_npm_cmd_t *self, const char *const *words)
{
    size_t index = 0;
    while (words[index]) {
        const char *word = words[index];
        const char *name = s_basename(word);
        if (s_is_assignment(word))
            zlistx_add_end(self->env, (void *)word);
        else if (streq(name, "cross-env") || streq(name, "npx") || streq(name, "env") ||
                 word[0] == '-')
            ; //  wrappers and their options
        else
            break;
        index++;
    }
    if (!words[index])
        return TSR_ECONFIG;
    const char *name = s_basename(words[index]);
    bool node_test = false;
    if (streq(name, "node") || streq(name, "nodejs")) {
        for (size_t scan = index + 1; words[scan]; scan++)
            if (streq(words[scan], "--test"))
                node_test = true;
        if (!node_test)
            return TSR_ECONFIG;
        self->runner = TSR_FW_NPM_NODE;
        free(self->node);
        self->node = strdup(words[index]);
        assert(self->node);
    } else if (streq(name, "jest"))
        self->runner = TSR_FW_NPM_JEST;
    else if (streq(name, "mocha") || streq(name, "_mocha"))
        self->runner = TSR_FW_NPM_MOCHA;
    else if (streq(name, "vitest"))
        self->runner = TSR_FW_NPM_VITEST;
    else
        return TSR_ECONFIG;
    for (index++; words[index]; index++)
        zlistx_add_end(self->args, (void *)words[index]);
    return TSR_OK;
}

//  Split a package.json script into words (no command substitution, no
//  execution; wordexp is not thread-safe, hence the lock). NULL when the
//  script is not a plain command (pipes, &&, ...): the caller falls back.
static char **
s_split_script(const char *script, size_t *count_out)
{
    static pthread_mutex_t s_wordexp_lock = PTHREAD_MUTEX_INITIALIZER;
    wordexp_t words;
    pthread_mutex_lock(&s_wordexp_lock);
    int rc = wordexp(script, &words, WRDE_NOCMD);
    pthread_mutex_unlock(&s_wordexp_lock);
    if (rc != 0) {
        if (rc == WRDE_NOSPACE)
            wordfree(&words);
        return NULL;
    }
    char **copy = (char **)zmalloc((words.we_wordc + 1) * sizeof *copy);
    for (size_t index = 0; index < words.we_wordc; index++) {
        copy[index] = strdup(words.we_wordv[index]);
        assert(copy[index]);
    }
    *count_out = words.we_wordc;
    wordfree(&words);
    return copy;
}

static void
s_free_words(char ***words_p, size_t count)
{
    for (size_t index = 0; index < count; index++)
        free((*words_p)[index]);
    free(*words_p);
    *words_p = NULL;
}

//  `npm test`, `npm t`, `npm run test`, `npm run-script test`: argv index of
//  the first argument for the script (after "--"), or 0 if not npm test
static size_t
s_npm_test_args(const char *const *argv)
{
    const char *name = s_basename(argv[0]);
    if (!streq(name, "npm"))
        return 0;
    size_t index = 1;
    while (argv[index] && argv[index][0] == '-')
        index++; //  npm's own options (--silent, ...)
    if (!argv[index])
        return 0;
    if (streq(argv[index], "test") || streq(argv[index], "t") || streq(argv[index], "tst"))
        index++;
    else if ((streq(argv[index], "run") || streq(argv[index], "run-script")) && argv[index + 1] &&
             streq(argv[index + 1], "test"))
        index += 2;
    else
        return 0;
    while (argv[index] && !streq(argv[index], "--"))
        index++; //  more npm options
    return argv[index] ? index + 1 : index;
}

//  `npm test` from package.json: scripts.test, else the runner among the
//  dependencies
static int
s_resolve_package(tsr_fw_npm_cmd_t *self, const char *package_json, const char *const *extra)
{
    if (!package_json)
        return TSR_ECONFIG;
    cJSON *package = cJSON_Parse(package_json);
    if (!cJSON_IsObject(package)) {
        cJSON_Delete(package);
        return TSR_EPARSE;
    }
    int rc = TSR_ECONFIG;
    const char *script =
        tsr_fw_json_string(cJSON_GetObjectItemCaseSensitive(package, "scripts"), "test");
    size_t count = 0;
    char **words = script ? s_split_script(script, &count) : NULL;
    if (words) {
        rc = s_resolve_words(self, (const char *const *)words);
        s_free_words(&words, count);
    }
    if (rc != TSR_OK) {
        zlistx_purge(self->args);
        zlistx_purge(self->env);
        const char *const sections[] = {"devDependencies", "dependencies", NULL};
        const struct {
            const char *name;
            tsr_fw_npm_runner_t runner;
        } known[] = {
            {"jest", TSR_FW_NPM_JEST}, {"mocha", TSR_FW_NPM_MOCHA}, {"vitest", TSR_FW_NPM_VITEST}};
        for (size_t section = 0; sections[section] && rc != TSR_OK; section++) {
            const cJSON *dependencies =
                cJSON_GetObjectItemCaseSensitive(package, sections[section]);
            for (size_t index = 0; index < sizeof known / sizeof known[0] && rc != TSR_OK; index++)
                if (cJSON_GetObjectItemCaseSensitive(dependencies, known[index].name)) {
                    self->runner = known[index].runner;
                    rc = TSR_OK;
                }
        }
    }
    if (rc == TSR_OK)
        tsr_fw_strlist_add_all(self->args, extra);
    cJSON_Delete(package);
    return rc;
}

int
tsr_fw_npm_cmd_parse(const char *const *argv, const char *package_json, tsr_fw_npm_cmd_t **cmd_out)
{
    assert(cmd_out);
    *cmd_out = NULL;
    if (!argv || !argv[0])
        return TSR_ECONFIG;
    tsr_fw_npm_cmd_t *self = (tsr_fw_npm_cmd_t *)zmalloc(sizeof *self);
    self->args = tsr_fw_strlist_new();
    self->env = tsr_fw_strlist_new();
    self->node = strdup("node");
    size_t extra = s_npm_test_args(argv);
    int rc = extra > 0 ? s_resolve_package(self, package_json, argv + extra)
                       : s_resolve_words(self, argv);
    if (rc == TSR_OK)
        *cmd_out = self;
    else
        tsr_fw_npm_cmd_destroy(&self);
    return rc;
}

//  node options that take a value as the next argument
static const char *const s_node_value_options[] = {"-r",
                                                   "--require",
                                                   "--import",
                                                   "--loader",
                                                   "--experimental-loader",
                                                   "--test-name-pattern",
                                                   "--test-skip-pattern",
                                                   "--test-concurrency",
                                                   "--test-timeout",
                                                   "--test-shard",
                                                   "--test-reporter",
                                                   "--test-reporter-destination",
                                                   "-C",
                                                   "--conditions",
                                                   "--env-file",
                                                   "--title",
                                                   "--inspect-port",
                                                   "--input-type",
                                                   "--eval",
                                                   "-e",
                                                   NULL};

bool
tsr_fw_npm_node_option_takes_value(const char *arg)
{
    for (size_t index = 0; s_node_value_options[index]; index++)
        if (streq(arg, s_node_value_options[index]))
            return true;
    return false;
}

typedef struct {
    regex_t name_pattern; //  node's kTestFilePattern
    regex_t js_pattern;   //  node's kSupportedFileExtensions
    const char *workdir;  //  borrowed
    zlistx_t *found;      //  borrowed: absolute paths
} s_walk_t;

static int
s_walk(s_walk_t *walk, const char *path, bool user_supplied, bool under_test_dir, int depth)
{
    struct stat info;
    if (stat(path, &info) != 0)
        return user_supplied ? -errno : TSR_OK; //  a dangling link in the tree: skip
    if (S_ISREG(info.st_mode)) {
        if (user_supplied ||
            (under_test_dir && regexec(&walk->js_pattern, path, 0, NULL, 0) == 0) ||
            regexec(&walk->name_pattern, s_basename(path), 0, NULL, 0) == 0)
            if (!tsr_fw_strlist_has(walk->found, path))
                zlistx_add_end(walk->found, (void *)path);
        return TSR_OK;
    }
    if (!S_ISDIR(info.st_mode) || depth > TSR_NPM_WALK_DEPTH)
        return TSR_OK;
    const char *name = s_basename(path);
    if (!user_supplied && streq(name, "node_modules"))
        return TSR_OK;
    DIR *directory = opendir(path);
    if (!directory)
        return user_supplied ? -errno : TSR_OK;
    bool is_test_dir = under_test_dir || streq(name, "test");
    int rc = TSR_OK;
    struct dirent *entry;
    while (rc == TSR_OK && (entry = readdir(directory)) != NULL) {
        if (streq(entry->d_name, ".") || streq(entry->d_name, ".."))
            continue;
        char *child = zsys_sprintf("%s/%s", path, entry->d_name);
        rc = s_walk(walk, child, false, is_test_dir, depth + 1);
        zstr_free(&child);
    }
    closedir(directory);
    return rc;
}

int
tsr_fw_npm_node_test_files(const char *workdir, zlistx_t *args, zlistx_t *files)
{
    assert(workdir);
    assert(files);
    s_walk_t walk = {.workdir = workdir, .found = tsr_fw_strlist_new()};
    //  node 20: lib/internal/test_runner/utils.js
    int rc = regcomp(&walk.name_pattern, "((^test(-.+)?)|(.+[._-]test))\\.[cm]?js$",
                     REG_EXTENDED | REG_NOSUB);
    assert(rc == 0);
    rc = regcomp(&walk.js_pattern, "\\.[cm]?js$", REG_EXTENDED | REG_NOSUB);
    assert(rc == 0);
    //  Path arguments: what is not an option or an option's value
    zlistx_t *paths = tsr_fw_strlist_new();
    bool skip_value = false;
    for (const char *arg = args ? (const char *)zlistx_first(args) : NULL; arg;
         arg = (const char *)zlistx_next(args)) {
        if (skip_value)
            skip_value = false;
        else if (arg[0] == '-')
            skip_value = tsr_fw_npm_node_option_takes_value(arg);
        else if (arg[0] == '/')
            zlistx_add_end(paths, (void *)arg);
        else
            tsr_fw_strlist_addf(paths, "%s/%s", workdir, arg);
    }
    bool user_supplied = zlistx_size(paths) > 0;
    if (!user_supplied)
        zlistx_add_end(paths, (void *)workdir);
    rc = TSR_OK;
    for (const char *path = (const char *)zlistx_first(paths); path && rc == TSR_OK;
         path = (const char *)zlistx_next(paths))
        rc = s_walk(&walk, path, user_supplied, false, 0);
    if (rc == TSR_OK) {
        zlistx_t *relative = tsr_fw_strlist_new();
        for (const char *path = (const char *)zlistx_first(walk.found); path;
             path = (const char *)zlistx_next(walk.found)) {
            char *rel = tsr_fw_path_relative(path, workdir);
            zlistx_add_end(relative, rel);
            free(rel);
        }
        tsr_list_sort_strings(relative);
        for (const char *path = (const char *)zlistx_first(relative); path;
             path = (const char *)zlistx_next(relative))
            zlistx_add_end(files, (void *)path);
        zlistx_destroy(&relative);
    }
    regfree(&walk.name_pattern);
    regfree(&walk.js_pattern);
    zlistx_destroy(&walk.found);
    zlistx_destroy(&paths);
    return rc;
}

int
tsr_fw_npm_parse_file_list(const char *json_path, const char *workdir, zlistx_t *files)
{
    assert(json_path);
    assert(workdir);
    assert(files);
    char *text = NULL;
    int rc = tsr_fw_file_read(json_path, TSR_NPM_JSON_MAX, &text);
    if (rc != TSR_OK)
        return rc;
    cJSON *list = cJSON_Parse(text);
    rc = cJSON_IsArray(list) ? TSR_OK : TSR_EPARSE;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (!cJSON_IsString(item))
            rc = TSR_EPARSE;
    }
    if (rc == TSR_OK) {
        cJSON_ArrayForEach(item, list)
        {
            char *rel = tsr_fw_path_relative(item->valuestring, workdir);
            zlistx_add_end(files, rel);
            free(rel);
        }
    }
    cJSON_Delete(list);
    free(text);
    return rc;
}

//  One line of our reporters, checked
typedef struct {
    const char *file;    //  borrowed; "" when the runner gave none
    const char *name;    //  borrowed; NULL for a file line
    const char *kind;    //  borrowed
    const char *outcome; //  borrowed
    const char *error;   //  borrowed, may be NULL
    double duration_ms;
} s_event_t;

static int
s_read_event(const cJSON *line, s_event_t *event)
{
    event->file = tsr_fw_json_string(line, "file");
    event->name = tsr_fw_json_string(line, "name");
    event->kind = tsr_fw_json_string(line, "kind");
    event->outcome = tsr_fw_json_string(line, "outcome");
    event->error = tsr_fw_json_string(line, "error");
    const cJSON *duration = cJSON_GetObjectItemCaseSensitive(line, "duration_ms");
    event->duration_ms = cJSON_IsNumber(duration) ? duration->valuedouble : 0;
    if (!event->kind || !event->outcome)
        return TSR_EPARSE;
    if (!event->file)
        event->file = "";
    if (!streq(event->kind, "file") && !event->name)
        return TSR_EPARSE;
    return TSR_OK;
}

typedef struct {
    const char *workdir; //  borrowed
    zlistx_t *files;     //  borrowed: relative, once each
} s_event_files_t;

static int
s_on_event_file(const cJSON *line, void *arg)
{
    s_event_files_t *state = (s_event_files_t *)arg;
    s_event_t event;
    int rc = s_read_event(line, &event);
    if (rc != TSR_OK)
        return rc;
    char *rel = tsr_fw_path_relative(event.file, state->workdir);
    if (*rel && !tsr_fw_strlist_has(state->files, rel))
        zlistx_add_end(state->files, rel);
    free(rel);
    return TSR_OK;
}

int
tsr_fw_npm_parse_event_files(const char *jsonl_path, const char *workdir, zlistx_t *files)
{
    assert(jsonl_path);
    assert(workdir);
    assert(files);
    zlistx_t *found = tsr_fw_strlist_new();
    s_event_files_t state = {workdir, found};
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_event_file, &state, NULL);
    if (rc == TSR_OK)
        for (const char *file = (const char *)zlistx_first(found); file;
             file = (const char *)zlistx_next(found))
            zlistx_add_end(files, (void *)file);
    zlistx_destroy(&found);
    return rc;
}

//  What we know of one test file while reading events
typedef struct {
    char *id;            //  owned: the file, relative
    size_t tests;        //  test results seen
    size_t failed_tests; //  of which failed
    bool file_seen;      //  a file line came
    bool file_failed;    //  it failed
    char *file_error;    //  owned: its error text, may be NULL
    double duration_ms;  //  of the file line
} s_file_state_t;

static void
s_file_state_destroy(void **item_p)
{
    s_file_state_t *state = (s_file_state_t *)*item_p;
    if (state) {
        free(state->id);
        free(state->file_error);
        free(state);
        *item_p = NULL;
    }
}

typedef struct {
    const char *workdir;    //  borrowed
    tsr_results_t *results; //  borrowed
    zlistx_t *files;        //  owned: s_file_state_t *, first seen first
    zhashx_t *by_file;      //  borrowed items (owner: files)
} s_events_t;

static s_file_state_t *
s_file_state(s_events_t *events, const char *rel)
{
    s_file_state_t *state = (s_file_state_t *)zhashx_lookup(events->by_file, rel);
    if (!state) {
        state = (s_file_state_t *)zmalloc(sizeof *state);
        state->id = strdup(rel);
        assert(state->id);
        zlistx_add_end(events->files, state);
        zhashx_insert(events->by_file, rel, state);
    }
    return state;
}

static int
s_on_event(const cJSON *line, void *arg)
{
    s_events_t *events = (s_events_t *)arg;
    s_event_t event;
    int rc = s_read_event(line, &event);
    if (rc != TSR_OK)
        return rc;
    Tessera__Outcome outcome;
    if (streq(event.outcome, "passed"))
        outcome = TESSERA__OUTCOME__PASSED;
    else if (streq(event.outcome, "failed"))
        outcome = TESSERA__OUTCOME__FAILED;
    else if (streq(event.outcome, "skipped") || streq(event.outcome, "todo"))
        outcome = TESSERA__OUTCOME__SKIPPED;
    else
        return TSR_EPARSE;
    char *rel = tsr_fw_path_relative(event.file, events->workdir);
    s_file_state_t *state = s_file_state(events, rel);
    if (streq(event.kind, "test")) {
        char *id = zsys_sprintf("%s::%s", rel, event.name);
        tsr_results_add(events->results, id, outcome,
                        tsr_fw_seconds_to_ms(event.duration_ms / 1000),
                        outcome == TESSERA__OUTCOME__FAILED ? event.error : NULL);
        zstr_free(&id);
        state->tests++;
        if (outcome == TESSERA__OUTCOME__FAILED)
            state->failed_tests++;
    } else if (streq(event.kind, "file")) {
        state->file_seen = true;
        state->file_failed = outcome == TESSERA__OUTCOME__FAILED;
        state->duration_ms = event.duration_ms;
        free(state->file_error);
        state->file_error = event.error ? strdup(event.error) : NULL;
    }
    free(rel);
    return TSR_OK;
}

int
tsr_fw_npm_parse_events(const char *jsonl_path, const char *workdir, tsr_results_t *results)
{
    assert(jsonl_path);
    assert(workdir);
    assert(results);
    s_events_t events = {workdir, results, zlistx_new(), zhashx_new()};
    zlistx_set_destructor(events.files, s_file_state_destroy);
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_event, &events, NULL);
    //  Files that failed outside their tests, or ran none: their own result
    for (const s_file_state_t *state = (const s_file_state_t *)zlistx_first(events.files); state;
         state = (const s_file_state_t *)zlistx_next(events.files)) {
        if (!state->file_seen)
            continue;
        uint64_t duration_ms = tsr_fw_seconds_to_ms(state->duration_ms / 1000);
        if (state->file_failed && state->failed_tests == 0)
            tsr_results_add(results, state->id, TESSERA__OUTCOME__ERROR, duration_ms,
                            state->file_error ? state->file_error : "the test file failed");
        else if (state->tests == 0)
            tsr_results_add(results, state->id, TESSERA__OUTCOME__PASSED, duration_ms, NULL);
    }
    zhashx_destroy(&events.by_file);
    zlistx_destroy(&events.files);
    return rc;
}

char *
tsr_fw_npm_group(const char *test_id)
{
    assert(test_id);
    const char *separator = strstr(test_id, "::");
    char *group = strndup(test_id, separator ? (size_t)(separator - test_id) : strlen(test_id));
    assert(group);
    return group;
}
