/*  tsr_fw_cargo_parse - reading cargo's and libtest's JSON (cJSON)
    `cargo metadata`, `cargo test --no-run --message-format=json`, and the
    libtest events of `--list` and of runs (`--format json`). Pure; any
    thread.                                                                 */
#include "tsr_fw_cargo.h"
#include "tsr_list.h"
#include "tsr_fw_io.h"
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

//  Largest `cargo metadata` we read
#define TSR_CARGO_METADATA_MAX (64u << 20)

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
    zhashx_t *packages; //  borrowed, may be NULL
    zlistx_t *binaries; //  borrowed
    zlistx_t *errors;   //  borrowed, may be NULL
    bool build_failed;  //  build-finished with success false
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
    for (const tsr_fw_cargo_binary_t *binary =
             (const tsr_fw_cargo_binary_t *)zlistx_first(binaries);
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
        binary->target =
            strdup(tsr_fw_json_string(cJSON_GetObjectItemCaseSensitive(line, "target"), "name"));
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
    tsr_list_sort(binaries, s_binary_compare);
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
    zlistx_t *running;      //  borrowed, may be NULL: names started, not finished
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
    const char *name = tsr_fw_json_string(line, "name");
    if (streq(event, "started")) {
        if (!name)
            return TSR_EPARSE;
        if (run->running)
            zlistx_add_end(run->running, (void *)name);
        return TSR_OK;
    }
    Tessera__Outcome outcome = s_event_outcome(event);
    if (outcome == TESSERA__OUTCOME__OUTCOME_UNKNOWN)
        return TSR_OK;
    if (!name)
        return TSR_EPARSE;
    void *started = run->running ? zlistx_find(run->running, (void *)name) : NULL;
    if (started)
        zlistx_delete(run->running, started);
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
tsr_fw_cargo_parse_run(const char *jsonl_path, const char *binary_id, tsr_results_t *results,
                       zlistx_t *running)
{
    assert(jsonl_path);
    assert(binary_id);
    assert(results);
    //  Ours until the end, so a failed read leaves the caller's list as it was
    zlistx_t *started = running ? tsr_fw_strlist_new() : NULL;
    s_run_events_t run = {binary_id, results, started, 0};
    int rc = tsr_fw_jsonl_read(jsonl_path, s_on_run_line, &run, NULL);
    if (rc == TSR_OK && run.events == 0 && !s_is_empty(jsonl_path))
        rc = TSR_EPARSE;
    if (rc == TSR_OK && running)
        for (const char *name = (const char *)zlistx_first(started); name;
             name = (const char *)zlistx_next(started))
            zlistx_add_end(running, (void *)name);
    zlistx_destroy(&started);
    return rc;
}

typedef struct {
    size_t events; //  libtest events seen
    size_t passed; //  doctests by outcome
    size_t failed;
    size_t ignored;
    zchunk_t *failures; //  owned: names of failed doctests, then the first output
    char *first_output; //  owned: output of the first failure
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
        } else if (doctests.passed > 0)
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
