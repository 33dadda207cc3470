/*  tsr_fw_pytest - the pytest adapter (see tsr_fw_pytest.h for the ids)
    list: the user's command + `--collect-only` with our plugin, which writes
    the node ids as JSON. run: the user's command + `--junitxml` with our
    plugin selecting the shard's ids from a file. Procedures run on an agent
    worker thread; parsers are pure.                                        */
#include "tsr_fw_pytest.h"
#include "tsr_fw_io.h"
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Largest listing we read (11k ids of a big suite are ~1 MiB)
#define TSR_PYTEST_LIST_MAX (256u << 20)

const char tsr_fw_pytest_plugin_source[] =
    "\"\"\"Tessera's pytest plugin, written by the pytest adapter into its scratch\n"
    "directory and loaded with `-p tsr_select` (regenerated on every use).\n"
    "\n"
    "TSR_LIST_FILE      after collection, write {\"ids\": [...], \"errors\": [...]}: the\n"
    "                   node ids in pytest's order, then the modules skipped at\n"
    "                   collection; the node ids of collectors that failed.\n"
    "TSR_SELECT_FILE    run only the node ids listed in this file (UTF-8, one per\n"
    "                   line), in pytest's order; directories and files holding\n"
    "                   none of them are not collected at all.\n"
    "TSR_PROGRESS_FILE  append a JSON line per finished test, so a run that dies\n"
    "                   (os._exit, a signal) still tells what finished.\n"
    "TSR_STEAL_DIR      work stealing: before each test, if D/request exists, give\n"
    "                   up the last half (rounded down) of the tests not started yet\n"
    "                   (this one included, so at least one stays), once per\n"
    "                   process: their node ids go to D/ack (one a line, written to\n"
    "                   D/ack.tmp and renamed) and to D/given, D/request is removed,\n"
    "                   and those tests never run nor get a report. A later request\n"
    "                   gets an empty D/ack (\"nothing given\").\n"
    "Every test report carries a `tsr_id` user property (its node id) and, for an\n"
    "unexpected pass, `tsr_xpassed`: pytest's JUnit XML keeps both.\n"
    "\"\"\"\n"
    "import json\n"
    "import os\n"
    "\n"
    "import pytest\n"
    "\n"
    "_selected = None\n"
    "_selected_paths = None\n"
    "_errors = []\n"
    "_skipped_modules = []\n"
    "_states = {}\n"
    "_progress = None\n"
    "_steal_dir = None\n"
    "_steal_answered = False\n"
    "_given = set()\n"
    "_given_items = []\n"
    "_rerun = None\n"
    "\n"
    "\n"
    "def pytest_configure(config):\n"
    "    global _selected, _selected_paths, _progress, _steal_dir\n"
    "    path = os.environ.get(\"TSR_SELECT_FILE\")\n"
    "    if path:\n"
    "        with open(path, encoding=\"utf-8\") as ids_file:\n"
    "            _selected = set(line.rstrip(\"\\n\") for line in ids_file if line.strip())\n"
    "        _selected_paths = set(node_id.split(\"::\", 1)[0] for node_id in _selected)\n"
    "    path = os.environ.get(\"TSR_PROGRESS_FILE\")\n"
    "    # xdist workers forward their reports to the controller, which writes them\n"
    "    if path and not hasattr(config, \"workerinput\"):\n"
    "        _progress = open(path, \"a\", encoding=\"utf-8\")\n"
    "    # xdist workers run what their controller hands them: they never give any up\n"
    "    path = os.environ.get(\"TSR_STEAL_DIR\")\n"
    "    if path and not hasattr(config, \"workerinput\"):\n"
    "        _steal_dir = path\n"
    "\n"
    "\n"
    "def pytest_unconfigure(config):\n"
    "    if _progress is not None:\n"
    "        _progress.close()\n"
    "\n"
    "\n"
    "def pytest_ignore_collect(collection_path, config):\n"
    "    if _selected_paths is None:\n"
    "        return None\n"
    "    try:\n"
    "        rel = os.path.relpath(str(collection_path), str(config.rootpath))\n"
    "    except ValueError:\n"
    "        return None\n"
    "    rel = rel.replace(os.sep, \"/\")\n"
    "    if rel == \".\" or rel.startswith(\"../\") or rel in _selected_paths:\n"
    "        return None\n"
    "    if collection_path.is_dir():\n"
    "        prefix = rel + \"/\"\n"
    "        if any(path.startswith(prefix) for path in _selected_paths):\n"
    "            return None\n"
    "    return True\n"
    "\n"
    "\n"
    "def pytest_collectreport(report):\n"
    "    if report.failed:\n"
    "        _errors.append(report.nodeid)\n"
    "    elif report.skipped and report.nodeid:\n"
    "        _skipped_modules.append(report.nodeid)\n"
    "\n"
    "\n"
    "def pytest_collection_modifyitems(session, config, items):\n"
    "    if _selected is None:\n"
    "        return\n"
    "    keep = [item for item in items if item.nodeid in _selected]\n"
    "    if len(keep) != len(items):\n"
    "        drop = [item for item in items if item.nodeid not in _selected]\n"
    "        config.hook.pytest_deselected(items=drop)\n"
    "        items[:] = keep\n"
    "\n"
    "\n"
    "def pytest_collection_finish(session):\n"
    "    path = os.environ.get(\"TSR_LIST_FILE\")\n"
    "    if path:\n"
    "        ids = [item.nodeid for item in session.items] + _skipped_modules\n"
    "        with open(path, \"w\", encoding=\"utf-8\") as out:\n"
    "            json.dump({\"ids\": ids, \"errors\": _errors}, out)\n"
    "\n"
    "\n"
    "@pytest.hookimpl(hookwrapper=True)\n"
    "def pytest_runtest_makereport(item, call):\n"
    "    if call.when == \"setup\":\n"
    "        item.user_properties.append((\"tsr_id\", item.nodeid))\n"
    "    outcome = yield\n"
    "    report = outcome.get_result()\n"
    "    if call.when == \"call\" and report.passed and hasattr(report, \"wasxfail\"):\n"
    "        item.user_properties.append((\"tsr_xpassed\", \"1\"))\n"
    "\n"
    "\n"
    "def pytest_runtest_logreport(report):\n"
    "    if _progress is None:\n"
    "        return\n"
    "    state = _states.setdefault(report.nodeid, {\"outcome\": \"passed\", \"duration\": 0.0})\n"
    "    state[\"duration\"] += getattr(report, \"duration\", 0.0) or 0.0\n"
    "    if hasattr(report, \"wasxfail\"):\n"
    "        state[\"outcome\"] = \"xfailed\" if report.skipped else \"xpassed\"\n"
    "    elif report.when == \"call\" and report.failed:\n"
    "        state[\"outcome\"] = \"failed\"\n"
    "    elif report.skipped:\n"
    "        state[\"outcome\"] = \"skipped\"\n"
    "    elif report.failed and state[\"outcome\"] == \"passed\":\n"
    "        state[\"outcome\"] = \"error\"\n"
    "    if report.when == \"teardown\":\n"
    "        del _states[report.nodeid]\n"
    "        line = {\"id\": report.nodeid, \"outcome\": state[\"outcome\"], \"duration_s\": "
    "state[\"duration\"]}\n"
    "        _progress.write(json.dumps(line) + \"\\n\")\n"
    "        _progress.flush()\n"
    "\n"
    "\n"
    "def _write_atomic(name, node_ids):\n"
    "    tmp = os.path.join(_steal_dir, name + \".tmp\")\n"
    "    with open(tmp, \"w\", encoding=\"utf-8\") as out:\n"
    "        for node_id in node_ids:\n"
    "            out.write(node_id + \"\\n\")\n"
    "    os.rename(tmp, os.path.join(_steal_dir, name))\n"
    "\n"
    "\n"
    "def _steal_answer(item):\n"
    "    \"\"\"Answer the steal request before `item` starts; True if tests were given.\"\"\"\n"
    "    global _steal_answered\n"
    "    items = item.session.items\n"
    "    given = []\n"
    "    if not _steal_answered:\n"
    "        start = next((index for index, each in enumerate(items) if each is item), None)\n"
    "        count = (len(items) - start) // 2 if start is not None else 0\n"
    "        if count > 0:\n"
    "            given = items[len(items) - count:]\n"
    "            kept = set(each.nodeid for each in items[:len(items) - count])\n"
    "            if any(each.nodeid in kept for each in given):\n"
    "                given = []\n"
    "    # The promise is the ack: until it is in place, nothing is given\n"
    "    _write_atomic(\"ack\", [each.nodeid for each in given])\n"
    "    _steal_answered = True\n"
    "    if given:\n"
    "        _given_items.extend(given)  # keeps their id() unique\n"
    "        _given.update(id(each) for each in given)\n"
    "        del items[len(items) - len(given):]\n"
    "        try:\n"
    "            _write_atomic(\"given\", [each.nodeid for each in given])\n"
    "        except OSError:\n"
    "            pass\n"
    "    try:\n"
    "        os.unlink(os.path.join(_steal_dir, \"request\"))\n"
    "    except OSError:\n"
    "        pass\n"
    "    return bool(given)\n"
    "\n"
    "\n"
    "@pytest.hookimpl(tryfirst=True)\n"
    "def pytest_runtest_protocol(item, nextitem):\n"
    "    global _rerun\n"
    "    if _steal_dir is None or item is _rerun:\n"
    "        return None\n"
    "    if id(item) in _given:\n"
    "        return True\n"
    "    try:\n"
    "        os.stat(os.path.join(_steal_dir, \"request\"))\n"
    "    except OSError:\n"
    "        return None\n"
    "    try:\n"
    "        if not _steal_answer(item):\n"
    "            return None\n"
    "    except OSError:\n"
    "        return None\n"
    "    if nextitem is not None and id(nextitem) in _given:\n"
    "        # This test is the last one here now: tear everything down after it\n"
    "        _rerun = item\n"
    "        try:\n"
    "            item.ihook.pytest_runtest_protocol(item=item, nextitem=None)\n"
    "        finally:\n"
    "            _rerun = None\n"
    "        return True\n"
    "    return None\n";

void
tsr_fw_pytest_list_argv(const char *const *user_argv, zlistx_t *argv)
{
    assert(argv);
    tsr_fw_strlist_add_all(argv, user_argv);
    tsr_fw_strlist_addf(argv, "--collect-only");
    tsr_fw_strlist_addf(argv, "-q");
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "no:cacheprovider");
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "%s", TSR_FW_PYTEST_PLUGIN);
}

void
tsr_fw_pytest_run_argv(const char *const *user_argv, const char *junit_path, zlistx_t *argv)
{
    assert(argv);
    assert(junit_path);
    tsr_fw_strlist_add_all(argv, user_argv);
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "no:cacheprovider");
    tsr_fw_strlist_addf(argv, "--junitxml=%s", junit_path);
    //  Durations feed the planner: setup + call + teardown, whatever the ini says
    tsr_fw_strlist_addf(argv, "-o");
    tsr_fw_strlist_addf(argv, "junit_duration_report=total");
    tsr_fw_strlist_addf(argv, "-p");
    tsr_fw_strlist_addf(argv, "%s", TSR_FW_PYTEST_PLUGIN);
    //  A module that fails to import must not stop the shard's other files
    tsr_fw_strlist_addf(argv, "--continue-on-collection-errors");
}

//  Append the strings of a JSON array to `list`. TSR_EPARSE if `array` is not
//  an array of strings.
static int
s_json_strings(const cJSON *array, zlistx_t *list)
{
    if (!cJSON_IsArray(array))
        return TSR_EPARSE;
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (!cJSON_IsString(item))
            return TSR_EPARSE;
    }
    cJSON_ArrayForEach(item, array)
    {
        zlistx_add_end(list, item->valuestring);
    }
    return TSR_OK;
}

int
tsr_fw_pytest_parse_list(const char *json_path, zlistx_t *test_ids, zlistx_t *errors)
{
    assert(json_path);
    assert(test_ids);
    assert(errors);
    char *text = NULL;
    int rc = tsr_fw_file_read(json_path, TSR_PYTEST_LIST_MAX, &text);
    if (rc != TSR_OK)
        return rc;
    cJSON *listing = cJSON_Parse(text);
    rc = TSR_EPARSE;
    if (!cJSON_IsObject(listing))
        goto out;
    //  Check both before adding anything: all or nothing
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(listing, "ids");
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(listing, "errors");
    zlistx_t *ids_scratch = tsr_fw_strlist_new();
    zlistx_t *errors_scratch = tsr_fw_strlist_new();
    if (s_json_strings(ids, ids_scratch) == TSR_OK &&
        s_json_strings(failed, errors_scratch) == TSR_OK) {
        for (char *id = (char *)zlistx_first(ids_scratch); id;
             id = (char *)zlistx_next(ids_scratch))
            zlistx_add_end(test_ids, id);
        for (char *id = (char *)zlistx_first(errors_scratch); id;
             id = (char *)zlistx_next(errors_scratch))
            zlistx_add_end(errors, id);
        rc = TSR_OK;
    }
    zlistx_destroy(&ids_scratch);
    zlistx_destroy(&errors_scratch);
out:
    cJSON_Delete(listing);
    free(text);
    return rc;
}

//  pytest's JUnit naming of a node id (junitxml.mangle_test_address), as
//  "classname\x1fname": the file part dotted without ".py", "::" -> ".",
//  the last part the name, parameters kept. A new string.
static char *
s_junit_key(const char *test_id)
{
    const char *params = strchr(test_id, '[');
    const char *path_end = params ? params : test_id + strlen(test_id);
    //  Split the path part at "::"
    zlistx_t *parts = tsr_fw_strlist_new();
    const char *part = test_id;
    for (const char *scan = test_id; scan < path_end; scan++)
        if (scan + 1 < path_end && scan[0] == ':' && scan[1] == ':') {
            tsr_fw_strlist_addf(parts, "%.*s", (int)(scan - part), part);
            part = scan + 2;
            scan++;
        }
    tsr_fw_strlist_addf(parts, "%.*s", (int)(path_end - part), part);
    //  The file part: '/' -> '.', without ".py"
    char *file = (char *)zlistx_first(parts);
    for (char *scan = file; *scan; scan++)
        if (*scan == '/')
            *scan = '.';
    size_t file_length = strlen(file);
    if (file_length >= 3 && streq(file + file_length - 3, ".py"))
        file[file_length - 3] = '\0';
    //  classname: every part but the last, joined with '.'
    char *name = (char *)zlistx_last(parts);
    zchunk_t *classname = zchunk_new(NULL, 0);
    for (const char *item = (const char *)zlistx_first(parts); item && item != name;
         item = (const char *)zlistx_next(parts)) {
        if (zchunk_size(classname) > 0)
            zchunk_extend(classname, ".", 1);
        zchunk_extend(classname, item, strlen(item));
    }
    char *key = zsys_sprintf("%.*s\x1f%s%s", (int)zchunk_size(classname),
                             (const char *)zchunk_data(classname), name, params ? params : "");
    assert(key);
    zchunk_destroy(&classname);
    zlistx_destroy(&parts);
    return key;
}

//  An id for a testcase without our tsr_id property (a collection error or
//  skip, pytest's internal error): the requested id with that JUnit naming,
//  else a file path rebuilt from the dotted module name. A new string.
static char *
s_junit_fallback_id(zhashx_t *requested_by_key, const char *classname, const char *name)
{
    char *key = zsys_sprintf("%s\x1f%s", classname, name);
    const char *requested = (const char *)zhashx_lookup(requested_by_key, key);
    zstr_free(&key);
    char *id;
    if (requested)
        id = strdup(requested);
    else if (*classname == '\0') {
        //  "tests.sub.test_x" -> "tests/sub/test_x.py"
        id = zsys_sprintf("%s.py", name);
        for (char *scan = id; scan < id + strlen(name); scan++)
            if (*scan == '.')
                *scan = '/';
    } else
        id = zsys_sprintf("%s::%s", classname, name);
    assert(id);
    return id;
}

static bool
s_named(const xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && xmlStrEqual(node->name, (const xmlChar *)name);
}

//  An attribute's value (the caller frees with xmlFree), NULL if absent
static char *
s_attribute(const xmlNode *node, const char *name)
{
    return (char *)xmlGetProp(node, (const xmlChar *)name);
}

//  Milliseconds of a JUnit time attribute ("0.123"); 0 if absent or bad
static uint64_t
s_time_ms(const xmlNode *node)
{
    char *text = s_attribute(node, "time");
    double seconds = 0;
    if (text) {
        char *end = NULL;
        seconds = strtod(text, &end);
        if (end == text || *end != '\0')
            seconds = 0;
        xmlFree(text);
    }
    return tsr_fw_seconds_to_ms(seconds);
}

//  The failure text of a <failure>/<error>/<skipped>: its content, else its
//  message attribute. A new string (free()) or NULL.
static char *
s_failure_text(const xmlNode *node)
{
    char *text = (char *)xmlNodeGetContent(node);
    if (!text || *text == '\0') {
        if (text)
            xmlFree(text);
        text = s_attribute(node, "message");
    }
    if (!text)
        return NULL;
    char *copy = strdup(text);
    assert(copy);
    xmlFree(text);
    return copy;
}

//  Add the result of one <testcase>
static void
s_add_testcase(const xmlNode *testcase, zhashx_t *requested_by_key, tsr_results_t *results)
{
    Tessera__Outcome outcome = TESSERA__OUTCOME__PASSED;
    char *message = NULL;
    char *id = NULL;
    bool xpassed = false;
    for (const xmlNode *child = testcase->children; child; child = child->next) {
        if (s_named(child, "failure") || s_named(child, "error")) {
            //  A failed call and a failed teardown: the test's own failure wins
            if (outcome != TESSERA__OUTCOME__FAILED) {
                outcome =
                    s_named(child, "failure") ? TESSERA__OUTCOME__FAILED : TESSERA__OUTCOME__ERROR;
                free(message);
                message = s_failure_text(child);
            }
        } else if (s_named(child, "skipped") && outcome == TESSERA__OUTCOME__PASSED) {
            char *type = s_attribute(child, "type");
            outcome = type && streq(type, "pytest.xfail") ? TESSERA__OUTCOME__XFAILED
                                                          : TESSERA__OUTCOME__SKIPPED;
            if (type)
                xmlFree(type);
            free(message);
            message = s_failure_text(child);
        } else if (s_named(child, "properties")) {
            for (const xmlNode *property = child->children; property; property = property->next) {
                if (!s_named(property, "property"))
                    continue;
                char *name = s_attribute(property, "name");
                char *value = s_attribute(property, "value");
                if (name && value && streq(name, "tsr_id") && !id) {
                    id = strdup(value);
                    assert(id);
                } else if (name && streq(name, "tsr_xpassed"))
                    xpassed = true;
                if (name)
                    xmlFree(name);
                if (value)
                    xmlFree(value);
            }
        }
    }
    if (xpassed && outcome == TESSERA__OUTCOME__PASSED)
        outcome = TESSERA__OUTCOME__XPASSED;
    if (!id) {
        char *classname = s_attribute(testcase, "classname");
        char *name = s_attribute(testcase, "name");
        id = s_junit_fallback_id(requested_by_key, classname ? classname : "", name ? name : "");
        if (classname)
            xmlFree(classname);
        if (name)
            xmlFree(name);
    }
    tsr_results_add(results, id, outcome, s_time_ms(testcase), message);
    free(id);
    free(message);
}

//  Add every <testcase> under `node`, depth first (suites may nest)
static void
s_walk(const xmlNode *node, zhashx_t *requested_by_key, tsr_results_t *results)
{
    for (const xmlNode *child = node->children; child; child = child->next) {
        if (s_named(child, "testcase"))
            s_add_testcase(child, requested_by_key, results);
        else if (child->type == XML_ELEMENT_NODE)
            s_walk(child, requested_by_key, results);
    }
}

int
tsr_fw_pytest_parse_junit(const char *xml_path, zlistx_t *requested, tsr_results_t *results)
{
    assert(xml_path);
    assert(results);
    if (access(xml_path, R_OK) != 0)
        return -errno;
    xmlParserCtxtPtr parser = xmlNewParserCtxt();
    assert(parser);
    //  No network, no entity expansion, no DTD loading; errors are ours to report
    xmlDocPtr document = xmlCtxtReadFile(parser, xml_path, NULL,
                                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    zhashx_t *requested_by_key = zhashx_new();
    int rc = TSR_EPARSE;
    const xmlNode *root = document ? xmlDocGetRootElement(document) : NULL;
    if (!root || !(s_named(root, "testsuites") || s_named(root, "testsuite")))
        goto out;
    for (const char *id = requested ? (const char *)zlistx_first(requested) : NULL; id;
         id = (const char *)zlistx_next(requested)) {
        char *key = s_junit_key(id);
        zhashx_insert(requested_by_key, key, (void *)id);
        zstr_free(&key);
    }
    s_walk(root, requested_by_key, results);
    rc = TSR_OK;
out:
    zhashx_destroy(&requested_by_key);
    if (document)
        xmlFreeDoc(document);
    xmlFreeParserCtxt(parser);
    return rc;
}

//  Outcome names of the plugin's progress lines
static const struct {
    const char *name;
    Tessera__Outcome outcome;
} s_progress_outcomes[] = {
    {"passed", TESSERA__OUTCOME__PASSED},   {"failed", TESSERA__OUTCOME__FAILED},
    {"error", TESSERA__OUTCOME__ERROR},     {"skipped", TESSERA__OUTCOME__SKIPPED},
    {"xfailed", TESSERA__OUTCOME__XFAILED}, {"xpassed", TESSERA__OUTCOME__XPASSED},
};

static int
s_on_progress_line(const cJSON *line, void *arg)
{
    tsr_results_t *results = (tsr_results_t *)arg;
    const char *id = tsr_fw_json_string(line, "id");
    const char *outcome_name = tsr_fw_json_string(line, "outcome");
    const cJSON *duration = cJSON_GetObjectItemCaseSensitive(line, "duration_s");
    if (!id || !outcome_name)
        return TSR_EPARSE;
    for (size_t index = 0; index < sizeof s_progress_outcomes / sizeof s_progress_outcomes[0];
         index++)
        if (streq(outcome_name, s_progress_outcomes[index].name)) {
            double seconds = cJSON_IsNumber(duration) ? duration->valuedouble : 0;
            tsr_results_add(results, id, s_progress_outcomes[index].outcome,
                            tsr_fw_seconds_to_ms(seconds), NULL);
            return TSR_OK;
        }
    return TSR_EPARSE;
}

int
tsr_fw_pytest_parse_progress(const char *jsonl_path, tsr_results_t *results)
{
    assert(jsonl_path);
    assert(results);
    return tsr_fw_jsonl_read(jsonl_path, s_on_progress_line, results, NULL);
}

char *
tsr_fw_pytest_group(const char *test_id)
{
    assert(test_id);
    const char *separator = strstr(test_id, "::");
    size_t length = separator ? (size_t)(separator - test_id) : strlen(test_id);
    char *group = strndup(test_id, length);
    assert(group);
    return group;
}

//  The environment of every pytest we start: our plugin importable, and
//  bytecode (pytest's assertion rewrites) cached outside the workspace so
//  each shard does not redo it (FRAMEWORKS.md: 121 s -> 14 s on one suite).
//  A string list with one more "K=V" per extra argument pair.
static zlistx_t *
s_env_new(tsr_fw_ctx_t *ctx)
{
    zlistx_t *env = tsr_fw_strlist_new();
    const char *python_path = getenv("PYTHONPATH");
    if (python_path && *python_path)
        tsr_fw_strlist_addf(env, "PYTHONPATH=%s:%s", ctx->scratch_dir, python_path);
    else
        tsr_fw_strlist_addf(env, "PYTHONPATH=%s", ctx->scratch_dir);
    if (ctx->cache_dir) {
        tsr_fw_strlist_addf(env, "PYTHONDONTWRITEBYTECODE=");
        tsr_fw_strlist_addf(env, "PYTHONPYCACHEPREFIX=%s/pycache", ctx->cache_dir);
    }
    return env;
}

static int
s_write_plugin(tsr_fw_ctx_t *ctx)
{
    char *path = tsr_fw_scratch_path(ctx, TSR_FW_PYTEST_PLUGIN ".py");
    int rc = tsr_fw_file_write(path, tsr_fw_pytest_plugin_source);
    zstr_free(&path);
    return rc;
}

static int
s_list(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, zlistx_t *errors)
{
    assert(ctx);
    assert(test_ids);
    assert(errors);
    int rc = s_write_plugin(ctx);
    if (rc != TSR_OK)
        return rc;
    char *list_path = tsr_fw_scratch_path(ctx, "pytest-list.json");
    unlink(list_path);
    zlistx_t *argv = tsr_fw_strlist_new();
    tsr_fw_pytest_list_argv(ctx->argv, argv);
    zlistx_t *env = s_env_new(ctx);
    tsr_fw_strlist_addf(env, "TSR_LIST_FILE=%s", list_path);
    int exit_code;
    rc = tsr_fw_exec(ctx, argv, NULL, NULL, env, &exit_code);
    if (rc == TSR_OK) {
        //  Exit codes 1-5 all come with a listing (2: collection errors, 5: no
        //  tests); a usage error or a crash leaves none
        rc = tsr_fw_pytest_parse_list(list_path, test_ids, errors);
        if (rc == -ENOENT)
            rc = TSR_EPARSE;
    }
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&list_path);
    return rc;
}

//  Write the shard's ids, one per line, for the plugin. TSR_EINVAL for an id
//  holding a newline (pytest escapes them, so it is not one of its ids).
static int
s_write_ids(const char *path, zlistx_t *test_ids)
{
    FILE *file = fopen(path, "w");
    if (!file)
        return -errno;
    int rc = TSR_OK;
    for (const char *id = (const char *)zlistx_first(test_ids); id;
         id = (const char *)zlistx_next(test_ids)) {
        if (strchr(id, '\n')) {
            rc = TSR_EINVAL;
            break;
        }
        if (fputs(id, file) < 0 || fputc('\n', file) < 0) {
            rc = -EIO;
            break;
        }
    }
    if (fclose(file) != 0 && rc == TSR_OK)
        rc = -errno;
    return rc;
}

//  Remove from `test_ids` the ids the runner gave up (they never ran, so the
//  caller's crash marking must not pick one of them)
static void
s_drop_given(const char *steal_dir, zlistx_t *test_ids)
{
    zlistx_t *given = tsr_fw_strlist_new();
    int rc = tsr_framework_steal_read(steal_dir, TSR_FW_STEAL_GIVEN, given);
    if (rc != TSR_OK && rc != -ENOENT)
        tsr_log_warn("pytest steal: %s/%s unreadable: %s", steal_dir, TSR_FW_STEAL_GIVEN,
                     tsr_strerror(rc));
    zhashx_t *set = zhashx_new();
    for (char *id = (char *)zlistx_first(given); id; id = (char *)zlistx_next(given))
        zhashx_insert(set, id, id);
    void *handle = zlistx_first(test_ids) ? zlistx_cursor(test_ids) : NULL;
    while (handle) {
        void *next = zlistx_next(test_ids) ? zlistx_cursor(test_ids) : NULL;
        if (zhashx_lookup(set, (const char *)zlistx_handle_item(handle)))
            zlistx_delete(test_ids, handle);
        handle = next;
    }
    zhashx_destroy(&set);
    zlistx_destroy(&given);
}

static int
s_run(tsr_fw_ctx_t *ctx, zlistx_t *test_ids, tsr_results_t *results, int *exit_code)
{
    assert(ctx);
    assert(test_ids);
    assert(results);
    assert(exit_code);
    *exit_code = -1;
    char *ids_path = tsr_fw_scratch_path(ctx, "pytest-ids.txt");
    char *junit_path = tsr_fw_scratch_path(ctx, "pytest-junit.xml");
    char *progress_path = tsr_fw_scratch_path(ctx, "pytest-progress.jsonl");
    zlistx_t *argv = tsr_fw_strlist_new();
    zlistx_t *env = s_env_new(ctx);
    unlink(junit_path);
    unlink(progress_path);
    int rc = s_write_plugin(ctx);
    if (rc == TSR_OK)
        rc = s_write_ids(ids_path, test_ids);
    if (rc != TSR_OK)
        goto out;
    tsr_fw_pytest_run_argv(ctx->argv, junit_path, argv);
    tsr_fw_strlist_addf(env, "TSR_SELECT_FILE=%s", ids_path);
    tsr_fw_strlist_addf(env, "TSR_PROGRESS_FILE=%s", progress_path);
    if (ctx->steal_dir) {
        if (mkdir(ctx->steal_dir, 0755) != 0 && errno != EEXIST) {
            rc = -errno;
            goto out;
        }
        tsr_fw_strlist_addf(env, "TSR_STEAL_DIR=%s", ctx->steal_dir);
    }
    rc = tsr_fw_exec(ctx, argv, NULL, NULL, env, exit_code);
    if (ctx->steal_dir)
        s_drop_given(ctx->steal_dir, test_ids);
    if (rc == TSR_ETIMEOUT) {
        *exit_code = -1; //  killed: report what finished, the caller re-runs the rest
        rc = TSR_OK;
    }
    if (rc != TSR_OK)
        goto out;
    //  JUnit XML is written at the end (all or nothing): missing or torn when
    //  pytest died; then the progress lines tell what finished
    if (tsr_fw_pytest_parse_junit(junit_path, test_ids, results) != TSR_OK) {
        int progress_rc = tsr_fw_pytest_parse_progress(progress_path, results);
        if (progress_rc != TSR_OK && progress_rc != -ENOENT)
            tsr_log_debug("pytest progress unreadable rc=%s", tsr_err_name(progress_rc));
    }
out:
    zlistx_destroy(&env);
    zlistx_destroy(&argv);
    zstr_free(&ids_path);
    zstr_free(&junit_path);
    zstr_free(&progress_path);
    return rc;
}

const tsr_framework_t tsr_fw_pytest_entry = {
    .name = "pytest",
    .list = s_list,
    .run = s_run,
    .group = tsr_fw_pytest_group,
    .steal = true,
};
