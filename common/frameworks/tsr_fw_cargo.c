/*  tsr_fw_cargo - the cargo adapter (see tsr_fw_cargo.h for ids and tools)
    Parsers read cargo's and libtest's JSON lines with cJSON; procedures run
    cargo and the test binaries through the ctx, on an agent worker thread. */
#include "tsr_fw_cargo.h"
#include "tsr_fw_io.h"
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  Largest `cargo metadata` we read
#define TSR_CARGO_METADATA_MAX (64u << 20)
//  Bytes of test names per test-binary invocation (Linux: 128 KiB per
//  argument, ~2 MiB for all with the environment)
#define TSR_CARGO_NAMES_PER_RUN (256u << 10)

//  cargo test options that take a value as the next argument
static const char *const s_cargo_value_options[] = {
    "-p",       "--package",      "--exclude", "--bin",     "--test",
    "--example", "--bench",       "-F",        "--features", "-j",
    "--jobs",   "--profile",      "--target",  "--target-dir", "--manifest-path",
    "--color",  "--message-format", "--config", "-Z",       "--lockfile-path",
    NULL};

//  Options choosing targets: a command with one runs no doctests
static const char *const s_target_options[] = {
    "--lib",      "--bin",      "--bins",    "--test",   "--tests",      "--bench",
    "--benches",  "--example",  "--examples", "--all-targets", "--doc", NULL};

//  Options choosing packages: `cargo test --doc -p PKG` replaces them
static const char *const s_package_options[] = {"-p", "--package", "--workspace", "--all",
                                                "--exclude", NULL};

//  libtest options that take a value as the next argument
static const char *const s_test_value_options[] = {
    "--test-threads", "--skip", "--format", "--logfile", "--color", "-Z", "--shuffle-seed", NULL};

//  libtest options we set ourselves (their values too)
static const char *const s_test_owned_options[] = {"--format", "-Z", "--list", "-q", "--quiet",
                                                   NULL};

//  `arg` is one of `names`, as is or as "name=value"
static bool
s_option_in(const char *arg, const char *const *names)
{
    for (size_t index = 0; names[index]; index++) {
        size_t length = strlen(names[index]);
        if (strncmp(arg, names[index], length) == 0 &&
            (arg[length] == '\0' || (arg[length] == '=' && names[index][1] == '-')))
            return true;
    }
    return false;
}

//  `arg` is one of `names` exactly (its value follows as the next argument)
static bool
s_option_takes_next(const char *arg, const char *const *names)
{
    for (size_t index = 0; names[index]; index++)
        if (streq(arg, names[index]))
            return true;
    return false;
}

void
tsr_fw_cargo_cmd_destroy(tsr_fw_cargo_cmd_t **self_p)
{
    assert(self_p);
    tsr_fw_cargo_cmd_t *self = *self_p;
    if (!self)
        return;
    zlistx_destroy(&self->prefix);
    zlistx_destroy(&self->cargo_args);
    zlistx_destroy(&self->test_args);
    zlistx_destroy(&self->filters);
    free(self->manifest_path);
    free(self);
    *self_p = NULL;
}

int
tsr_fw_cargo_cmd_parse(const char *const *argv, tsr_fw_cargo_cmd_t **cmd_out)
{
    assert(cmd_out);
    *cmd_out = NULL;
    if (!argv || !argv[0])
        return TSR_EINVAL;
    //  Find the subcommand past cargo's global options (+toolchain, --config X)
    size_t index = 1;
    while (argv[index] && !streq(argv[index], "test") && !streq(argv[index], "t")) {
        if (s_option_takes_next(argv[index],
                                (const char *const[]){"--config", "-Z", "--color", "-C", NULL}))
            index++;
        else if (argv[index][0] != '-' && argv[index][0] != '+')
            return TSR_EINVAL; //  another subcommand
        if (argv[index])
            index++;
    }
    if (!argv[index])
        return TSR_EINVAL;
    tsr_fw_cargo_cmd_t *self = (tsr_fw_cargo_cmd_t *)zmalloc(sizeof *self);
    self->prefix = tsr_fw_strlist_new();
    self->cargo_args = tsr_fw_strlist_new();
    self->test_args = tsr_fw_strlist_new();
    self->filters = tsr_fw_strlist_new();
    for (size_t prefix = 0; prefix < index; prefix++)
        zlistx_add_end(self->prefix, (void *)argv[prefix]);
    bool selects_targets = false;
    for (index++; argv[index] && !streq(argv[index], "--"); index++) {
        const char *arg = argv[index];
        if (arg[0] != '-') {
            zlistx_add_end(self->filters, (void *)arg); //  TESTNAME
            continue;
        }
        if (s_option_in(arg, s_target_options))
            selects_targets = true;
        if (streq(arg, "--doc"))
            self->doc_only = true;
        zlistx_add_end(self->cargo_args, (void *)arg);
        const char *value = NULL;
        if (s_option_takes_next(arg, s_cargo_value_options) && argv[index + 1]) {
            value = argv[++index];
            zlistx_add_end(self->cargo_args, (void *)value);
        }
        else if (strncmp(arg, "--manifest-path=", 16) == 0)
            value = arg + 16;
        if (value && strncmp(arg, "--manifest-path", 15) == 0) {
            free(self->manifest_path);
            self->manifest_path = strdup(value);
        }
    }
    if (argv[index]) //  "--": the test binaries' arguments
        for (index++; argv[index]; index++) {
            const char *arg = argv[index];
            if (arg[0] != '-')
                zlistx_add_end(self->filters, (void *)arg);
            else {
                zlistx_add_end(self->test_args, (void *)arg);
                if (s_option_takes_next(arg, s_test_value_options) && argv[index + 1])
                    zlistx_add_end(self->test_args, (void *)argv[++index]);
            }
        }
    self->doctests = self->doc_only || !selects_targets;
    *cmd_out = self;
    return TSR_OK;
}

//  Append the user's test arguments minus the ones we own (--format, -Z,
//  --list, -q) and, when `keep_exact` is false, --exact
static void
s_add_test_args(const tsr_fw_cargo_cmd_t *cmd, zlistx_t *argv, bool keep_exact)
{
    bool skip_value = false;
    for (const char *arg = (const char *)zlistx_first(cmd->test_args); arg;
         arg = (const char *)zlistx_next(cmd->test_args)) {
        if (skip_value) {
            skip_value = false;
            continue;
        }
        if (s_option_in(arg, s_test_owned_options) || (!keep_exact && streq(arg, "--exact"))) {
            skip_value = s_option_takes_next(arg, s_test_value_options);
            continue;
        }
        zlistx_add_end(argv, (void *)arg);
    }
}

//  Append the user's cargo arguments without those choosing targets or
//  packages (for `cargo test --doc -p PKG`)
static void
s_add_doc_cargo_args(const tsr_fw_cargo_cmd_t *cmd, zlistx_t *argv)
{
    bool skip_value = false;
    for (const char *arg = (const char *)zlistx_first(cmd->cargo_args); arg;
         arg = (const char *)zlistx_next(cmd->cargo_args)) {
        if (skip_value) {
            skip_value = false;
            continue;
        }
        if (s_option_in(arg, s_target_options) || s_option_in(arg, s_package_options)) {
            skip_value = s_option_takes_next(arg, s_cargo_value_options);
            continue;
        }
        zlistx_add_end(argv, (void *)arg);
    }
}

//  ------------------------------------------------------------------------
//  Parsers

static void
s_package_destroy(void **item_p)
{
    tsr_fw_cargo_package_t *package = (tsr_fw_cargo_package_t *)*item_p;
    if (package) {
        free(package->name);
        free(package->version);
        free(package->manifest_dir);
        free(package);
        *item_p = NULL;
    }
}

//  The directory of a path, a new string
static char *
s_dirname(const char *path)
{
    char *copy = strdup(path);
    assert(copy);
    char *directory = strdup(dirname(copy));
    assert(directory);
    free(copy);
    return directory;
}

//  A library kind (lib, rlib, dylib, proc-macro, ...) or one of bin, test,
//  bench, example: our binary id's kind
static const char *
s_target_kind(const cJSON *target)
{
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(target, "kind");
    const cJSON *kind;
    cJSON_ArrayForEach(kind, kinds)
    {
        if (!cJSON_IsString(kind))
            continue;
        const char *const plain[] = {"bin", "test", "bench", "example", "custom-build", NULL};
        for (size_t index = 0; plain[index]; index++)
            if (streq(kind->valuestring, plain[index]))
                return plain[index];
    }
    return "lib";
}

int
tsr_fw_cargo_parse_metadata(const char *json_path, zhashx_t *packages, zlistx_t *default_members)
{
    assert(json_path);
    assert(packages);
    zhashx_set_destructor(packages, s_package_destroy);
    char *text = NULL;
    int rc = tsr_fw_file_read(json_path, TSR_CARGO_METADATA_MAX, &text);
    if (rc != TSR_OK)
        return rc;
    cJSON *metadata = cJSON_Parse(text);
    const cJSON *package_list = cJSON_GetObjectItemCaseSensitive(metadata, "packages");
    rc = TSR_EPARSE;
    if (!cJSON_IsArray(package_list))
        goto out;
    const cJSON *package;
    cJSON_ArrayForEach(package, package_list)
    {
        const char *id = tsr_fw_json_string(package, "id");
        const char *name = tsr_fw_json_string(package, "name");
        const char *version = tsr_fw_json_string(package, "version");
        const char *manifest_path = tsr_fw_json_string(package, "manifest_path");
        if (!id || !name || !version || !manifest_path)
            goto out;
        tsr_fw_cargo_package_t *entry = (tsr_fw_cargo_package_t *)zmalloc(sizeof *entry);
        entry->name = strdup(name);
        entry->version = strdup(version);
        entry->manifest_dir = s_dirname(manifest_path);
        const cJSON *target;
        cJSON_ArrayForEach(target, cJSON_GetObjectItemCaseSensitive(package, "targets"))
        {
            if (streq(s_target_kind(target), "lib") &&
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(target, "doctest")))
                entry->doctests = true;
        }
        zhashx_update(packages, id, entry);
    }
    if (default_members) {
        const cJSON *members =
            cJSON_GetObjectItemCaseSensitive(metadata, "workspace_default_members");
        if (!cJSON_IsArray(members)) //  older cargo
            members = cJSON_GetObjectItemCaseSensitive(metadata, "workspace_members");
        const cJSON *member;
        cJSON_ArrayForEach(member, members)
        {
            if (cJSON_IsString(member))
                zlistx_add_end(default_members, member->valuestring);
        }
    }
    rc = TSR_OK;
out:
    cJSON_Delete(metadata);
    free(text);
    return rc;
}

static void
s_binary_destroy(void **item_p)
{
    tsr_fw_cargo_binary_t *binary = (tsr_fw_cargo_binary_t *)*item_p;
    if (binary) {
        free(binary->id);
        free(binary->package);
        free(binary->version);
        free(binary->target);
        free(binary->executable);
        free(binary->manifest_dir);
        free(binary);
        *item_p = NULL;
    }
}

static int
s_binary_compare(const void *left, const void *right)
{
    return strcmp(((const tsr_fw_cargo_binary_t *)left)->id,
                  ((const tsr_fw_cargo_binary_t *)right)->id);
}

typedef struct {
    zhashx_t *packages;  //  borrowed, may be NULL
    zlistx_t *binaries;  //  borrowed
    zlistx_t *errors;    //  borrowed, may be NULL
    bool build_failed;   //  build-finished with success false
} s_artifacts_t;

//  "package/kind/target" of a message's package_id and target, a new string;
//  the package named from metadata, else after the target
static char *
s_binary_id(const cJSON *message, zhashx_t *packages, const tsr_fw_cargo_package_t **package_out)
{
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(message, "target");
    const char *package_id = tsr_fw_json_string(message, "package_id");
    const char *target_name = tsr_fw_json_string(target, "name");
    if (!target_name)
        return NULL;
    const tsr_fw_cargo_package_t *package =
        packages && package_id ? (const tsr_fw_cargo_package_t *)zhashx_lookup(packages, package_id)
                               : NULL;
    if (package_out)
        *package_out = package;
    char *id = zsys_sprintf("%s/%s/%s", package ? package->name : target_name,
                            s_target_kind(target), target_name);
    assert(id);
    return id;
}

static bool
s_has_binary(zlistx_t *binaries, const char *id)
{
    for (const tsr_fw_cargo_binary_t *binary = (const tsr_fw_cargo_binary_t *)zlistx_first(binaries);
         binary; binary = (const tsr_fw_cargo_binary_t *)zlistx_next(binaries))
        if (streq(binary->id, id))
            return true;
    return false;
}

static int
s_on_artifact_line(const cJSON *line, void *arg)
{
    s_artifacts_t *artifacts = (s_artifacts_t *)arg;
    const char *reason = tsr_fw_json_string(line, "reason");
    if (!reason)
        return TSR_OK;
    if (streq(reason, "compiler-artifact")) {
        const cJSON *profile = cJSON_GetObjectItemCaseSensitive(line, "profile");
        const char *executable = tsr_fw_json_string(line, "executable");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(profile, "test")) || !executable)
            return TSR_OK;
        const tsr_fw_cargo_package_t *package = NULL;
        char *id = s_binary_id(line, artifacts->packages, &package);
        const char *manifest_path = tsr_fw_json_string(line, "manifest_path");
        if (!id || !manifest_path)
            goto bad;
        if (s_has_binary(artifacts->binaries, id)) { //  same target twice: keep one
            free(id);
            return TSR_OK;
        }
        tsr_fw_cargo_binary_t *binary = (tsr_fw_cargo_binary_t *)zmalloc(sizeof *binary);
        binary->id = id;
        binary->target = strdup(tsr_fw_json_string(cJSON_GetObjectItemCaseSensitive(line, "target"),
                                                    "name"));
        binary->package = strdup(package ? package->name : binary->target);
        binary->version = strdup(package ? package->version : "");
        binary->executable = strdup(executable);
        binary->manifest_dir = s_dirname(manifest_path);
        zlistx_add_end(artifacts->binaries, binary);
        return TSR_OK;
    bad:
        free(id);
        return TSR_EPARSE;
    }
    if (streq(reason, "compiler-message") && artifacts->errors) {
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(line, "message");
        const char *level = tsr_fw_json_string(message, "level");
        if (level && streq(level, "error")) {
            char *id = s_binary_id(line, artifacts->packages, NULL);
            if (id && !tsr_fw_strlist_has(artifacts->errors, id))
                zlistx_add_end(artifacts->errors, id);
            free(id);
        }
        return TSR_OK;
    }
    if (streq(reason, "build-finished") &&
        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(line, "success")))
        artifacts->build_failed = true;
    return TSR_OK;
}

int
tsr_fw_cargo_parse_artifacts(const char *jsonl_path, zhashx_t *packages, zlistx_t *binaries,
                             zlistx_t *errors)
{
    assert(jsonl_path);
    assert(binaries);
    zlistx_set_destructor(binaries, s_binary_destroy);
    zlistx_set_comparator(binaries, s_binary_compare);
    s_artifacts_t artifacts = {packages, binaries, errors, false};
    size_t objects = 0;
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_artifact_line, &artifacts, &objects);
    if (rc == TSR_OK && objects == 0)
        rc = TSR_EPARSE;
    if (rc != TSR_OK)
        return rc;
    if (artifacts.build_failed && errors && zlistx_size(errors) == 0)
        zlistx_add_end(errors, "cargo::build");
    zlistx_sort(binaries);
    return TSR_OK;
}

typedef struct {
    const char *binary_id; //  prefix of the ids
    zlistx_t *test_ids;    //  borrowed; NULL to count only
    size_t count;          //  tests seen
    size_t events;         //  libtest events seen
} s_listing_t;

static int
s_on_list_line(const cJSON *line, void *arg)
{
    s_listing_t *listing = (s_listing_t *)arg;
    const char *type = tsr_fw_json_string(line, "type");
    const char *event = tsr_fw_json_string(line, "event");
    if (!type || !event)
        return TSR_OK; //  cargo's own messages in the stream
    listing->events++;
    if (!streq(type, "test") || !streq(event, "discovered"))
        return TSR_OK;
    const char *name = tsr_fw_json_string(line, "name");
    if (!name)
        return TSR_EPARSE;
    listing->count++;
    if (listing->test_ids)
        tsr_fw_strlist_addf(listing->test_ids, "%s::%s", listing->binary_id, name);
    return TSR_OK;
}

static int
s_read_listing(const char *jsonl_path, s_listing_t *listing)
{
    size_t objects = 0;
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_list_line, listing, &objects);
    if (rc == TSR_OK && listing->events == 0)
        rc = TSR_EPARSE;
    return rc;
}

int
tsr_fw_cargo_parse_list(const char *jsonl_path, const char *binary_id, zlistx_t *test_ids)
{
    assert(jsonl_path);
    assert(binary_id);
    assert(test_ids);
    //  All or nothing: collect aside, then move
    zlistx_t *found = tsr_fw_strlist_new();
    s_listing_t listing = {binary_id, found, 0, 0};
    int rc = s_read_listing(jsonl_path, &listing);
    if (rc == TSR_OK)
        for (char *id = (char *)zlistx_first(found); id; id = (char *)zlistx_next(found))
            zlistx_add_end(test_ids, id);
    zlistx_destroy(&found);
    return rc;
}

int
tsr_fw_cargo_count_listed(const char *jsonl_path, size_t *count_out)
{
    assert(jsonl_path);
    assert(count_out);
    s_listing_t listing = {"", NULL, 0, 0};
    int rc = s_read_listing(jsonl_path, &listing);
    *count_out = rc == TSR_OK ? listing.count : 0;
    return rc;
}

//  A libtest "test" event that ends a test: its outcome, or
//  TESSERA__OUTCOME__OUTCOME_UNKNOWN for other events (started, timeout warnings)
static Tessera__Outcome
s_event_outcome(const char *event)
{
    if (streq(event, "ok"))
        return TESSERA__OUTCOME__PASSED;
    if (streq(event, "failed"))
        return TESSERA__OUTCOME__FAILED;
    if (streq(event, "ignored"))
        return TESSERA__OUTCOME__SKIPPED;
    return TESSERA__OUTCOME__OUTCOME_UNKNOWN;
}

//  The captured output or message of a finished-test event, or NULL
static const char *
s_event_message(const cJSON *line)
{
    const char *text = tsr_fw_json_string(line, "stdout");
    return text ? text : tsr_fw_json_string(line, "message");
}

typedef struct {
    const char *binary_id;  //  prefix of the ids
    tsr_results_t *results; //  borrowed
    size_t events;          //  libtest events seen
} s_run_events_t;

static int
s_on_run_line(const cJSON *line, void *arg)
{
    s_run_events_t *run = (s_run_events_t *)arg;
    const char *type = tsr_fw_json_string(line, "type");
    const char *event = tsr_fw_json_string(line, "event");
    if (!type || !event)
        return TSR_OK;
    run->events++;
    if (!streq(type, "test"))
        return TSR_OK;
    Tessera__Outcome outcome = s_event_outcome(event);
    if (outcome == TESSERA__OUTCOME__OUTCOME_UNKNOWN)
        return TSR_OK;
    const char *name = tsr_fw_json_string(line, "name");
    if (!name)
        return TSR_EPARSE;
    const cJSON *exec_time = cJSON_GetObjectItemCaseSensitive(line, "exec_time");
    char *id = zsys_sprintf("%s::%s", run->binary_id, name);
    tsr_results_add(run->results, id, outcome,
                    cJSON_IsNumber(exec_time) ? tsr_fw_seconds_to_ms(exec_time->valuedouble) : 0,
                    outcome == TESSERA__OUTCOME__FAILED ? s_event_message(line) : NULL);
    zstr_free(&id);
    return TSR_OK;
}

//  Whether a file has any byte (an empty report: the binary died at once)
static bool
s_is_empty(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return false;
    bool empty = fgetc(file) == EOF;
    fclose(file);
    return empty;
}

int
tsr_fw_cargo_parse_run(const char *jsonl_path, const char *binary_id, tsr_results_t *results)
{
    assert(jsonl_path);
    assert(binary_id);
    assert(results);
    s_run_events_t run = {binary_id, results, 0};
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_run_line, &run, NULL);
    if (rc == TSR_OK && run.events == 0 && !s_is_empty(jsonl_path))
        rc = TSR_EPARSE;
    return rc;
}

typedef struct {
    size_t events;         //  libtest events seen
    size_t passed;         //  doctests by outcome
    size_t failed;
    size_t ignored;
    zchunk_t *failures;    //  owned: names of failed doctests, then the first output
    char *first_output;    //  owned: output of the first failure
} s_doctests_t;

static int
s_on_doctest_line(const cJSON *line, void *arg)
{
    s_doctests_t *doctests = (s_doctests_t *)arg;
    const char *type = tsr_fw_json_string(line, "type");
    const char *event = tsr_fw_json_string(line, "event");
    if (!type || !event)
        return TSR_OK;
    doctests->events++;
    if (!streq(type, "test"))
        return TSR_OK;
    Tessera__Outcome outcome = s_event_outcome(event);
    const char *name = tsr_fw_json_string(line, "name");
    if (outcome == TESSERA__OUTCOME__PASSED)
        doctests->passed++;
    else if (outcome == TESSERA__OUTCOME__SKIPPED)
        doctests->ignored++;
    else if (outcome == TESSERA__OUTCOME__FAILED) {
        doctests->failed++;
        char *entry = zsys_sprintf("FAILED %s\n", name ? name : "?");
        zchunk_extend(doctests->failures, entry, strlen(entry));
        zstr_free(&entry);
        const char *output = s_event_message(line);
        if (output && !doctests->first_output)
            doctests->first_output = strdup(output);
    }
    return TSR_OK;
}

int
tsr_fw_cargo_parse_doctests(const char *jsonl_path, const char *test_id, int exit_code,
                            uint64_t duration_ms, tsr_results_t *results)
{
    assert(jsonl_path);
    assert(test_id);
    assert(results);
    s_doctests_t doctests = {0};
    doctests.failures = zchunk_new(NULL, 0);
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_doctest_line, &doctests, NULL);
    if (rc == TSR_OK && doctests.events == 0 && !s_is_empty(jsonl_path))
        rc = TSR_EPARSE;
    if (rc == TSR_OK) {
        if (doctests.failed > 0) {
            if (doctests.first_output)
                zchunk_extend(doctests.failures, doctests.first_output,
                              strlen(doctests.first_output));
            char *message = zsys_sprintf("%.*s", (int)zchunk_size(doctests.failures),
                                         (const char *)zchunk_data(doctests.failures));
            tsr_results_add(results, test_id, TESSERA__OUTCOME__FAILED, duration_ms, message);
            zstr_free(&message);
        }
        else if (doctests.passed > 0)
            tsr_results_add(results, test_id, TESSERA__OUTCOME__PASSED, duration_ms, NULL);
        else if (doctests.ignored > 0)
            tsr_results_add(results, test_id, TESSERA__OUTCOME__SKIPPED, duration_ms, NULL);
        else if (exit_code == 0)
            tsr_results_add(results, test_id, TESSERA__OUTCOME__PASSED, duration_ms, NULL);
        else {
            char *message = zsys_sprintf("cargo test --doc failed with exit code %d before "
                                         "running doctests (see the shard log)",
                                         exit_code);
            tsr_results_add(results, test_id, TESSERA__OUTCOME__ERROR, duration_ms, message);
            zstr_free(&message);
        }
    }
    zchunk_destroy(&doctests.failures);
    free(doctests.first_output);
    return rc;
}

char *
tsr_fw_cargo_group(const char *test_id)
{
    assert(test_id);
    const char *separator = strstr(test_id, "::");
    char *group = strndup(test_id, separator ? (size_t)(separator - test_id) : strlen(test_id));
    assert(group);
    return group;
}

//  ------------------------------------------------------------------------
//  Procedures

//  Everything one list or run needs
typedef struct {
    tsr_fw_ctx_t *ctx;         //  borrowed
    tsr_fw_cargo_cmd_t *cmd;   //  owned
    zhashx_t *packages;        //  owned: package id -> tsr_fw_cargo_package_t *
    zlistx_t *default_members; //  owned strings: package ids
    zlistx_t *binaries;        //  owned: tsr_fw_cargo_binary_t *
    zlistx_t *env;             //  owned strings: CARGO_TARGET_DIR for cargo
    int build_exit_code;       //  of `cargo test --no-run`
    size_t reports;            //  scratch report files made, for unique names
} s_session_t;

static void
s_session_destroy(s_session_t **self_p)
{
    s_session_t *self = *self_p;
    if (!self)
        return;
    tsr_fw_cargo_cmd_destroy(&self->cmd);
    zhashx_destroy(&self->packages);
    zlistx_destroy(&self->default_members);
    zlistx_destroy(&self->binaries);
    zlistx_destroy(&self->env);
    free(self);
    *self_p = NULL;
}

static int
s_session_new(tsr_fw_ctx_t *ctx, s_session_t **self_out)
{
    *self_out = NULL;
    tsr_fw_cargo_cmd_t *cmd = NULL;
    int rc = tsr_fw_cargo_cmd_parse(ctx->argv, &cmd);
    if (rc != TSR_OK)
        return rc;
    s_session_t *self = (s_session_t *)zmalloc(sizeof *self);
    self->ctx = ctx;
    self->cmd = cmd;
    self->packages = zhashx_new();
    self->default_members = tsr_fw_strlist_new();
    self->binaries = zlistx_new();
    self->env = tsr_fw_strlist_new();
    if (ctx->cache_dir)
        tsr_fw_strlist_addf(self->env, "CARGO_TARGET_DIR=%s/target", ctx->cache_dir);
    *self_out = self;
    return TSR_OK;
}

//  A fresh scratch report path, a new string
static char *
s_report_path(s_session_t *self, const char *kind)
{
    char *name = zsys_sprintf("cargo-%s-%zu.jsonl", kind, self->reports++);
    char *path = tsr_fw_scratch_path(self->ctx, name);
    zstr_free(&name);
    unlink(path);
    return path;
}

//  `cargo metadata --no-deps`: names and directories of the packages
static int
s_load_metadata(s_session_t *self)
{
    char *report = s_report_path(self, "metadata");
    zlistx_t *argv = tsr_fw_strlist_new();
    zlistx_t *prefix = self->cmd->prefix;
    for (const char *arg = (const char *)zlistx_first(prefix); arg;
         arg = (const char *)zlistx_next(prefix))
        zlistx_add_end(argv, (void *)arg);
    tsr_fw_strlist_addf(argv, "metadata");
    tsr_fw_strlist_addf(argv, "--no-deps");
    tsr_fw_strlist_addf(argv, "--format-version");
    tsr_fw_strlist_addf(argv, "1");
    if (self->cmd->manifest_path)
        tsr_fw_strlist_addf(argv, "--manifest-path=%s", self->cmd->manifest_path);
    int exit_code;
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, self->env, &exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_parse_metadata(report, self->packages, self->default_members);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

//  `cargo <prefix> test <cargo args> <extra...>` into a new string list
static zlistx_t *
s_cargo_test_argv(s_session_t *self, bool with_cargo_args)
{
    zlistx_t *argv = tsr_fw_strlist_new();
    for (const char *arg = (const char *)zlistx_first(self->cmd->prefix); arg;
         arg = (const char *)zlistx_next(self->cmd->prefix))
        zlistx_add_end(argv, (void *)arg);
    tsr_fw_strlist_addf(argv, "test");
    if (with_cargo_args)
        for (const char *arg = (const char *)zlistx_first(self->cmd->cargo_args); arg;
             arg = (const char *)zlistx_next(self->cmd->cargo_args))
            zlistx_add_end(argv, (void *)arg);
    return argv;
}

//  `cargo test --no-run --message-format=json`: build, and find the binaries
static int
s_build(s_session_t *self, zlistx_t *errors)
{
    char *report = s_report_path(self, "build");
    zlistx_t *argv = s_cargo_test_argv(self, true);
    tsr_fw_strlist_addf(argv, "--no-run");
    tsr_fw_strlist_addf(argv, "--message-format=json");
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, self->env, &self->build_exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_parse_artifacts(report, self->packages, self->binaries, errors);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

//  The environment of a test binary: what cargo gives it at run time
static zlistx_t *
s_binary_env(const tsr_fw_cargo_binary_t *binary)
{
    zlistx_t *env = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(env, "RUSTC_BOOTSTRAP=1"); //  for --format json: see the header
    tsr_fw_strlist_addf(env, "CARGO_MANIFEST_DIR=%s", binary->manifest_dir);
    tsr_fw_strlist_addf(env, "CARGO_PKG_NAME=%s", binary->package);
    tsr_fw_strlist_addf(env, "CARGO_PKG_VERSION=%s", binary->version);
    char *crate_name = strdup(binary->target);
    assert(crate_name);
    for (char *scan = crate_name; *scan; scan++)
        if (*scan == '-')
            *scan = '_';
    tsr_fw_strlist_addf(env, "CARGO_CRATE_NAME=%s", crate_name);
    free(crate_name);
    return env;
}

static int
s_list_binary(s_session_t *self, const tsr_fw_cargo_binary_t *binary, zlistx_t *test_ids)
{
    char *report = s_report_path(self, "list");
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_strlist_addf(argv, "%s", binary->executable);
    tsr_fw_strlist_addf(argv, "--list");
    tsr_fw_strlist_addf(argv, "--format");
    tsr_fw_strlist_addf(argv, "json");
    tsr_fw_strlist_addf(argv, "-Z");
    tsr_fw_strlist_addf(argv, "unstable-options");
    s_add_test_args(self->cmd, argv, true);
    for (const char *filter = (const char *)zlistx_first(self->cmd->filters); filter;
         filter = (const char *)zlistx_next(self->cmd->filters))
        zlistx_add_end(argv, (void *)filter);
    zlistx_t *env = s_binary_env(binary);
    int exit_code;
    int rc = tsr_fw_exec(self->ctx, argv, binary->manifest_dir, report, env, &exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_parse_list(report, binary->id, test_ids);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

//  `cargo test --doc -p PKG [cargo args] -- -Z unstable-options --format json
//  [more]`: a new string list
static zlistx_t *
s_doc_argv(s_session_t *self, const char *package)
{
    zlistx_t *argv = s_cargo_test_argv(self, false);
    tsr_fw_strlist_addf(argv, "--doc");
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "%s", package);
    s_add_doc_cargo_args(self->cmd, argv);
    tsr_fw_strlist_addf(argv, "--");
    tsr_fw_strlist_addf(argv, "-Z");
    tsr_fw_strlist_addf(argv, "unstable-options");
    tsr_fw_strlist_addf(argv, "--format");
    tsr_fw_strlist_addf(argv, "json");
    return argv;
}

//  cargo's environment plus RUSTC_BOOTSTRAP=1 for rustdoc's test harness
static zlistx_t *
s_doc_env(s_session_t *self)
{
    zlistx_t *env = zlistx_dup(self->env);
    tsr_fw_strlist_addf(env, "RUSTC_BOOTSTRAP=1");
    return env;
}

//  Packages whose doctests the command runs: those with test binaries built
//  (or, with --doc, those named by -p, else the default members), if their
//  library has doctests. Appends package names to `names`.
static void
s_doctest_packages(s_session_t *self, zlistx_t *names)
{
    zlistx_t *candidates = tsr_fw_strlist_new();
    if (!self->cmd->doc_only) {
        for (const tsr_fw_cargo_binary_t *binary =
                 (const tsr_fw_cargo_binary_t *)zlistx_first(self->binaries);
             binary; binary = (const tsr_fw_cargo_binary_t *)zlistx_next(self->binaries))
            zlistx_add_end(candidates, binary->package);
    }
    else {
        bool take_next = false;
        for (const char *arg = (const char *)zlistx_first(self->cmd->cargo_args); arg;
             arg = (const char *)zlistx_next(self->cmd->cargo_args)) {
            if (take_next)
                zlistx_add_end(candidates, (void *)arg);
            take_next = streq(arg, "-p") || streq(arg, "--package");
            if (strncmp(arg, "--package=", 10) == 0)
                zlistx_add_end(candidates, (void *)(arg + 10));
        }
        if (zlistx_size(candidates) == 0)
            for (const char *member = (const char *)zlistx_first(self->default_members); member;
                 member = (const char *)zlistx_next(self->default_members)) {
                const tsr_fw_cargo_package_t *package =
                    (const tsr_fw_cargo_package_t *)zhashx_lookup(self->packages, member);
                if (package)
                    zlistx_add_end(candidates, package->name);
            }
    }
    for (const tsr_fw_cargo_package_t *package =
             (const tsr_fw_cargo_package_t *)zhashx_first(self->packages);
         package; package = (const tsr_fw_cargo_package_t *)zhashx_next(self->packages))
        if (package->doctests && tsr_fw_strlist_has(candidates, package->name) &&
            !tsr_fw_strlist_has(names, package->name))
            zlistx_add_end(names, package->name);
    zlistx_destroy(&candidates);
    zlistx_sort(names);
}

static int
s_list_doctests(s_session_t *self, const char *package, zlistx_t *test_ids)
{
    char *report = s_report_path(self, "doclist");
    zlistx_t *argv = s_doc_argv(self, package);
    tsr_fw_strlist_addf(argv, "--list");
    s_add_test_args(self->cmd, argv, true);
    for (const char *filter = (const char *)zlistx_first(self->cmd->filters); filter;
         filter = (const char *)zlistx_next(self->cmd->filters))
        zlistx_add_end(argv, (void *)filter);
    zlistx_t *env = s_doc_env(self);
    int exit_code;
    size_t count = 0;
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, env, &exit_code);
    if (rc == TSR_OK)
        rc = tsr_fw_cargo_count_listed(report, &count);
    if (rc == -ENOENT)
        rc = TSR_EPARSE;
    if (rc == TSR_OK && count > 0)
        tsr_fw_strlist_addf(test_ids, "%s::doctests", package);
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&report);
    return rc;
}

static int
s_list(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, zlistx_t *errors)
{
    assert(ctx);
    assert(test_ids);
    assert(errors);
    s_session_t *self = NULL;
    int rc = s_session_new(ctx, &self);
    if (rc == TSR_OK)
        rc = s_load_metadata(self);
    if (rc == TSR_OK && !self->cmd->doc_only)
        rc = s_build(self, errors);
    zlistx_t *found = tsr_fw_strlist_new();
    for (const tsr_fw_cargo_binary_t *binary =
             rc == TSR_OK ? (const tsr_fw_cargo_binary_t *)zlistx_first(self->binaries) : NULL;
         binary && rc == TSR_OK;
         binary = (const tsr_fw_cargo_binary_t *)zlistx_next(self->binaries)) {
        rc = s_list_binary(self, binary, found);
        if (rc == TSR_EPARSE) {
            //  This binary cannot list its tests (not libtest?): its own error
            zlistx_add_end(errors, binary->id);
            rc = TSR_OK;
        }
    }
    if (rc == TSR_OK && self->cmd->doctests) {
        zlistx_t *packages = tsr_fw_strlist_new();
        s_doctest_packages(self, packages);
        for (const char *package = (const char *)zlistx_first(packages); package && rc == TSR_OK;
             package = (const char *)zlistx_next(packages))
            rc = s_list_doctests(self, package, found);
        zlistx_destroy(&packages);
    }
    if (rc == TSR_OK)
        for (char *id = (char *)zlistx_first(found); id; id = (char *)zlistx_next(found))
            zlistx_add_end(test_ids, id);
    zlistx_destroy(&found);
    s_session_destroy(&self);
    return rc;
}

//  Fold an exit code into the shard's: a signal (-1) wins, else the largest
static void
s_merge_exit(int *shard_exit, int exit_code)
{
    if (*shard_exit == -1 || exit_code == -1)
        *shard_exit = -1;
    else if (exit_code > *shard_exit)
        *shard_exit = exit_code;
}

static const tsr_fw_cargo_binary_t *
s_find_binary(s_session_t *self, const char *binary_id)
{
    for (const tsr_fw_cargo_binary_t *binary =
             (const tsr_fw_cargo_binary_t *)zlistx_first(self->binaries);
         binary; binary = (const tsr_fw_cargo_binary_t *)zlistx_next(self->binaries))
        if (streq(binary->id, binary_id))
            return binary;
    return NULL;
}

//  Run one binary on `names` (test names, without the binary id), in
//  batches. Returns TSR_OK, TSR_ETIMEOUT (stop the shard), or an error.
static int
s_run_binary(s_session_t *self, const tsr_fw_cargo_binary_t *binary, zlistx_t *names,
             tsr_results_t *results, int *shard_exit)
{
    zlistx_t *env = s_binary_env(binary);
    int rc = TSR_OK;
    const char *name = (const char *)zlistx_first(names);
    while (name && rc == TSR_OK) {
        zlistx_t *argv = tsr_fw_strlist_new();
        tsr_fw_strlist_addf(argv, "%s", binary->executable);
        tsr_fw_strlist_addf(argv, "--exact");
        size_t batch_bytes = 0;
        while (name && (batch_bytes == 0 || batch_bytes + strlen(name) < TSR_CARGO_NAMES_PER_RUN)) {
            zlistx_add_end(argv, (void *)name);
            batch_bytes += strlen(name) + 1;
            name = (const char *)zlistx_next(names);
        }
        tsr_fw_strlist_addf(argv, "-Z");
        tsr_fw_strlist_addf(argv, "unstable-options");
        tsr_fw_strlist_addf(argv, "--format");
        tsr_fw_strlist_addf(argv, "json");
        tsr_fw_strlist_addf(argv, "--report-time");
        s_add_test_args(self->cmd, argv, false);
        char *report = s_report_path(self, "run");
        int exit_code;
        rc = tsr_fw_exec(self->ctx, argv, binary->manifest_dir, report, env, &exit_code);
        if (rc == TSR_OK || rc == TSR_ETIMEOUT) {
            int parse_rc = tsr_fw_cargo_parse_run(report, binary->id, results);
            if (parse_rc != TSR_OK && parse_rc != -ENOENT)
                tsr_log_debug("cargo report unreadable binary=%s rc=%s", binary->id,
                              tsr_err_name(parse_rc));
            s_merge_exit(shard_exit, rc == TSR_OK ? exit_code : -1);
        }
        zstr_free(&report);
        zlistx_destroy(&argv);
    }
    zlistx_destroy(&env);
    return rc;
}

static int
s_run_doctests(s_session_t *self, const char *test_id, tsr_results_t *results, int *shard_exit)
{
    char *package = tsr_fw_cargo_group(test_id);
    char *report = s_report_path(self, "docrun");
    zlistx_t *argv = s_doc_argv(self, package);
    tsr_fw_strlist_addf(argv, "--report-time");
    s_add_test_args(self->cmd, argv, false);
    zlistx_t *env = s_doc_env(self);
    int exit_code;
    int64_t started_ms = zclock_mono();
    int rc = tsr_fw_exec(self->ctx, argv, NULL, report, env, &exit_code);
    if (rc == TSR_OK) {
        int parse_rc = tsr_fw_cargo_parse_doctests(report, test_id, exit_code,
                                                   (uint64_t)(zclock_mono() - started_ms), results);
        if (parse_rc != TSR_OK)
            tsr_log_debug("cargo doctest report unreadable package=%s rc=%s", package,
                          tsr_err_name(parse_rc));
        s_merge_exit(shard_exit, exit_code);
    }
    else if (rc == TSR_ETIMEOUT)
        s_merge_exit(shard_exit, -1);
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&report);
    zstr_free(&package);
    return rc;
}

static void
s_names_destroy(void **item_p)
{
    zlistx_destroy((zlistx_t **)item_p);
}

static int
s_run(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, tsr_results_t *results, int *exit_code)
{
    assert(ctx);
    assert(test_ids);
    assert(results);
    assert(exit_code);
    *exit_code = 0;
    //  Group the ids by binary (or doctest package), in order of appearance
    zlistx_t *groups = tsr_fw_strlist_new();
    zhashx_t *names_by_group = zhashx_new();
    zhashx_set_destructor(names_by_group, s_names_destroy);
    bool needs_binaries = false;
    for (const char *id = (const char *)zlistx_first(test_ids); id;
         id = (const char *)zlistx_next(test_ids)) {
        char *group = tsr_fw_cargo_group(id);
        zlistx_t *names = (zlistx_t *)zhashx_lookup(names_by_group, group);
        if (!names) {
            names = tsr_fw_strlist_new();
            zhashx_insert(names_by_group, group, names);
            zlistx_add_end(groups, group);
        }
        zlistx_add_end(names, (void *)(id + strlen(group) + (id[strlen(group)] ? 2 : 0)));
        if (strchr(group, '/'))
            needs_binaries = true;
        free(group);
    }
    s_session_t *self = NULL;
    int rc = s_session_new(ctx, &self);
    if (rc == TSR_OK && needs_binaries) {
        rc = s_load_metadata(self);
        if (rc == TSR_OK) {
            //  Unreadable build output: no binaries, so their ids report ERROR
            rc = s_build(self, NULL);
            if (rc == TSR_EPARSE)
                rc = TSR_OK;
        }
    }
    for (const char *group = rc == TSR_OK ? (const char *)zlistx_first(groups) : NULL;
         group && rc == TSR_OK; group = (const char *)zlistx_next(groups)) {
        zlistx_t *names = (zlistx_t *)zhashx_lookup(names_by_group, group);
        if (!strchr(group, '/')) {
            char *test_id = zsys_sprintf("%s::doctests", group);
            rc = s_run_doctests(self, test_id, results, exit_code);
            zstr_free(&test_id);
        }
        else {
            const tsr_fw_cargo_binary_t *binary = s_find_binary(self, group);
            if (binary)
                rc = s_run_binary(self, binary, names, results, exit_code);
            else {
                //  Not built (a compile error, a target gone): definitive, not a crash
                char *message = zsys_sprintf("test binary %s was not built (cargo test "
                                             "--no-run exited with %d)",
                                             group, self->build_exit_code);
                for (const char *name = (const char *)zlistx_first(names); name;
                     name = (const char *)zlistx_next(names)) {
                    char *id = zsys_sprintf("%s::%s", group, name);
                    tsr_results_add(results, id, TESSERA__OUTCOME__ERROR, 0, message);
                    zstr_free(&id);
                }
                zstr_free(&message);
                s_merge_exit(exit_code, self->build_exit_code ? self->build_exit_code : 1);
            }
        }
    }
    if (rc == TSR_ETIMEOUT) {
        *exit_code = -1; //  killed: what finished is reported; the caller re-runs the rest
        rc = TSR_OK;
    }
    s_session_destroy(&self);
    zhashx_destroy(&names_by_group);
    zlistx_destroy(&groups);
    return rc;
}

const tsr_framework_t tsr_fw_cargo_entry = {
    .name = "cargo",
    .list = s_list,
    .run = s_run,
    .group = tsr_fw_cargo_group,
};
