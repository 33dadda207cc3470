/*  Unit tests for tsr_agent: the agent in a zactor against a fake
    coordinator (a CURVE ROUTER in the test thread) that speaks the agent
    channel of docs/protocol.md: Hello/Welcome, Assign with a workspace to
    fetch, Progress/Result, Cancel, Error{TSR_ESTATE}, Drain, liveness loss
    and reconnect, and "$TERM" with a Bye that hands work back.            */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_agent.h"
#include "tsr_cas.h"
#include "tsr_keys.h"
#include "tsr_msg.h"
#include "tsr_tree.h"
#include "tsr_testdir.h"

#define S_WAIT_MS 15000

typedef struct {
    char *root;             //  owned scratch directory (tsr_testdir)
    char path[400];         //  scratch
    char ready_path[300];   //  the agent's ready file
    zsock_t *router;        //  the fake coordinator
    char endpoint[128];     //  where it listens
    tsr_cas_t *source;      //  its CAS
    tsr_digest_t workspace; //  a tree in `source`
    zactor_t *agent;        //  under test
    zframe_t *peer;         //  the agent's routing id (latest)
    size_t blob_gets;       //  BlobGets served
    bool silent;            //  do not answer Heartbeats
    tsr_agent_opts_t opts;  //  the agent's options
    char coord_key[300];    //  coordinator key path
    char coord_pub[310];    //  its public certificate
    char agent_key[300];    //  agent key path
    char data_dir[300];     //  agent data dir
} fixture_t;

static void
s_write(const char *path, const char *content)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(content, file);
    fclose(file);
}

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("agent");
    snprintf(fixture->coord_key, sizeof fixture->coord_key, "%s/coordinator", fixture->root);
    snprintf(fixture->coord_pub, sizeof fixture->coord_pub, "%s.pub", fixture->coord_key);
    snprintf(fixture->agent_key, sizeof fixture->agent_key, "%s/agent", fixture->root);
    snprintf(fixture->data_dir, sizeof fixture->data_dir, "%s/data", fixture->root);
    snprintf(fixture->ready_path, sizeof fixture->ready_path, "%s/ready", fixture->root);
    assert_int_equal(tsr_keys_generate(fixture->coord_key), TSR_OK);
    assert_int_equal(tsr_keys_generate(fixture->agent_key), TSR_OK);

    zcert_t *cert = NULL;
    assert_int_equal(tsr_keys_load_secret(fixture->coord_key, &cert), TSR_OK);
    fixture->router = zsock_new(ZMQ_ROUTER);
    zcert_apply(cert, fixture->router);
    zsock_set_curve_server(fixture->router, 1);
    zcert_destroy(&cert);
    assert_true(zsock_bind(fixture->router, "tcp://127.0.0.1:*") > 0);
    snprintf(fixture->endpoint, sizeof fixture->endpoint, "%s", zsock_endpoint(fixture->router));

    //  A workspace: a file and a subdirectory, in the coordinator's CAS
    snprintf(fixture->path, sizeof fixture->path, "%s/src/sub", fixture->root);
    zsys_dir_create(fixture->path);
    snprintf(fixture->path, sizeof fixture->path, "%s/src/hello.txt", fixture->root);
    s_write(fixture->path, "hello from the workspace\n");
    snprintf(fixture->path, sizeof fixture->path, "%s/src/sub/inner.txt", fixture->root);
    s_write(fixture->path, "inner\n");
    fixture->source = tsr_cas_new();
    snprintf(fixture->path, sizeof fixture->path, "%s/source", fixture->root);
    assert_int_equal(tsr_cas_open(fixture->source, fixture->path, 64u << 20), TSR_OK);
    tsr_tree_t *tree = tsr_tree_new();
    snprintf(fixture->path, sizeof fixture->path, "%s/src", fixture->root);
    assert_int_equal(tsr_tree_scan(tree, fixture->path, NULL), TSR_OK);
    assert_int_equal(tsr_tree_store(tree, fixture->source), TSR_OK);
    fixture->workspace = *tsr_tree_root(tree);
    tsr_tree_destroy(&tree);

    fixture->opts.coordinator = fixture->endpoint;
    fixture->opts.server_key = fixture->coord_pub;
    fixture->opts.key = fixture->agent_key;
    fixture->opts.data_dir = fixture->data_dir;
    fixture->opts.name = "test-agent";
    fixture->opts.labels = "zone=test";
    fixture->opts.heartbeat_ivl_ms = 100;
    fixture->opts.ready_file = fixture->ready_path;
    fixture->opts.drain_grace_ms = 300;
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zactor_destroy(&fixture->agent);
    zframe_destroy(&fixture->peer);
    zsock_destroy(&fixture->router);
    tsr_cas_destroy(&fixture->source);
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

static void
s_send(fixture_t *fixture, Tessera__Envelope *env)
{
    assert_non_null(fixture->peer);
    assert_int_equal(tsr_msg_send(env, fixture->router, fixture->peer), TSR_OK);
}

//  Answer a BlobGet from the source CAS.
static void
s_serve_blob_get(fixture_t *fixture, const Tessera__Envelope *request)
{
    tsr_digest_t digest;
    assert_int_equal(tsr_msg_digest_get(request->blob_get->digest, &digest), TSR_OK);
    uint8_t *buffer = (uint8_t *)malloc(request->blob_get->length + 1);
    size_t got = 0;
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, &digest);
    Tessera__BlobChunk chunk = TESSERA__BLOB_CHUNK__INIT;
    chunk.digest = &wire;
    chunk.offset = request->blob_get->offset;
    if (tsr_cas_read(fixture->source, &digest, request->blob_get->offset, buffer,
                     request->blob_get->length, &got) != TSR_OK)
        chunk.missing = true;
    chunk.data.data = buffer;
    chunk.data.len = got;
    Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
    reply.req_id = request->req_id;
    reply.body_case = TESSERA__ENVELOPE__BODY_BLOB_CHUNK;
    reply.blob_chunk = &chunk;
    s_send(fixture, &reply);
    free(buffer);
    fixture->blob_gets++;
}

//  Receive until a message of `kind` arrives (serving BlobGets, skipping
//  others); NULL if none came within `timeout_ms`.
static Tessera__Envelope *
s_expect(fixture_t *fixture, Tessera__Envelope__BodyCase kind, int timeout_ms)
{
    int64_t deadline_ms = zclock_mono() + timeout_ms;
    zpoller_t *poller = zpoller_new(fixture->router, NULL);
    Tessera__Envelope *found = NULL;
    while (!found) {
        int64_t left_ms = deadline_ms - zclock_mono();
        if (left_ms <= 0 || !zpoller_wait(poller, (int)left_ms))
            break;
        zframe_t *peer = NULL;
        Tessera__Envelope *env = NULL;
        if (tsr_msg_recv(fixture->router, &peer, NULL, &env) != TSR_OK) {
            zframe_destroy(&peer);
            continue;
        }
        zframe_destroy(&fixture->peer);
        fixture->peer = peer;
        if (env->body_case == TESSERA__ENVELOPE__BODY_BLOB_GET &&
            kind != TESSERA__ENVELOPE__BODY_BLOB_GET)
            s_serve_blob_get(fixture, env);
        if (env->body_case == TESSERA__ENVELOPE__BODY_HEARTBEAT && !fixture->silent) {
            Tessera__Heartbeat heartbeat = TESSERA__HEARTBEAT__INIT;
            Tessera__Envelope reply = TESSERA__ENVELOPE__INIT;
            reply.body_case = TESSERA__ENVELOPE__BODY_HEARTBEAT;
            reply.heartbeat = &heartbeat;
            s_send(fixture, &reply);
        }
        if (env->body_case == kind)
            found = env;
        else
            tsr_msg_destroy(&env);
    }
    zpoller_destroy(&poller);
    return found;
}

static void
s_welcome(fixture_t *fixture, uint64_t *cancel, size_t cancel_count)
{
    Tessera__Welcome welcome = TESSERA__WELCOME__INIT;
    welcome.agent_id = "testid12";
    welcome.heartbeat_ivl_ms = 100;
    welcome.liveness = 3;
    welcome.n_cancel = cancel_count;
    welcome.cancel = cancel;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_WELCOME;
    env.welcome = &welcome;
    s_send(fixture, &env);
}

//  Start the agent and complete the handshake; returns the Hello's CPUs.
static void
s_start_agent(fixture_t *fixture)
{
    fixture->agent = zactor_new(tsr_agent_actor, &fixture->opts);
    assert_non_null(fixture->agent);
    Tessera__Envelope *hello = s_expect(fixture, TESSERA__ENVELOPE__BODY_HELLO, S_WAIT_MS);
    assert_non_null(hello);
    assert_string_equal(hello->hello->name, "test-agent");
    assert_true(hello->hello->n_cpus >= 1);
    bool has_os = false, has_zone = false;
    for (size_t index = 0; index < hello->hello->n_labels; index++) {
        const Tessera__Label *label = hello->hello->labels[index];
        has_os |= streq(label->key, "os") && streq(label->value, "linux");
        has_zone |= streq(label->key, "zone") && streq(label->value, "test");
    }
    assert_true(has_os);
    assert_true(has_zone);
    tsr_msg_destroy(&hello);
    s_welcome(fixture, NULL, 0);
}

static void
s_assign(fixture_t *fixture, uint64_t attempt_id, const char *script, uint32_t threads)
{
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, &fixture->workspace);
    char *argv[] = {"/bin/sh", "-c", (char *)script};
    Tessera__EnvVar var = TESSERA__ENV_VAR__INIT;
    var.name = "GREETING";
    var.value = "hi";
    Tessera__EnvVar *vars[] = {&var};
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    assign.attempt_id = attempt_id;
    assign.run_id = "run-1";
    assign.job = "job";
    assign.shard_index = 1;
    assign.shard_count = 2;
    assign.n_argv = 3;
    assign.argv = argv;
    assign.n_env = 1;
    assign.env = vars;
    assign.workspace = &wire;
    assign.threads = threads;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_ASSIGN;
    env.assign = &assign;
    s_send(fixture, &env);
}

static bool
s_file_exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

//  Wait for the Progress of the attempt just assigned: it started
static void
s_expect_progress(fixture_t *fixture)
{
    Tessera__Envelope *progress = s_expect(fixture, TESSERA__ENVELOPE__BODY_PROGRESS, S_WAIT_MS);
    assert_non_null(progress);
    tsr_msg_destroy(&progress);
}

static void
s_cancel(fixture_t *fixture, uint64_t attempt_id)
{
    Tessera__Cancel cancel = TESSERA__CANCEL__INIT;
    cancel.n_attempt_ids = 1;
    cancel.attempt_ids = &attempt_id;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    s_send(fixture, &env);
}

//  Heartbeats soon show no running attempt (every slot free)
static void
s_expect_idle(fixture_t *fixture)
{
    int64_t deadline_ms = zclock_mono() + S_WAIT_MS;
    bool idle = false;
    while (!idle && zclock_mono() < deadline_ms) {
        Tessera__Envelope *heartbeat =
            s_expect(fixture, TESSERA__ENVELOPE__BODY_HEARTBEAT, S_WAIT_MS);
        assert_non_null(heartbeat);
        idle = heartbeat->heartbeat->n_running == 0;
        tsr_msg_destroy(&heartbeat);
    }
    assert_true(idle);
}

static void
test_agent_runs_assigned_shard_in_materialised_workspace(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    s_assign(fixture, 11,
             "cat hello.txt sub/inner.txt; echo \"$GREETING $TSR_SHARD_INDEX/$TSR_SHARD_COUNT "
             "$TSR_THREADS $TSR_RUN_ID $TSR_ATTEMPT_ID\"; exit 4",
             1);
    Tessera__Envelope *progress = s_expect(fixture, TESSERA__ENVELOPE__BODY_PROGRESS, S_WAIT_MS);
    assert_non_null(progress);
    assert_int_equal(progress->progress->attempt_id, 11);
    assert_int_equal(progress->progress->n_cpus, 1);
    tsr_msg_destroy(&progress);
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->attempt_id, 11);
    assert_int_equal(result->result->exit_code, 4);
    assert_string_equal(result->result->error, "");
    const char *expect = "hello from the workspace\ninner\nhi 1/2 1 run-1 11\n";
    assert_int_equal(result->result->output_tail.len, strlen(expect));
    assert_memory_equal(result->result->output_tail.data, expect, strlen(expect));
    tsr_msg_destroy(&result);
    assert_true(fixture->blob_gets >= 3); //  root tree, sub tree, files
    assert_true(s_file_exists(fixture->ready_path));

    //  The same workspace again: all cached, no fetch
    size_t blob_gets = fixture->blob_gets;
    s_assign(fixture, 12, "cat hello.txt", 1);
    result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->attempt_id, 12);
    assert_int_equal(result->result->exit_code, 0);
    tsr_msg_destroy(&result);
    assert_int_equal(fixture->blob_gets, blob_gets);
    //  The attempt directories are gone
    snprintf(fixture->path, sizeof fixture->path, "%s/work/11", fixture->data_dir);
    assert_false(s_file_exists(fixture->path));
}

static void
test_agent_reports_spawn_failure_and_refuses_too_many_threads(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, &fixture->workspace);
    char *argv[] = {"/nonexistent/tessera-no-such-command"};
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    assign.attempt_id = 21;
    assign.n_argv = 1;
    assign.argv = argv;
    assign.workspace = &wire;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_ASSIGN;
    env.assign = &assign;
    s_send(fixture, &env);
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->attempt_id, 21);
    assert_int_equal(result->result->exit_code, 127);
    assert_true(strlen(result->result->error) > 0);
    tsr_msg_destroy(&result);

    s_assign(fixture, 22, "true", 4096);
    result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->attempt_id, 22);
    assert_non_null(strstr(result->result->error, "slots"));
    tsr_msg_destroy(&result);
}

static void
test_agent_cancel_kills_without_result(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    s_assign(fixture, 31, "exec sleep 30", 1);
    s_expect_progress(fixture);
    s_cancel(fixture, 31);
    //  Heartbeats soon show no running attempt and every slot free; no Result
    s_expect_idle(fixture);
    assert_null(s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, 300));
}

static void
test_agent_says_hello_again_on_estate_and_reports_in_flight(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    s_assign(fixture, 41, "exec sleep 30", 1);
    s_expect_progress(fixture);
    Tessera__Error error = TESSERA__ERROR__INIT;
    error.code = TSR_ESTATE;
    error.text = "who are you";
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_ERROR;
    env.error = &error;
    s_send(fixture, &env);
    Tessera__Envelope *hello = s_expect(fixture, TESSERA__ENVELOPE__BODY_HELLO, S_WAIT_MS);
    assert_non_null(hello);
    assert_int_equal(hello->hello->n_in_flight, 1);
    assert_int_equal(hello->hello->in_flight[0], 41);
    tsr_msg_destroy(&hello);
    //  The coordinator no longer wants it: Welcome.cancel kills it
    uint64_t cancel[] = {41};
    s_welcome(fixture, cancel, 1);
    s_expect_idle(fixture);
}

static void
test_agent_drain_is_reported_in_heartbeats(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    Tessera__Drain drain = TESSERA__DRAIN__INIT;
    drain.drain = true;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_DRAIN;
    env.drain = &drain;
    s_send(fixture, &env);
    Tessera__Envelope *heartbeat = NULL;
    int64_t deadline_ms = zclock_mono() + S_WAIT_MS;
    bool draining = false;
    while (!draining && zclock_mono() < deadline_ms) {
        heartbeat = s_expect(fixture, TESSERA__ENVELOPE__BODY_HEARTBEAT, S_WAIT_MS);
        assert_non_null(heartbeat);
        draining = heartbeat->heartbeat->draining;
        tsr_msg_destroy(&heartbeat);
    }
    assert_true(draining);
}

static void
test_agent_reconnects_after_liveness_runs_out(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    fixture->silent = true;
    //  Say nothing: after 3 silent intervals the agent drops its DEALER and,
    //  after a back-off of about a second, says Hello on a new connection
    int64_t started_ms = zclock_mono();
    Tessera__Envelope *hello = s_expect(fixture, TESSERA__ENVELOPE__BODY_HELLO, S_WAIT_MS);
    assert_non_null(hello);
    //  two to three silent intervals, then at least 750 ms of back-off
    assert_true(zclock_mono() - started_ms >= 200 + 750);
    tsr_msg_destroy(&hello);
}

static void
test_agent_term_hands_back_unfinished_work_with_bye(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    s_assign(fixture, 51, "exec sleep 30", 1);
    s_expect_progress(fixture);
    zstr_send(fixture->agent, "$TERM");
    Tessera__Envelope *bye = s_expect(fixture, TESSERA__ENVELOPE__BODY_BYE, S_WAIT_MS);
    assert_non_null(bye);
    assert_int_equal(bye->bye->n_handed_back, 1);
    assert_int_equal(bye->bye->handed_back[0], 51);
    tsr_msg_destroy(&bye);
}

static void
test_agent_term_lets_running_work_finish(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fixture->opts.drain_grace_ms = 10000;
    s_start_agent(fixture);
    s_assign(fixture, 61, "sleep 0.3; echo done", 1);
    s_expect_progress(fixture);
    zstr_send(fixture->agent, "$TERM");
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->exit_code, 0);
    tsr_msg_destroy(&result);
    Tessera__Envelope *bye = s_expect(fixture, TESSERA__ENVELOPE__BODY_BYE, S_WAIT_MS);
    assert_non_null(bye);
    assert_int_equal(bye->bye->n_handed_back, 0);
    tsr_msg_destroy(&bye);
}

static void
test_agent_runs_jobs_as_user_when_root(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    if (geteuid() != 0)
        skip();
    fixture->opts.user = "nobody";
    s_start_agent(fixture);
    //  The job can write into its workspace, as nobody, with nobody's HOME
    s_assign(fixture, 71, "id -un; touch made-by-job && echo \"wrote $HOME $USER\"", 1);
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->exit_code, 0);
    const char *expect = "nobody\nwrote /nonexistent nobody\n";
    assert_int_equal(result->result->output_tail.len, strlen(expect));
    assert_memory_equal(result->result->output_tail.data, expect, strlen(expect));
    tsr_msg_destroy(&result);
}

//  ---------------------------------------------------------------- test jobs

#define S_PYTHON "/usr/bin/python3"

//  A pytest suite in the source CAS: its root digest in *digest_out.
static void
s_store_pytest_suite(fixture_t *fixture, tsr_digest_t *digest_out)
{
    snprintf(fixture->path, sizeof fixture->path, "%s/pysrc/tests", fixture->root);
    zsys_dir_create(fixture->path);
    snprintf(fixture->path, sizeof fixture->path, "%s/pysrc/tests/test_demo.py", fixture->root);
    s_write(fixture->path, "import os, time\n"
                           "def test_pass():\n    assert os.environ['GREETING'] == 'hi'\n"
                           "def test_fail():\n    assert 1 == 2\n"
                           "def test_hang():\n    time.sleep(60)\n"
                           "def test_last():\n    pass\n");
    tsr_tree_t *tree = tsr_tree_new();
    snprintf(fixture->path, sizeof fixture->path, "%s/pysrc", fixture->root);
    assert_int_equal(tsr_tree_scan(tree, fixture->path, NULL), TSR_OK);
    assert_int_equal(tsr_tree_store(tree, fixture->source), TSR_OK);
    *digest_out = *tsr_tree_root(tree);
    tsr_tree_destroy(&tree);
}

static void
s_assign_pytest(fixture_t *fixture, uint64_t attempt_id, const tsr_digest_t *workspace,
                Tessera__Assign__Kind kind, const char *const *test_ids, uint32_t timeout_ms)
{
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, workspace);
    char *argv[] = {S_PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "tests"};
    Tessera__EnvVar var = TESSERA__ENV_VAR__INIT;
    var.name = "GREETING";
    var.value = "hi";
    Tessera__EnvVar *vars[] = {&var};
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    assign.attempt_id = attempt_id;
    assign.run_id = "run-2";
    assign.job = "py";
    assign.shard_count = 1;
    assign.n_argv = 6;
    assign.argv = argv;
    assign.n_env = 1;
    assign.env = vars;
    assign.workspace = &wire;
    assign.threads = 1;
    assign.framework = "pytest";
    assign.kind = kind;
    assign.project = "demo/project";
    assign.timeout_ms = timeout_ms;
    size_t count = 0;
    while (test_ids && test_ids[count])
        count++;
    assign.n_test_ids = count;
    assign.test_ids = (char **)test_ids;
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_ASSIGN;
    env.assign = &assign;
    s_send(fixture, &env);
}

static const Tessera__TestResult *
s_find_test(const Tessera__Result *result, const char *id)
{
    for (size_t index = 0; index < result->n_tests; index++)
        if (streq(result->tests[index]->id, id))
            return result->tests[index];
    return NULL;
}

static void
test_agent_lists_and_runs_pytest_shards_on_a_worker(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    if (access(S_PYTHON, X_OK) != 0)
        skip();
    tsr_digest_t suite;
    s_store_pytest_suite(fixture, &suite);
    s_start_agent(fixture);
    s_assign_pytest(fixture, 81, &suite, TESSERA__ASSIGN__KIND__LIST, NULL, 0);
    Tessera__Envelope *progress = s_expect(fixture, TESSERA__ENVELOPE__BODY_PROGRESS, S_WAIT_MS);
    assert_non_null(progress);
    assert_int_equal(progress->progress->attempt_id, 81);
    tsr_msg_destroy(&progress);
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->attempt_id, 81);
    assert_string_equal(result->result->error, "");
    assert_int_equal(result->result->exit_code, 0);
    assert_int_equal(result->result->n_listed, 4);
    assert_string_equal(result->result->listed[0], "tests/test_demo.py::test_pass");
    assert_string_equal(result->result->listed[3], "tests/test_demo.py::test_last");
    assert_int_equal(result->result->n_cpus, 1);
    tsr_msg_destroy(&result);
    //  The per-project cache stays; the attempt dir goes
    snprintf(fixture->path, sizeof fixture->path, "%s/projects/demo_project/pytest",
             fixture->data_dir);
    assert_true(s_file_exists(fixture->path));

    //  A shard with a hung test: the loop keeps heartbeating while the worker
    //  waits, the hung test is TIMED_OUT, the one after it gets no result
    const char *const ids[] = {"tests/test_demo.py::test_pass", "tests/test_demo.py::test_fail",
                               "tests/test_demo.py::test_hang", "tests/test_demo.py::test_last",
                               NULL};
    s_assign_pytest(fixture, 82, &suite, TESSERA__ASSIGN__KIND__RUN, ids, 5000);
    progress = s_expect(fixture, TESSERA__ENVELOPE__BODY_PROGRESS, S_WAIT_MS);
    assert_non_null(progress);
    tsr_msg_destroy(&progress);
    Tessera__Envelope *heartbeat = s_expect(fixture, TESSERA__ENVELOPE__BODY_HEARTBEAT, S_WAIT_MS);
    assert_non_null(heartbeat);
    assert_int_equal(heartbeat->heartbeat->n_running, 1);
    assert_int_equal(heartbeat->heartbeat->running[0], 82);
    tsr_msg_destroy(&heartbeat);
    result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    const Tessera__Result *run = result->result;
    assert_int_equal(run->attempt_id, 82);
    assert_string_equal(run->error, "");
    assert_true(run->timed_out);
    assert_int_equal(run->n_tests, 3);
    assert_int_equal(s_find_test(run, ids[0])->outcome, TESSERA__OUTCOME__PASSED);
    assert_int_equal(s_find_test(run, ids[1])->outcome, TESSERA__OUTCOME__FAILED);
    assert_int_equal(s_find_test(run, ids[2])->outcome, TESSERA__OUTCOME__TIMED_OUT);
    assert_null(s_find_test(run, ids[3]));
    assert_true(run->output_tail.len > 0);
    tsr_msg_destroy(&result);
    //  The first attempt's directory is gone (it was removed after its Result)
    snprintf(fixture->path, sizeof fixture->path, "%s/work/81", fixture->data_dir);
    assert_false(s_file_exists(fixture->path));
}

static void
test_agent_cancel_stops_a_framework_attempt(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    if (access(S_PYTHON, X_OK) != 0)
        skip();
    tsr_digest_t suite;
    s_store_pytest_suite(fixture, &suite);
    s_start_agent(fixture);
    const char *const ids[] = {"tests/test_demo.py::test_hang", NULL};
    s_assign_pytest(fixture, 91, &suite, TESSERA__ASSIGN__KIND__RUN, ids, 0);
    s_expect_progress(fixture);
    s_cancel(fixture, 91);
    s_expect_idle(fixture);
    assert_null(s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, 300));
    snprintf(fixture->path, sizeof fixture->path, "%s/work/91", fixture->data_dir);
    assert_false(s_file_exists(fixture->path));
}

static void
test_agent_term_hands_back_a_framework_attempt(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    if (access(S_PYTHON, X_OK) != 0)
        skip();
    tsr_digest_t suite;
    s_store_pytest_suite(fixture, &suite);
    s_start_agent(fixture);
    const char *const ids[] = {"tests/test_demo.py::test_hang", NULL};
    s_assign_pytest(fixture, 95, &suite, TESSERA__ASSIGN__KIND__RUN, ids, 0);
    s_expect_progress(fixture);
    int64_t started_ms = zclock_mono();
    zstr_send(fixture->agent, "$TERM");
    Tessera__Envelope *bye = s_expect(fixture, TESSERA__ENVELOPE__BODY_BYE, S_WAIT_MS);
    assert_non_null(bye);
    assert_int_equal(bye->bye->n_handed_back, 1);
    assert_int_equal(bye->bye->handed_back[0], 95);
    tsr_msg_destroy(&bye);
    //  The grace (300 ms) and a prompt kill, not the test's 60 s
    assert_true(zclock_mono() - started_ms < 10000);
}

static void
test_agent_runs_test_jobs_as_user_when_root(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    if (geteuid() != 0 || access(S_PYTHON, X_OK) != 0)
        skip();
    fixture->opts.user = "nobody";
    //  pytest looks at the workspace's parents: they must be searchable
    assert_int_equal(chmod(fixture->root, 0755), 0);
    tsr_digest_t suite;
    s_store_pytest_suite(fixture, &suite);
    s_start_agent(fixture);
    const char *const ids[] = {"tests/test_demo.py::test_pass", NULL};
    s_assign_pytest(fixture, 97, &suite, TESSERA__ASSIGN__KIND__RUN, ids, 30000);
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_string_equal(result->result->error, "");
    assert_int_equal(result->result->n_tests, 1);
    assert_int_equal(result->result->tests[0]->outcome, TESSERA__OUTCOME__PASSED);
    tsr_msg_destroy(&result);
}

static void
test_agent_refuses_an_unknown_framework(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_start_agent(fixture);
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, &fixture->workspace);
    char *argv[] = {"true"};
    Tessera__Assign assign = TESSERA__ASSIGN__INIT;
    assign.attempt_id = 99;
    assign.n_argv = 1;
    assign.argv = argv;
    assign.workspace = &wire;
    assign.framework = "no-such-framework";
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_ASSIGN;
    env.assign = &assign;
    s_send(fixture, &env);
    Tessera__Envelope *result = s_expect(fixture, TESSERA__ENVELOPE__BODY_RESULT, S_WAIT_MS);
    assert_non_null(result);
    assert_int_equal(result->result->attempt_id, 99);
    assert_non_null(strstr(result->result->error, "unknown test framework"));
    tsr_msg_destroy(&result);
}

static void
test_agent_actor_reports_failed_start(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fixture->opts.labels = "no equals sign";
    fixture->agent = zactor_new(tsr_agent_actor, &fixture->opts);
    assert_non_null(fixture->agent);
    char *word = NULL;
    int code = 0;
    assert_int_equal(zsock_recv(fixture->agent, "si", &word, &code), 0);
    assert_string_equal(word, "FAILED");
    assert_int_equal(code, TSR_EINVAL);
    zstr_free(&word);
}

static void
test_agent_start_fails_on_bad_options(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_agent_opts_t opts = fixture->opts;
    opts.labels = "bad label";
    tsr_agent_t *agent = tsr_agent_new(&opts);
    assert_int_equal(tsr_agent_start(agent), TSR_EINVAL);
    tsr_agent_destroy(&agent);
    opts = fixture->opts;
    opts.cpus = "not-a-list";
    agent = tsr_agent_new(&opts);
    assert_int_equal(tsr_agent_start(agent), TSR_EINVAL);
    tsr_agent_destroy(&agent);
    opts = fixture->opts;
    opts.key = "/nonexistent/key";
    agent = tsr_agent_new(&opts);
    assert_int_equal(tsr_agent_start(agent), TSR_EKEY);
    tsr_agent_destroy(&agent);
    opts = fixture->opts;
    opts.user = "no-such-user-tessera";
    agent = tsr_agent_new(&opts);
    assert_int_equal(tsr_agent_start(agent), TSR_EINVAL);
    tsr_agent_destroy(&agent);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_agent_runs_assigned_shard_in_materialised_workspace,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(
            test_agent_reports_spawn_failure_and_refuses_too_many_threads, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_cancel_kills_without_result, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_says_hello_again_on_estate_and_reports_in_flight,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_drain_is_reported_in_heartbeats, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_reconnects_after_liveness_runs_out, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_term_hands_back_unfinished_work_with_bye,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_term_lets_running_work_finish, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_runs_jobs_as_user_when_root, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_lists_and_runs_pytest_shards_on_a_worker,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_cancel_stops_a_framework_attempt, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_term_hands_back_a_framework_attempt, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_runs_test_jobs_as_user_when_root, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_an_unknown_framework, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_actor_reports_failed_start, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_agent_start_fails_on_bad_options, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
