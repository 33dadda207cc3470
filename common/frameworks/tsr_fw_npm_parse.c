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

//  The path an item of a listing names: the item itself (a string) when
//  `field` is NULL, else its string `field`; NULL if it has none
static const char *
s_listed_path(const cJSON *item, const char *field)
{
    if (!field)
        return cJSON_IsString(item) ? item->valuestring : NULL;
    return tsr_fw_json_string(item, field);
}

//  A JSON array listing test files (see s_listed_path) -> `files`, relative
//  to `workdir`, each once, in order. TSR_EPARSE if any item names none.
static int
s_parse_listing(const char *json_path, const char *workdir, const char *field, zlistx_t *files)
{
    char *text = NULL;
    int rc = tsr_fw_file_read(json_path, TSR_NPM_JSON_MAX, &text);
    if (rc != TSR_OK)
        return rc;
    cJSON *list = cJSON_Parse(text);
    rc = cJSON_IsArray(list) ? TSR_OK : TSR_EPARSE;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (!s_listed_path(item, field))
            rc = TSR_EPARSE;
    }
    zlistx_t *found = tsr_fw_strlist_new();
    if (rc == TSR_OK) {
        cJSON_ArrayForEach(item, list)
        {
            char *rel = tsr_fw_path_relative(s_listed_path(item, field), workdir);
            if (!tsr_fw_strlist_has(found, rel))
                zlistx_add_end(found, rel);
            free(rel);
        }
        for (const char *file = (const char *)zlistx_first(found); file;
             file = (const char *)zlistx_next(found))
            zlistx_add_end(files, (void *)file);
    }
    zlistx_destroy(&found);
    cJSON_Delete(list);
    free(text);
    return rc;
}

int
tsr_fw_npm_parse_file_list(const char *json_path, const char *workdir, zlistx_t *files)
{
    assert(json_path);
    assert(workdir);
    assert(files);
    return s_parse_listing(json_path, workdir, NULL, files);
}

int
tsr_fw_npm_parse_vitest_list(const char *json_path, const char *workdir, zlistx_t *files)
{
    assert(json_path);
    assert(workdir);
    assert(files);
    return s_parse_listing(json_path, workdir, "file", files);
}

//  The kinds of our reporters' lines (tsr_fw_npm_scripts.c)
typedef enum {
    S_LINE_TEST,      //  a test finished
    S_LINE_SUITE,     //  a suite finished (node): not a result
    S_LINE_FILE,      //  a test file finished
    S_LINE_START,     //  a test started
    S_LINE_STOP,      //  a started test will get no result (mocha: its hook failed)
    S_LINE_FILESTART, //  a test file started
    S_LINE_FORGET,    //  the file's starts are lost (its process died)
    S_LINE_END,       //  the runner finished
} s_line_kind_t;

//  One line of our reporters, checked
typedef struct {
    s_line_kind_t kind;
    const char *file;  //  borrowed; "" when the runner gave none
    const char *name;  //  borrowed; the test's name path; NULL for file lines
    const char *match; //  borrowed; its full name as the runner's filter sees it; may be NULL
    Tessera__Outcome outcome; //  test, suite and file lines
    const char *error;        //  borrowed, may be NULL
    double duration_ms;
    bool crashed; //  file lines: the file's own process died
} s_event_t;

static int
s_read_event(const cJSON *line, s_event_t *event)
{
    static const struct {
        const char *name;
        s_line_kind_t kind;
    } kinds[] = {{"test", S_LINE_TEST},     {"suite", S_LINE_SUITE},
                 {"file", S_LINE_FILE},     {"start", S_LINE_START},
                 {"stop", S_LINE_STOP},     {"filestart", S_LINE_FILESTART},
                 {"forget", S_LINE_FORGET}, {"end", S_LINE_END}};
    memset(event, 0, sizeof *event);
    const char *kind = tsr_fw_json_string(line, "kind");
    size_t index = 0;
    while (kind && index < sizeof kinds / sizeof kinds[0] && !streq(kind, kinds[index].name))
        index++;
    if (!kind || index == sizeof kinds / sizeof kinds[0])
        return TSR_EPARSE;
    event->kind = kinds[index].kind;
    event->file = tsr_fw_json_string(line, "file");
    event->name = tsr_fw_json_string(line, "name");
    event->match = tsr_fw_json_string(line, "match");
    event->error = tsr_fw_json_string(line, "error");
    const cJSON *duration = cJSON_GetObjectItemCaseSensitive(line, "duration_ms");
    event->duration_ms = cJSON_IsNumber(duration) ? duration->valuedouble : 0;
    event->crashed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(line, "crashed"));
    if (!event->file)
        event->file = "";
    bool named = event->kind == S_LINE_TEST || event->kind == S_LINE_SUITE ||
                 event->kind == S_LINE_START || event->kind == S_LINE_STOP;
    if (named && !event->name)
        return TSR_EPARSE;
    if (event->kind != S_LINE_TEST && event->kind != S_LINE_SUITE && event->kind != S_LINE_FILE)
        return TSR_OK;
    const char *outcome = tsr_fw_json_string(line, "outcome");
    if (!outcome)
        return TSR_EPARSE;
    if (streq(outcome, "passed"))
        event->outcome = TESSERA__OUTCOME__PASSED;
    else if (streq(outcome, "failed"))
        event->outcome = TESSERA__OUTCOME__FAILED;
    else if (streq(outcome, "skipped") || streq(outcome, "todo"))
        event->outcome = TESSERA__OUTCOME__SKIPPED;
    else
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
    if (rc != TSR_OK || !*event.file)
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

//  ------------------------------------------------------------------------
//  Reports

//  One finished test of a file
typedef struct {
    char *name;  //  owned: name path
    char *match; //  owned: full name for the runner's filter; NULL if none
    Tessera__Outcome outcome;
    double duration_ms;
    char *error; //  owned, may be NULL
} s_test_t;

static void
s_test_destroy(void **item_p)
{
    s_test_t *test = (s_test_t *)*item_p;
    if (test) {
        free(test->name);
        free(test->match);
        free(test->error);
        free(test);
        *item_p = NULL;
    }
}

//  What a report says of one test file
typedef struct {
    char *id;            //  owned: the file, relative
    zlistx_t *tests;     //  owned: s_test_t *, finished tests (not suites), in order
    bool started;        //  a filestart line came
    bool ended;          //  a file line came
    bool failed;         //  it said failed
    bool crashed;        //  it said the file's process died
    char *error;         //  owned: its error text, may be NULL
    double duration_ms;  //  of the file line
    char *running;       //  owned: the last started test, until a result for it; NULL
    char *running_match; //  owned: its full name; NULL
    zlistx_t *done;      //  owned strings: full names of the tests with a result
} s_file_t;

static void
s_file_destroy(void **item_p)
{
    s_file_t *file = (s_file_t *)*item_p;
    if (file) {
        free(file->id);
        zlistx_destroy(&file->tests);
        free(file->error);
        free(file->running);
        free(file->running_match);
        zlistx_destroy(&file->done);
        free(file);
        *item_p = NULL;
    }
}

struct _tsr_fw_npm_report_t {
    char *workdir;     //  owned
    zlistx_t *files;   //  owned: s_file_t *, first seen first
    zhashx_t *by_file; //  relative path -> s_file_t * (borrowed from files)
    bool ended;        //  an "end" line came
};

void
tsr_fw_npm_report_destroy(tsr_fw_npm_report_t **self_p)
{
    assert(self_p);
    tsr_fw_npm_report_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->by_file);
    zlistx_destroy(&self->files);
    free(self->workdir);
    free(self);
    *self_p = NULL;
}

static s_file_t *
s_file(tsr_fw_npm_report_t *self, const char *path)
{
    char *rel = tsr_fw_path_relative(path, self->workdir);
    s_file_t *file = (s_file_t *)zhashx_lookup(self->by_file, rel);
    if (!file) {
        file = (s_file_t *)zmalloc(sizeof *file);
        file->id = rel;
        file->tests = zlistx_new();
        zlistx_set_destructor(file->tests, s_test_destroy);
        file->done = tsr_fw_strlist_new();
        zlistx_add_end(self->files, file);
        zhashx_insert(self->by_file, file->id, file);
    } else
        free(rel);
    return file;
}

static void
s_set_running(s_file_t *file, const char *name, const char *match)
{
    free(file->running);
    free(file->running_match);
    file->running = name ? strdup(name) : NULL;
    file->running_match = match ? strdup(match) : NULL;
}

static char *
s_strdup_or_null(const char *text)
{
    char *copy = text ? strdup(text) : NULL;
    assert(!text || copy);
    return copy;
}

static int
s_on_report_line(const cJSON *line, void *arg)
{
    tsr_fw_npm_report_t *self = (tsr_fw_npm_report_t *)arg;
    s_event_t event;
    int rc = s_read_event(line, &event);
    if (rc != TSR_OK)
        return rc;
    if (event.kind == S_LINE_END) {
        self->ended = true;
        return TSR_OK;
    }
    s_file_t *file = s_file(self, event.file);
    switch (event.kind) {
    case S_LINE_TEST:
    case S_LINE_SUITE:
        if (file->running && streq(file->running, event.name))
            s_set_running(file, NULL, NULL);
        if (event.kind == S_LINE_TEST) {
            s_test_t *test = (s_test_t *)zmalloc(sizeof *test);
            test->name = s_strdup_or_null(event.name);
            test->match = s_strdup_or_null(event.match);
            test->outcome = event.outcome;
            test->duration_ms = event.duration_ms;
            test->error = s_strdup_or_null(event.error);
            zlistx_add_end(file->tests, test);
        }
        break;
    case S_LINE_FILE:
        file->ended = true;
        file->failed = event.outcome == TESSERA__OUTCOME__FAILED;
        file->crashed = event.crashed;
        file->duration_ms = event.duration_ms;
        free(file->error);
        file->error = s_strdup_or_null(event.error);
        break;
    case S_LINE_START:
        s_set_running(file, event.name, event.match);
        break;
    case S_LINE_STOP:
        if (file->running && streq(file->running, event.name))
            s_set_running(file, NULL, NULL);
        break;
    case S_LINE_FILESTART:
        file->started = true;
        break;
    case S_LINE_FORGET:
        s_set_running(file, NULL, NULL);
        break;
    case S_LINE_END:
        break;
    }
    return TSR_OK;
}

int
tsr_fw_npm_report_read(const char *jsonl_path, const char *workdir,
                       tsr_fw_npm_report_t **report_out)
{
    assert(jsonl_path);
    assert(workdir);
    assert(report_out);
    *report_out = NULL;
    tsr_fw_npm_report_t *self = (tsr_fw_npm_report_t *)zmalloc(sizeof *self);
    self->workdir = strdup(workdir);
    assert(self->workdir);
    self->files = zlistx_new();
    zlistx_set_destructor(self->files, s_file_destroy);
    self->by_file = zhashx_new();
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_report_line, self, NULL);
    if (rc == TSR_OK)
        *report_out = self;
    else
        tsr_fw_npm_report_destroy(&self);
    return rc;
}

bool
tsr_fw_npm_report_ended(const tsr_fw_npm_report_t *self)
{
    assert(self);
    return self->ended;
}

//  Why a file's running test (or, with `test` false, the file) got `outcome`
static char *
s_death_text(const s_file_t *file, const tsr_fw_npm_end_t *end, bool file_died, bool test)
{
    const char *where = test ? "while this test ran" : "while this file ran, outside its tests";
    if (file_died)
        return zsys_sprintf("crashed: the test file's process died %s%s%s", where,
                            file->error ? "\n" : "", file->error ? file->error : "");
    if (end->timed_out)
        return zsys_sprintf("timed out: no output for the per-test limit %s; the runner was "
                            "killed",
                            where);
    if (end->exit_code == -1 && end->term_signal > 0)
        return zsys_sprintf("crashed: the runner was killed by signal %d (%s) %s", end->term_signal,
                            strsignal(end->term_signal), where);
    if (end->exit_code == -1)
        return zsys_sprintf("crashed: the runner was killed by a signal %s", where);
    return zsys_sprintf("crashed: the runner exited with code %d %s", end->exit_code, where);
}

void
tsr_fw_npm_report_account(tsr_fw_npm_report_t *self, const tsr_fw_npm_end_t *end, zhashx_t *skip,
                          zhashx_t *only, tsr_results_t *results, zlistx_t *resume)
{
    assert(self);
    assert(results);
    //  The runner died: killed by us or a signal, or it never said it ended
    bool died = end && (end->timed_out || end->exit_code == -1 || !self->ended);
    for (s_file_t *file = (s_file_t *)zlistx_first(self->files); file;
         file = (s_file_t *)zlistx_next(self->files)) {
        if (only && !zhashx_lookup(only, file->id))
            continue;
        zlistx_purge(file->done);
        size_t failed_tests = 0;
        for (const s_test_t *test = (const s_test_t *)zlistx_first(file->tests); test;
             test = (const s_test_t *)zlistx_next(file->tests)) {
            if (test->match && skip && zhashx_lookup(skip, test->match))
                continue; //  excluded from this run: reported by an earlier one
            char *id = zsys_sprintf("%s::%s", file->id, test->name);
            tsr_results_add(results, id, test->outcome,
                            tsr_fw_seconds_to_ms(test->duration_ms / 1000),
                            test->outcome == TESSERA__OUTCOME__FAILED ? test->error : NULL);
            zstr_free(&id);
            if (test->outcome == TESSERA__OUTCOME__FAILED)
                failed_tests++;
            if (test->match)
                zlistx_add_end(file->done, test->match);
        }
        uint64_t duration_ms = tsr_fw_seconds_to_ms(file->duration_ms / 1000);
        //  What died in this file, if anything
        //  (a file that started and never finished died, whatever the runner says)
        bool runner_died = end && !file->ended && (died || file->started);
        bool file_died = end && file->ended && file->crashed;
        Tessera__Outcome outcome =
            runner_died && end->timed_out ? TESSERA__OUTCOME__TIMED_OUT : TESSERA__OUTCOME__CRASHED;
        if ((runner_died || file_died) && file->running) {
            char *id = zsys_sprintf("%s::%s", file->id, file->running);
            char *text = s_death_text(file, end, file_died, true);
            tsr_results_add(results, id, outcome, 0, text);
            zstr_free(&text);
            zstr_free(&id);
            if (file->running_match)
                zlistx_add_end(file->done, file->running_match);
            if (resume)
                zlistx_add_end(resume, file->id);
        } else if ((runner_died && file->started) || file_died) {
            char *text = s_death_text(file, end, file_died, false);
            tsr_results_add(results, file->id, outcome, duration_ms, text);
            zstr_free(&text);
        } else if (file->ended && file->failed && failed_tests == 0)
            tsr_results_add(results, file->id, TESSERA__OUTCOME__ERROR, duration_ms,
                            file->error ? file->error : "the test file failed");
        else if (file->ended && zlistx_size(file->tests) == 0)
            tsr_results_add(results, file->id, TESSERA__OUTCOME__PASSED, duration_ms, NULL);
    }
}

void
tsr_fw_npm_report_done(tsr_fw_npm_report_t *self, const char *file, zlistx_t *names)
{
    assert(self);
    assert(file);
    assert(names);
    const s_file_t *state = (const s_file_t *)zhashx_lookup(self->by_file, file);
    if (!state)
        return;
    for (const char *name = (const char *)zlistx_first(state->done); name;
         name = (const char *)zlistx_next(state->done))
        zlistx_add_end(names, (void *)name);
}

int
tsr_fw_npm_parse_events(const char *jsonl_path, const char *workdir, tsr_results_t *results)
{
    assert(jsonl_path);
    assert(workdir);
    assert(results);
    tsr_fw_npm_report_t *report = NULL;
    int rc = tsr_fw_npm_report_read(jsonl_path, workdir, &report);
    if (rc == TSR_OK)
        tsr_fw_npm_report_account(report, NULL, NULL, NULL, results, NULL);
    tsr_fw_npm_report_destroy(&report);
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
