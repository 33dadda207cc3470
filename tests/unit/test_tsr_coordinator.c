/*  Tests for tsr_coordinator in-process: the real object in its zactor on
    loopback ports, fake agents (CURVE DEALERs speaking the protocol) and the
    real tsr_client. Covers ZAP refusals, Hello/Welcome, a sharded run, lease
    expiry and requeue, stale results, cancel, drain and a restart.          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "tsr_client.h"
#include "tsr_coordinator.h"
#include "tsr_keys.h"
#include "tsr_msg.h"
#include "tsr_tree.h"
#include "tsr_testdir.h"

#define HEARTBEAT_MS 100
#define WAIT_MS 5000 //  deadline for anything that should happen

typedef struct {
    char *root;            //  owned scratch directory (tsr_testdir)
    char data[320];        //  coordinator data dir
    char workspace[320];   //  a small workspace to upload
    tsr_config_t config;   //  coordinator configuration
    zactor_t *coordinator; //  owned; NULL when stopped
    char *agents_endpoint; //  owned
    char *clients_endpoint;
    char *server_key;
    zcert_t *client_cert; //  allowed on the clients endpoint
    zcert_t *agent_cert;  //  allowed on the agents endpoint
    zcert_t *agent2_cert; //  allowed on the agents endpoint
    zcert_t *stranger;    //  in no allow-list
    tsr_client_t *client; //  owned
} fixture_t;

typedef struct {
    zsock_t *dealer; //  owned
    zcert_t *cert;   //  borrowed
} fake_agent_t;

//  ---------------------------------------------------------------- helpers

static zcert_t *
s_key(fixture_t *fixture, const char *name, const char *allow_dir)
{
    char path[400];
    snprintf(path, sizeof path, "%s/keys/%s", fixture->root, name);
    assert_int_equal(tsr_keys_generate(path), TSR_OK);
    zcert_t *cert = NULL;
    assert_int_equal(tsr_keys_load_secret(path, &cert), TSR_OK);
    if (allow_dir) {
        snprintf(path, sizeof path, "%s/allow/%s/%s.pub", fixture->data, allow_dir, name);
        assert_int_equal(zcert_save_public(cert, path), 0);
    }
    return cert;
}

static void
s_start(fixture_t *fixture)
{
    fixture->coordinator = zactor_new(tsr_coordinator_actor, &fixture->config);
    int status = -1;
    zstr_send(fixture->coordinator, "STATUS");
    assert_int_equal(zsock_recv(fixture->coordinator, "i", &status), 0);
    assert_int_equal(status, TSR_OK);
    zstr_free(&fixture->agents_endpoint);
    zstr_free(&fixture->clients_endpoint);
    zstr_free(&fixture->server_key);
    zstr_send(fixture->coordinator, "ENDPOINTS");
    assert_int_equal(zsock_recv(fixture->coordinator, "sss", &fixture->agents_endpoint,
                                &fixture->clients_endpoint, &fixture->server_key),
                     0);
    tsr_client_destroy(&fixture->client);
    fixture->client =
        tsr_client_new(fixture->clients_endpoint, fixture->server_key, fixture->client_cert);
}

static void
s_stop(fixture_t *fixture)
{
    tsr_client_destroy(&fixture->client);
    zactor_destroy(&fixture->coordinator);
}

static int
s_setup_with(void **state, uint32_t liveness)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("coord");
    snprintf(fixture->data, sizeof fixture->data, "%s/data", fixture->root);
    zsys_dir_create("%s/keys", fixture->root);
    zsys_dir_create("%s/allow/agents", fixture->data);
    zsys_dir_create("%s/allow/clients", fixture->data);
    fixture->client_cert = s_key(fixture, "client", "clients");
    fixture->agent_cert = s_key(fixture, "agent", "agents");
    fixture->agent2_cert = s_key(fixture, "agent2", "agents");
    fixture->stranger = s_key(fixture, "stranger", NULL);
    snprintf(fixture->workspace, sizeof fixture->workspace, "%s/ws", fixture->root);
    zsys_dir_create("%s/sub", fixture->workspace);
    zfile_t *file = zfile_new(fixture->workspace, "hello.txt");
    assert_int_equal(zfile_output(file), 0);
    zchunk_t *content = zchunk_new("hello\n", 6);
    assert_int_equal(zfile_write(file, content, 0), 0);
    zchunk_destroy(&content);
    zfile_close(file);
    zfile_destroy(&file);

    tsr_config_init(&fixture->config);
    fixture->config.data_dir = strdup(fixture->data);
    //  "!" = a random port: "*" takes the lowest free one, which another test
    //  process may grab while test_coordinator_resumes_after_restart rebinds it
    fixture->config.agents_endpoint = strdup("tcp://127.0.0.1:!");
    fixture->config.clients_endpoint = strdup("tcp://127.0.0.1:!");
    fixture->config.heartbeat_ivl_ms = HEARTBEAT_MS;
    fixture->config.liveness = liveness;
    fixture->config.cache_max_bytes = 64u << 20;
    s_start(fixture);
    *state = fixture;
    return 0;
}

static int
s_setup(void **state)
{
    return s_setup_with(state, 20); //  agents live 2 s without a message
}

static int
s_setup_short_liveness(void **state)
{
    return s_setup_with(state, 3); //  agents expire after 300 ms of silence
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_stop(fixture);
    zstr_free(&fixture->agents_endpoint);
    zstr_free(&fixture->clients_endpoint);
    zstr_free(&fixture->server_key);
    zcert_destroy(&fixture->client_cert);
    zcert_destroy(&fixture->agent_cert);
    zcert_destroy(&fixture->agent2_cert);
    zcert_destroy(&fixture->stranger);
    tsr_config_clear(&fixture->config);
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

static fake_agent_t *
s_agent_new(fixture_t *fixture, zcert_t *cert, const char *endpoint)
{
    fake_agent_t *agent = (fake_agent_t *)zmalloc(sizeof(fake_agent_t));
    agent->cert = cert;
    agent->dealer = zsock_new(ZMQ_DEALER);
    zsock_set_linger(agent->dealer, 0);
    zcert_apply(cert, agent->dealer);
    zsock_set_curve_serverkey(agent->dealer, fixture->server_key);
    assert_int_equal(zsock_connect(agent->dealer, "%s", endpoint), 0);
    return agent;
}

static void
s_agent_destroy(fake_agent_t **agent_p)
{
    zsock_destroy(&(*agent_p)->dealer);
    free(*agent_p);
    *agent_p = NULL;
}

static void
s_agent_send(fake_agent_t *agent, Tessera__Envelope *env)
{
    assert_int_equal(tsr_msg_send(env, agent->dealer, NULL), TSR_OK);
}

static void
s_agent_hello(fake_agent_t *agent, const char *name, size_t cpu_count, const uint64_t *in_flight,
              size_t in_flight_count)
{
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    Tessera__Hello hello = TESSERA__HELLO__INIT;
    uint32_t cpus[4] = {0, 1, 2, 3};
    Tessera__Label label = TESSERA__LABEL__INIT;
    Tessera__Label *labels[1] = {&label};
    label.key = (char *)"os";
    label.value = (char *)"linux";
    hello.name = (char *)name;
    hello.version = (char *)TSR_VERSION;
    hello.cpus = cpus;
    hello.n_cpus = cpu_count;
    hello.labels = labels;
    hello.n_labels = 1;
    hello.in_flight = (uint64_t *)in_flight;
    hello.n_in_flight = in_flight_count;
    env.body_case = TESSERA__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    s_agent_send(agent, &env);
}

static void
s_agent_heartbeat(fake_agent_t *agent)
{
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    Tessera__Heartbeat heartbeat = TESSERA__HEARTBEAT__INIT;
    env.body_case = TESSERA__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &heartbeat;
    s_agent_send(agent, &env);
}

//  Next message other than Heartbeat (each answered, so the agent stays
//  alive) within `timeout_ms`; NULL if none
static Tessera__Envelope *
s_agent_recv(fake_agent_t *agent, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0)
            return NULL;
        zsock_set_rcvtimeo(agent->dealer, (int)left);
        Tessera__Envelope *env = NULL;
        if (tsr_msg_recv(agent->dealer, NULL, NULL, &env) != TSR_OK)
            continue;
        if (env->body_case == TESSERA__ENVELOPE__BODY_HEARTBEAT) {
            tsr_msg_destroy(&env);
            s_agent_heartbeat(agent);
            continue;
        }
        return env;
    }
}

static Tessera__Envelope *
s_agent_expect(fake_agent_t *agent, Tessera__Envelope__BodyCase body)
{
    Tessera__Envelope *env = s_agent_recv(agent, WAIT_MS);
    assert_non_null(env);
    assert_int_equal(env->body_case, body);
    return env;
}

static void
s_agent_result(fake_agent_t *agent, uint64_t attempt_id, int exit_code)
{
    Tessera__Envelope env = TESSERA__ENVELOPE__INIT;
    Tessera__Result result = TESSERA__RESULT__INIT;
    result.attempt_id = attempt_id;
    result.exit_code = exit_code;
    result.duration_ms = 3;
    result.output_tail.data = (uint8_t *)"shard output\n";
    result.output_tail.len = 13;
    env.body_case = TESSERA__ENVELOPE__BODY_RESULT;
    env.result = &result;
    s_agent_send(agent, &env);
}

static int
s_request(fixture_t *fixture, Tessera__Envelope *request, Tessera__Envelope **reply_out)
{
    return tsr_client_request(fixture->client, request, 2000, 2, reply_out);
}

//  Handshake counters: accepted, unknown key, wrong endpoint, not CURVE, bad
enum { STAT_ACCEPTED, STAT_UNKNOWN_KEY, STAT_WRONG_ENDPOINT, STAT_NOT_CURVE, STAT_BAD };

static uint64_t
s_stat(fixture_t *fixture, int which)
{
    uint64_t stats[5] = {0};
    zstr_send(fixture->coordinator, "STATS");
    assert_int_equal(zsock_recv(fixture->coordinator, "88888", &stats[0], &stats[1], &stats[2],
                                &stats[3], &stats[4]),
                     0);
    return stats[which];
}

//  Wait (under a deadline) until a counter reaches `minimum`
static void
s_wait_stat(fixture_t *fixture, int which, uint64_t minimum)
{
    int64_t deadline = zclock_mono() + WAIT_MS;
    while (s_stat(fixture, which) < minimum) {
        assert_true(zclock_mono() < deadline);
        zclock_sleep(10);
    }
}

static size_t
s_agent_count(fixture_t *fixture)
{
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__AgentsRequest agents = TESSERA__AGENTS_REQUEST__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_AGENTS_REQUEST;
    request.agents_request = &agents;
    Tessera__Envelope *reply = NULL;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
    assert_int_equal(reply->body_case, TESSERA__ENVELOPE__BODY_AGENTS_REPLY);
    size_t count = reply->agents_reply->n_agents;
    tsr_msg_destroy(&reply);
    return count;
}

//  Upload the workspace and submit one command job of `shards` shards.
//  Returns the Submit's result code; the run id into run_id (64 bytes).
static int
s_submit(fixture_t *fixture, const char *uuid, uint32_t shards, char *run_id)
{
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, fixture->workspace, NULL), TSR_OK);
    uint64_t uploaded = 0;
    assert_int_equal(tsr_client_upload(fixture->client, tree, &uploaded), TSR_OK);
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__Submit submit = TESSERA__SUBMIT__INIT;
    Tessera__JobSpec job = TESSERA__JOB_SPEC__INIT;
    Tessera__JobSpec *jobs[1] = {&job};
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    char *argv[2] = {(char *)"sh", (char *)"-c"};
    job.name = (char *)"default";
    job.framework = (char *)"command";
    job.argv = argv;
    job.n_argv = 2;
    job.shards = shards;
    tsr_msg_digest_set(&workspace, tsr_tree_root(tree));
    submit.client_uuid = (char *)uuid;
    submit.project = (char *)"test";
    submit.workspace = &workspace;
    submit.jobs = jobs;
    submit.n_jobs = 1;
    submit.uploaded_bytes = uploaded;
    request.body_case = TESSERA__ENVELOPE__BODY_SUBMIT;
    request.submit = &submit;
    Tessera__Envelope *reply = NULL;
    int rc = s_request(fixture, &request, &reply);
    if (rc == TSR_OK) {
        assert_int_equal(reply->body_case, TESSERA__ENVELOPE__BODY_SUBMITTED);
        snprintf(run_id, 64, "%s", reply->submitted->run_id);
    }
    tsr_msg_destroy(&reply);
    tsr_tree_destroy(&tree);
    return rc;
}

//  Watch the run until it is done; returns the final WatchReply (caller destroys)
static Tessera__Envelope *
s_watch_until_done(fixture_t *fixture, const char *run_id, fake_agent_t *keep_alive)
{
    uint64_t after_seq = 0;
    int64_t deadline = zclock_mono() + WAIT_MS;
    while (zclock_mono() < deadline) {
        Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
        Tessera__Watch watch = TESSERA__WATCH__INIT;
        watch.run_id = (char *)run_id;
        watch.after_seq = after_seq;
        watch.wait_ms = 200;
        request.body_case = TESSERA__ENVELOPE__BODY_WATCH;
        request.watch = &watch;
        Tessera__Envelope *reply = NULL;
        assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
        assert_int_equal(reply->body_case, TESSERA__ENVELOPE__BODY_WATCH_REPLY);
        for (size_t index = 0; index < reply->watch_reply->n_events; index++) {
            assert_true(reply->watch_reply->events[index]->seq > after_seq);
            after_seq = reply->watch_reply->events[index]->seq;
        }
        if (reply->watch_reply->done)
            return reply;
        tsr_msg_destroy(&reply);
        if (keep_alive)
            s_agent_heartbeat(keep_alive);
    }
    fail_msg("run %s did not finish", run_id);
    return NULL;
}

//  ---------------------------------------------------------------- tests

static void
test_coordinator_welcomes_allowed_agent(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *agent = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_hello(agent, "alpha", 2, NULL, 0);
    Tessera__Envelope *welcome = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_WELCOME);
    char short_id[9];
    tsr_keys_short_id(zcert_public_txt(fixture->agent_cert), short_id);
    assert_string_equal(welcome->welcome->agent_id, short_id);
    assert_int_equal(welcome->welcome->heartbeat_ivl_ms, HEARTBEAT_MS);
    assert_int_equal(welcome->welcome->liveness, 20);
    tsr_msg_destroy(&welcome);

    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__AgentsRequest agents = TESSERA__AGENTS_REQUEST__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_AGENTS_REQUEST;
    request.agents_request = &agents;
    Tessera__Envelope *reply = NULL;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
    assert_int_equal(reply->agents_reply->n_agents, 1);
    Tessera__AgentInfo *info = reply->agents_reply->agents[0];
    assert_string_equal(info->name, "alpha");
    assert_string_equal(info->id, short_id);
    assert_int_equal(info->slots, 2);
    assert_int_equal(info->free_slots, 2);
    assert_int_equal(info->n_labels, 1);
    assert_string_equal(info->labels[0]->key, "os");
    tsr_msg_destroy(&reply);
    s_agent_destroy(&agent);
}

static void
test_coordinator_asks_unknown_agent_for_hello(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *agent = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_heartbeat(agent);
    Tessera__Envelope *error = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_ERROR);
    assert_int_equal(error->error->code, TSR_ESTATE);
    tsr_msg_destroy(&error);
    s_agent_destroy(&agent);
}

static void
test_coordinator_refuses_unknown_and_client_keys_until_allowed(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *stranger = s_agent_new(fixture, fixture->stranger, fixture->agents_endpoint);
    fake_agent_t *client_as_agent =
        s_agent_new(fixture, fixture->client_cert, fixture->agents_endpoint);
    s_agent_hello(stranger, "stranger", 1, NULL, 0);
    s_agent_hello(client_as_agent, "sneaky", 1, NULL, 0);
    //  Refused handshakes: nothing ever comes back, and nobody is listed
    Tessera__Envelope *nothing = s_agent_recv(stranger, 500);
    assert_null(nothing);
    nothing = s_agent_recv(client_as_agent, 100);
    assert_null(nothing);
    assert_int_equal(s_agent_count(fixture), 0);
    s_wait_stat(fixture, STAT_UNKNOWN_KEY, 1);
    s_wait_stat(fixture, STAT_WRONG_ENDPOINT, 1);

    //  A plaintext peer never completes the handshake, and is counted
    zsock_t *plaintext = zsock_new(ZMQ_DEALER);
    zsock_set_linger(plaintext, 0);
    assert_int_equal(zsock_connect(plaintext, "%s", fixture->agents_endpoint), 0);
    zstr_send(plaintext, "hello?");
    s_wait_stat(fixture, STAT_NOT_CURVE, 1);
    zsock_destroy(&plaintext);
    assert_int_equal(s_agent_count(fixture), 0);

    //  The key is allowed and the lists reloaded (SIGHUP). libzmq does not retry
    //  a refused handshake, so the agent reconnects (as after a liveness loss)
    char path[400];
    snprintf(path, sizeof path, "%s/allow/agents/stranger.pub", fixture->data);
    assert_int_equal(zcert_save_public(fixture->stranger, path), 0);
    zstr_send(fixture->coordinator, "RELOAD");
    s_agent_destroy(&stranger);
    stranger = s_agent_new(fixture, fixture->stranger, fixture->agents_endpoint);
    s_agent_hello(stranger, "stranger", 1, NULL, 0);
    Tessera__Envelope *welcome = s_agent_expect(stranger, TESSERA__ENVELOPE__BODY_WELCOME);
    tsr_msg_destroy(&welcome);
    assert_int_equal(s_agent_count(fixture), 1);
    s_agent_destroy(&stranger);
    s_agent_destroy(&client_as_agent);
}

static void
test_coordinator_refuses_unknown_client_key(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_client_t *client =
        tsr_client_new(fixture->clients_endpoint, fixture->server_key, fixture->agent_cert);
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__AgentsRequest agents = TESSERA__AGENTS_REQUEST__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_AGENTS_REQUEST;
    request.agents_request = &agents;
    Tessera__Envelope *reply = NULL;
    int rc = tsr_client_request(client, &request, 300, 0, &reply);
    assert_true(rc == TSR_EAUTH || rc == TSR_EUNREACHABLE);
    assert_null(reply);
    tsr_client_destroy(&client);
}

static void
test_coordinator_runs_sharded_job_on_agent(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *agent = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_hello(agent, "alpha", 2, NULL, 0);
    Tessera__Envelope *welcome = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_WELCOME);
    tsr_msg_destroy(&welcome);

    char run_id[64];
    assert_int_equal(s_submit(fixture, "uuid-1", 2, run_id), TSR_OK);
    char again[64];
    assert_int_equal(s_submit(fixture, "uuid-1", 2, again), TSR_OK);
    assert_string_equal(run_id, again); //  idempotent by client uuid

    uint64_t attempts[2];
    Tessera__Digest *workspace = NULL;
    Tessera__Envelope *assigns[2];
    for (int index = 0; index < 2; index++) {
        Tessera__Envelope *assign = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_ASSIGN);
        assert_string_equal(assign->assign->run_id, run_id);
        assert_string_equal(assign->assign->job, "default");
        assert_int_equal(assign->assign->shard_index, index);
        assert_int_equal(assign->assign->shard_count, 2);
        assert_int_equal(assign->assign->threads, 1);
        assert_int_equal(assign->assign->n_argv, 2);
        assert_non_null(assign->assign->workspace);
        attempts[index] = assign->assign->attempt_id;
        workspace = assign->assign->workspace;
        assigns[index] = assign;
    }
    //  The agent fetches the workspace root from the coordinator
    Tessera__Envelope get_env = TESSERA__ENVELOPE__INIT;
    Tessera__BlobGet get = TESSERA__BLOB_GET__INIT;
    get.digest = workspace;
    get.length = 1 << 20;
    get_env.body_case = TESSERA__ENVELOPE__BODY_BLOB_GET;
    get_env.blob_get = &get;
    s_agent_send(agent, &get_env);
    Tessera__Envelope *chunk = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_BLOB_CHUNK);
    assert_false(chunk->blob_chunk->missing);
    assert_int_equal(chunk->blob_chunk->data.len, workspace->size);
    tsr_msg_destroy(&chunk);
    tsr_msg_destroy(&assigns[0]);
    tsr_msg_destroy(&assigns[1]);
    s_agent_result(agent, attempts[0], 0);
    s_agent_result(agent, attempts[1], 0);

    Tessera__Envelope *done = s_watch_until_done(fixture, run_id, agent);
    Tessera__RunSummary *summary = done->watch_reply->summary;
    assert_non_null(summary);
    assert_string_equal(summary->run_id, run_id);
    assert_string_equal(summary->status, "passed");
    assert_int_equal(summary->total, 2);
    assert_int_equal(summary->passed, 2);
    assert_int_equal(summary->shards, 2);
    assert_int_equal(summary->n_results, 2);
    assert_string_equal(summary->results[0]->id, "default/0");
    assert_string_equal(summary->results[0]->agent, "alpha");
    tsr_msg_destroy(&done);

    //  The second submit of the same workspace uploaded nothing
    char third[64];
    assert_int_equal(s_submit(fixture, "uuid-2", 1, third), TSR_OK);
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__StatusRequest status = TESSERA__STATUS_REQUEST__INIT;
    status.run_id = third;
    request.body_case = TESSERA__ENVELOPE__BODY_STATUS_REQUEST;
    request.status_request = &status;
    Tessera__Envelope *reply = NULL;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
    assert_int_equal(reply->status_reply->n_runs, 1);
    assert_int_equal(reply->status_reply->runs[0]->uploaded_bytes, 0);
    tsr_msg_destroy(&reply);
    s_agent_destroy(&agent);
}

static void
test_coordinator_requeues_work_of_silent_agent(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *first = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_hello(first, "first", 1, NULL, 0);
    Tessera__Envelope *env = s_agent_expect(first, TESSERA__ENVELOPE__BODY_WELCOME);
    tsr_msg_destroy(&env);
    char run_id[64];
    assert_int_equal(s_submit(fixture, "uuid-silent", 1, run_id), TSR_OK);
    env = s_agent_expect(first, TESSERA__ENVELOPE__BODY_ASSIGN);
    uint64_t stale_attempt = env->assign->attempt_id;
    tsr_msg_destroy(&env);

    //  `first` goes silent (as if stopped); `second` joins and gets the shard
    fake_agent_t *second = s_agent_new(fixture, fixture->agent2_cert, fixture->agents_endpoint);
    s_agent_hello(second, "second", 1, NULL, 0);
    env = s_agent_expect(second, TESSERA__ENVELOPE__BODY_WELCOME);
    tsr_msg_destroy(&env);
    env = s_agent_expect(second, TESSERA__ENVELOPE__BODY_ASSIGN);
    uint64_t new_attempt = env->assign->attempt_id;
    assert_true(new_attempt != stale_attempt);
    tsr_msg_destroy(&env);

    //  `first` is continued: its late result is refused (it was forgotten)
    s_agent_result(first, stale_attempt, 0);
    env = s_agent_expect(first, TESSERA__ENVELOPE__BODY_ERROR);
    assert_int_equal(env->error->code, TSR_ESTATE);
    tsr_msg_destroy(&env);

    s_agent_result(second, new_attempt, 0);
    Tessera__Envelope *done = s_watch_until_done(fixture, run_id, second);
    Tessera__RunSummary *summary = done->watch_reply->summary;
    assert_string_equal(summary->status, "passed");
    assert_int_equal(summary->n_results, 1);
    assert_int_equal(summary->results[0]->attempts, 2);
    assert_string_equal(summary->results[0]->agent, "second");
    tsr_msg_destroy(&done);
    s_agent_destroy(&first);
    s_agent_destroy(&second);
}

static void
test_coordinator_cancel_and_drain(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *agent = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_hello(agent, "alpha", 1, NULL, 0);
    Tessera__Envelope *env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_WELCOME);
    tsr_msg_destroy(&env);

    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__DrainAgent drain = TESSERA__DRAIN_AGENT__INIT;
    drain.agent = (char *)"alpha";
    drain.drain = true;
    request.body_case = TESSERA__ENVELOPE__BODY_DRAIN_AGENT;
    request.drain_agent = &drain;
    Tessera__Envelope *reply = NULL;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
    assert_int_equal(reply->body_case, TESSERA__ENVELOPE__BODY_OK);
    tsr_msg_destroy(&reply);
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_DRAIN);
    assert_true(env->drain->drain);
    tsr_msg_destroy(&env);

    //  Draining: the run waits
    char run_id[64];
    assert_int_equal(s_submit(fixture, "uuid-cancel", 1, run_id), TSR_OK);
    env = s_agent_recv(agent, 300);
    assert_null(env);
    drain.drain = false;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
    tsr_msg_destroy(&reply);
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_DRAIN);
    assert_false(env->drain->drain);
    tsr_msg_destroy(&env);
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_ASSIGN);
    uint64_t attempt_id = env->assign->attempt_id;
    tsr_msg_destroy(&env);

    Tessera__CancelRun cancel = TESSERA__CANCEL_RUN__INIT;
    cancel.run_id = run_id;
    request.body_case = TESSERA__ENVELOPE__BODY_CANCEL_RUN;
    request.cancel_run = &cancel;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_OK);
    tsr_msg_destroy(&reply);
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_CANCEL);
    assert_int_equal(env->cancel->n_attempt_ids, 1);
    assert_int_equal(env->cancel->attempt_ids[0], attempt_id);
    tsr_msg_destroy(&env);
    Tessera__Envelope *done = s_watch_until_done(fixture, run_id, agent);
    assert_string_equal(done->watch_reply->summary->status, "cancelled");
    tsr_msg_destroy(&done);

    //  Unknown agent and unknown run: Error replies
    drain.agent = (char *)"nobody";
    request.body_case = TESSERA__ENVELOPE__BODY_DRAIN_AGENT;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_ENOTFOUND);
    cancel.run_id = (char *)"run-404";
    request.body_case = TESSERA__ENVELOPE__BODY_CANCEL_RUN;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_ENOTFOUND);
    s_agent_destroy(&agent);
}

static void
test_coordinator_rejects_bad_submits(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    Tessera__Submit submit = TESSERA__SUBMIT__INIT;
    Tessera__Digest workspace = TESSERA__DIGEST__INIT;
    uint8_t hash[32] = {9};
    workspace.hash.data = hash;
    workspace.hash.len = 32;
    workspace.size = 10;
    submit.workspace = &workspace;
    request.body_case = TESSERA__ENVELOPE__BODY_SUBMIT;
    request.submit = &submit;
    Tessera__Envelope *reply = NULL;
    //  A workspace never uploaded
    assert_int_equal(s_request(fixture, &request, &reply), TSR_ENOTFOUND);
    assert_non_null(strstr(tsr_client_error(fixture->client), "workspace"));
    //  A malformed digest
    workspace.hash.len = 3;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_EINVAL);
    //  Watch of a run that does not exist
    Tessera__Watch watch = TESSERA__WATCH__INIT;
    watch.run_id = (char *)"run-77";
    request.body_case = TESSERA__ENVELOPE__BODY_WATCH;
    request.watch = &watch;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_ENOTFOUND);
    //  A message an agent would send, on the client channel
    Tessera__Hello hello = TESSERA__HELLO__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_HELLO;
    request.hello = &hello;
    assert_int_equal(s_request(fixture, &request, &reply), TSR_EPROTO);
}

static void
test_coordinator_resumes_after_restart(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fake_agent_t *agent = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_hello(agent, "alpha", 1, NULL, 0);
    Tessera__Envelope *env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_WELCOME);
    tsr_msg_destroy(&env);
    char running_run[64], queued_run[64];
    assert_int_equal(s_submit(fixture, "uuid-r1", 1, running_run), TSR_OK);
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_ASSIGN);
    uint64_t attempt_id = env->assign->attempt_id;
    tsr_msg_destroy(&env);
    assert_int_equal(s_submit(fixture, "uuid-r2", 1, queued_run), TSR_OK);
    s_agent_destroy(&agent);

    //  Restart on the same ports; the agent comes back still running its attempt
    s_stop(fixture);
    free(fixture->config.agents_endpoint);
    fixture->config.agents_endpoint = strdup(fixture->agents_endpoint);
    free(fixture->config.clients_endpoint);
    fixture->config.clients_endpoint = strdup(fixture->clients_endpoint);
    s_start(fixture);
    agent = s_agent_new(fixture, fixture->agent_cert, fixture->agents_endpoint);
    s_agent_hello(agent, "alpha", 1, &attempt_id, 1);
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_WELCOME);
    assert_int_equal(env->welcome->n_cancel, 0); //  its lease is still current
    tsr_msg_destroy(&env);
    s_agent_result(agent, attempt_id, 0);
    //  The slot frees up: the queued run's shard follows, with a new attempt id
    env = s_agent_expect(agent, TESSERA__ENVELOPE__BODY_ASSIGN);
    assert_string_equal(env->assign->run_id, queued_run);
    assert_true(env->assign->attempt_id > attempt_id);
    uint64_t second_attempt = env->assign->attempt_id;
    tsr_msg_destroy(&env);
    s_agent_result(agent, second_attempt, 1);

    Tessera__Envelope *done = s_watch_until_done(fixture, running_run, agent);
    assert_string_equal(done->watch_reply->summary->status, "passed");
    tsr_msg_destroy(&done);
    done = s_watch_until_done(fixture, queued_run, agent);
    assert_string_equal(done->watch_reply->summary->status, "failed");
    tsr_msg_destroy(&done);

    //  A new run gets a new id after the restart
    char new_run[64];
    assert_int_equal(s_submit(fixture, "uuid-r3", 1, new_run), TSR_OK);
    assert_string_not_equal(new_run, running_run);
    assert_string_not_equal(new_run, queued_run);
    s_agent_destroy(&agent);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_coordinator_welcomes_allowed_agent, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_asks_unknown_agent_for_hello, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_coordinator_refuses_unknown_and_client_keys_until_allowed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_refuses_unknown_client_key, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_runs_sharded_job_on_agent, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_requeues_work_of_silent_agent,
                                        s_setup_short_liveness, s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_cancel_and_drain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_rejects_bad_submits, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_resumes_after_restart, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
