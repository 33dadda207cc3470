/*  Unit tests for tsr_msg: round trips, every kind of malformed input, and
    ROUTER/DEALER framing over TCP on 127.0.0.1 with an ephemeral port.     */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "tsr_msg.h"

//  Receive timeout: a broken test fails instead of hanging
#define TEST_RCVTIMEO_MS 5000

//  Small deterministic PRNG (xorshift64), so a failing input is reproducible
static uint64_t
s_next_random(uint64_t *state)
{
    uint64_t value = *state;
    value ^= value << 13;
    value ^= value >> 7;
    value ^= value << 17;
    *state = value;
    return value;
}

//  A Hello as an agent sends it; all storage is static, so nothing to free
static void
s_build_hello(Tessera__Envelope *env, Tessera__Hello *hello)
{
    static uint32_t cpus[] = {0, 1, 2, 7};
    static uint64_t in_flight[] = {11, 12};
    static Tessera__Label label;
    static Tessera__Label *labels[] = {&label};
    tessera__label__init(&label);
    label.key = "os";
    label.value = "linux";
    tessera__hello__init(hello);
    hello->name = "agent-one";
    hello->version = TSR_VERSION;
    hello->n_cpus = 4;
    hello->cpus = cpus;
    hello->n_labels = 1;
    hello->labels = labels;
    hello->n_in_flight = 2;
    hello->in_flight = in_flight;
    tessera__envelope__init(env);
    env->req_id = 42;
    env->body_case = TESSERA__ENVELOPE__BODY_HELLO;
    env->hello = hello;
}

//  A Result with nested messages, bytes and repeated fields
static void
s_build_result(Tessera__Envelope *env, Tessera__Result *result)
{
    static Tessera__Usage usage;
    static Tessera__Digest stdout_log;
    static tsr_digest_t stdout_digest;
    static Tessera__TestResult test;
    static Tessera__TestResult *tests[] = {&test};
    static uint8_t tail[] = {'o', 'k', 0, 0xff, '\n'};
    static uint32_t cpus[] = {3};
    tessera__usage__init(&usage);
    usage.user_ms = 1500;
    usage.max_rss_kb = 20480;
    memset(stdout_digest.hash, 0xab, sizeof stdout_digest.hash);
    stdout_digest.size = 123456;
    tsr_msg_digest_set(&stdout_log, &stdout_digest);
    tessera__test_result__init(&test);
    test.id = "tests/test_a.py::test_one";
    test.outcome = TESSERA__OUTCOME__FAILED;
    test.duration_ms = 77;
    test.message = "assert 1 == 2";
    tessera__result__init(result);
    result->attempt_id = 9001;
    result->exit_code = -1;
    result->term_signal = 9;
    result->timed_out = true;
    result->duration_ms = 60000;
    result->usage = &usage;
    result->stdout_log = &stdout_log;
    result->output_tail.data = tail;
    result->output_tail.len = sizeof tail;
    result->n_tests = 1;
    result->tests = tests;
    result->error = "materialise failed";
    result->n_cpus = 1;
    result->cpus = cpus;
    tessera__envelope__init(env);
    env->req_id = 7;
    env->body_case = TESSERA__ENVELOPE__BODY_RESULT;
    env->result = result;
}

//  Pack without tsr_msg_encode's checks, to forge bad envelopes
static uint8_t *
s_pack_raw(const Tessera__Envelope *env, size_t *size_out)
{
    size_t size = tessera__envelope__get_packed_size(env);
    uint8_t *bytes = (uint8_t *)malloc(size ? size : 1);
    assert_non_null(bytes);
    assert_int_equal(tessera__envelope__pack(env, bytes), size);
    *size_out = size;
    return bytes;
}

static void
test_msg_hello_round_trip(void **state)
{
    (void)state;
    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);
    zframe_t *frame = NULL;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_OK);
    assert_non_null(frame);
    assert_int_equal(env.protocol, TSR_PROTOCOL_VERSION);

    Tessera__Envelope *decoded = NULL;
    assert_int_equal(tsr_msg_decode(zframe_data(frame), zframe_size(frame), &decoded), TSR_OK);
    assert_non_null(decoded);
    assert_int_equal(decoded->protocol, TSR_PROTOCOL_VERSION);
    assert_int_equal(decoded->req_id, 42);
    assert_int_equal(decoded->body_case, TESSERA__ENVELOPE__BODY_HELLO);
    assert_string_equal(tsr_msg_name(decoded->body_case), "hello");
    assert_string_equal(decoded->hello->name, "agent-one");
    assert_string_equal(decoded->hello->version, TSR_VERSION);
    assert_int_equal(decoded->hello->n_cpus, 4);
    assert_int_equal(decoded->hello->cpus[3], 7);
    assert_int_equal(decoded->hello->n_labels, 1);
    assert_string_equal(decoded->hello->labels[0]->key, "os");
    assert_string_equal(decoded->hello->labels[0]->value, "linux");
    assert_int_equal(decoded->hello->n_in_flight, 2);
    assert_int_equal(decoded->hello->in_flight[1], 12);
    tsr_msg_destroy(&decoded);
    assert_null(decoded);
    tsr_msg_destroy(&decoded); //  NULL-safe
    zframe_destroy(&frame);
}

static void
test_msg_result_round_trip(void **state)
{
    (void)state;
    Tessera__Envelope env;
    Tessera__Result result;
    s_build_result(&env, &result);
    zframe_t *frame = NULL;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_OK);

    Tessera__Envelope *decoded = NULL;
    assert_int_equal(tsr_msg_decode(zframe_data(frame), zframe_size(frame), &decoded), TSR_OK);
    const Tessera__Result *got = decoded->result;
    assert_int_equal(decoded->body_case, TESSERA__ENVELOPE__BODY_RESULT);
    assert_int_equal(got->attempt_id, 9001);
    assert_int_equal(got->exit_code, -1);
    assert_int_equal(got->term_signal, 9);
    assert_true(got->timed_out);
    assert_int_equal(got->duration_ms, 60000);
    assert_non_null(got->usage);
    assert_int_equal(got->usage->user_ms, 1500);
    assert_int_equal(got->usage->max_rss_kb, 20480);
    assert_int_equal(got->output_tail.len, 5);
    assert_memory_equal(got->output_tail.data, "ok\0\xff\n", 5);
    assert_int_equal(got->n_tests, 1);
    assert_string_equal(got->tests[0]->id, "tests/test_a.py::test_one");
    assert_int_equal(got->tests[0]->outcome, TESSERA__OUTCOME__FAILED);
    assert_string_equal(got->error, "materialise failed");
    assert_int_equal(got->n_cpus, 1);
    assert_int_equal(got->cpus[0], 3);
    assert_null(got->stderr_log);

    tsr_digest_t digest;
    assert_int_equal(tsr_msg_digest_get(got->stdout_log, &digest), TSR_OK);
    assert_int_equal(digest.size, 123456);
    for (size_t index = 0; index < TSR_DIGEST_BYTES; index++)
        assert_int_equal(digest.hash[index], 0xab);
    assert_int_equal(tsr_msg_digest_get(got->stderr_log, &digest), TSR_EPROTO);
    tsr_msg_destroy(&decoded);
    zframe_destroy(&frame);
}

static void
test_msg_decode_rejects_every_truncation(void **state)
{
    (void)state;
    Tessera__Envelope env;
    Tessera__Result result;
    s_build_result(&env, &result);
    zframe_t *frame = NULL;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_OK);
    size_t size = zframe_size(frame);
    assert_true(size > 100);
    for (size_t length = 0; length < size; length++) {
        //  A copy of exactly `length` bytes, so ASan sees any overread
        uint8_t *prefix = (uint8_t *)malloc(length ? length : 1);
        assert_non_null(prefix);
        memcpy(prefix, zframe_data(frame), length);
        Tessera__Envelope *decoded = NULL;
        int rc = tsr_msg_decode(prefix, length, &decoded);
        if (rc != TSR_EPROTO)
            fail_msg("truncated to %zu of %zu bytes: %s", length, size, tsr_err_name(rc));
        assert_null(decoded);
        free(prefix);
    }
    zframe_destroy(&frame);
}

static void
test_msg_decode_survives_random_bytes(void **state)
{
    (void)state;
    uint64_t seed = 0x7e55e7a5eedULL;
    size_t parsed = 0;
    for (int round = 0; round < 1000; round++) {
        size_t length = (size_t)(s_next_random(&seed) % 300);
        uint8_t *bytes = (uint8_t *)malloc(length ? length : 1);
        assert_non_null(bytes);
        for (size_t index = 0; index < length; index++)
            bytes[index] = (uint8_t)s_next_random(&seed);
        Tessera__Envelope *decoded = NULL;
        int rc = tsr_msg_decode(bytes, length, &decoded);
        if (rc == TSR_OK) {
            assert_non_null(decoded);
            assert_int_equal(decoded->protocol, TSR_PROTOCOL_VERSION);
            assert_int_not_equal(decoded->body_case, TESSERA__ENVELOPE__BODY__NOT_SET);
            parsed++;
        } else {
            assert_true(rc == TSR_EPROTO || rc == TSR_EVERSION);
            assert_null(decoded);
        }
        tsr_msg_destroy(&decoded);
        free(bytes);
    }
    assert_true(parsed < 50); //  random bytes are rarely an envelope
}

static void
test_msg_decode_survives_mutated_envelopes(void **state)
{
    (void)state;
    Tessera__Envelope env;
    Tessera__Result result;
    s_build_result(&env, &result);
    zframe_t *frame = NULL;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_OK);
    size_t size = zframe_size(frame);
    uint64_t seed = 0xfeedfaceULL;
    for (int round = 0; round < 1000; round++) {
        uint8_t *bytes = (uint8_t *)malloc(size);
        assert_non_null(bytes);
        memcpy(bytes, zframe_data(frame), size);
        for (int flips = 0; flips < 3; flips++)
            bytes[s_next_random(&seed) % size] ^= (uint8_t)(1u << (s_next_random(&seed) % 8));
        Tessera__Envelope *decoded = NULL;
        int rc = tsr_msg_decode(bytes, size, &decoded);
        assert_true(rc == TSR_OK || rc == TSR_EPROTO || rc == TSR_EVERSION);
        assert_true((rc == TSR_OK) == (decoded != NULL));
        tsr_msg_destroy(&decoded);
        free(bytes);
    }
    zframe_destroy(&frame);
}

static void
test_msg_decode_rejects_wrong_version(void **state)
{
    (void)state;
    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);
    env.protocol = TSR_PROTOCOL_VERSION + 1;
    size_t size = 0;
    uint8_t *bytes = s_pack_raw(&env, &size);
    Tessera__Envelope *decoded = NULL;
    assert_int_equal(tsr_msg_decode(bytes, size, &decoded), TSR_EVERSION);
    assert_null(decoded);
    free(bytes);
}

static void
test_msg_decode_rejects_missing_version(void **state)
{
    (void)state;
    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);
    env.protocol = 0;
    size_t size = 0;
    uint8_t *bytes = s_pack_raw(&env, &size);
    Tessera__Envelope *decoded = NULL;
    assert_int_equal(tsr_msg_decode(bytes, size, &decoded), TSR_EPROTO);
    assert_null(decoded);
    free(bytes);
}

static void
test_msg_decode_rejects_missing_body(void **state)
{
    (void)state;
    Tessera__Envelope env;
    tessera__envelope__init(&env);
    env.protocol = TSR_PROTOCOL_VERSION;
    env.req_id = 5;
    size_t size = 0;
    uint8_t *bytes = s_pack_raw(&env, &size);
    Tessera__Envelope *decoded = NULL;
    assert_int_equal(tsr_msg_decode(bytes, size, &decoded), TSR_EPROTO);
    assert_null(decoded);
    free(bytes);
}

static void
test_msg_encode_rejects_missing_body(void **state)
{
    (void)state;
    Tessera__Envelope env;
    tessera__envelope__init(&env);
    zframe_t *frame = NULL;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_EPROTO);
    assert_null(frame);
}

static void
test_msg_encode_rejects_oversize(void **state)
{
    (void)state;
    size_t data_size = TSR_MSG_MAX_BYTES + 1;
    uint8_t *data = (uint8_t *)calloc(1, data_size);
    assert_non_null(data);
    Tessera__BlobChunk chunk;
    tessera__blob_chunk__init(&chunk);
    chunk.data.data = data;
    chunk.data.len = data_size;
    Tessera__Envelope env;
    tessera__envelope__init(&env);
    env.body_case = TESSERA__ENVELOPE__BODY_BLOB_CHUNK;
    env.blob_chunk = &chunk;
    zframe_t *frame = NULL;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_ETOOBIG);
    assert_null(frame);

    //  A full chunk fits
    chunk.data.len = TSR_MSG_CHUNK_BYTES;
    assert_int_equal(tsr_msg_encode(&env, &frame), TSR_OK);
    zframe_destroy(&frame);
    free(data);
}

static void
test_msg_decode_rejects_oversize(void **state)
{
    (void)state;
    size_t size = TSR_MSG_MAX_BYTES + 1;
    uint8_t *bytes = (uint8_t *)calloc(1, size);
    assert_non_null(bytes);
    Tessera__Envelope *decoded = NULL;
    assert_int_equal(tsr_msg_decode(bytes, size, &decoded), TSR_ETOOBIG);
    assert_null(decoded);
    free(bytes);
}

static void
test_msg_name_of_bodies(void **state)
{
    (void)state;
    assert_string_equal(tsr_msg_name(TESSERA__ENVELOPE__BODY_HELLO), "hello");
    assert_string_equal(tsr_msg_name(TESSERA__ENVELOPE__BODY_BLOB_QUERY), "blob_query");
    assert_string_equal(tsr_msg_name(TESSERA__ENVELOPE__BODY_ERROR), "error");
    assert_string_equal(tsr_msg_name(TESSERA__ENVELOPE__BODY__NOT_SET), "unknown");
    //  Field 1 is `protocol`, not a body
    assert_string_equal(tsr_msg_name((Tessera__Envelope__BodyCase)1), "unknown");
    assert_string_equal(tsr_msg_name((Tessera__Envelope__BodyCase)77), "unknown");
}

static void
test_msg_digest_set_get(void **state)
{
    (void)state;
    tsr_digest_t digest;
    for (size_t index = 0; index < TSR_DIGEST_BYTES; index++)
        digest.hash[index] = (uint8_t)index;
    digest.size = 99;
    Tessera__Digest wire;
    tsr_msg_digest_set(&wire, &digest);
    tsr_digest_t copy;
    memset(&copy, 0, sizeof copy);
    assert_int_equal(tsr_msg_digest_get(&wire, &copy), TSR_OK);
    assert_memory_equal(copy.hash, digest.hash, TSR_DIGEST_BYTES);
    assert_int_equal(copy.size, 99);

    wire.hash.len = 31;
    assert_int_equal(tsr_msg_digest_get(&wire, &copy), TSR_EPROTO);
    wire.hash.len = 33;
    assert_int_equal(tsr_msg_digest_get(&wire, &copy), TSR_EPROTO);
    wire.hash.len = 0;
    wire.hash.data = NULL;
    assert_int_equal(tsr_msg_digest_get(&wire, &copy), TSR_EPROTO);
    assert_int_equal(tsr_msg_digest_get(NULL, &copy), TSR_EPROTO);
}

//  A bound ROUTER (mandatory routing) and a DEALER connected to it
static void
s_pair_new(zsock_t **router_out, zsock_t **dealer_out)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    assert_non_null(router);
    zsock_set_router_mandatory(router, 1);
    zsock_set_rcvtimeo(router, TEST_RCVTIMEO_MS);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zsock_set_rcvtimeo(dealer, TEST_RCVTIMEO_MS);
    assert_int_equal(zsock_connect(dealer, "tcp://127.0.0.1:%d", port), 0);
    *router_out = router;
    *dealer_out = dealer;
}

static void
test_msg_dealer_router_round_trip(void **state)
{
    (void)state;
    zsock_t *router = NULL;
    zsock_t *dealer = NULL;
    s_pair_new(&router, &dealer);

    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);
    assert_int_equal(tsr_msg_send(&env, dealer, NULL), TSR_OK);

    zframe_t *routing_id = NULL;
    char *user_id = NULL;
    Tessera__Envelope *received = NULL;
    assert_int_equal(tsr_msg_recv(router, &routing_id, &user_id, &received), TSR_OK);
    assert_non_null(routing_id);
    assert_null(user_id); //  no CURVE, no ZAP: no identity
    assert_int_equal(received->body_case, TESSERA__ENVELOPE__BODY_HELLO);
    assert_string_equal(received->hello->name, "agent-one");

    //  Reply to the routing id; the routing frame is borrowed and survives
    Tessera__Welcome welcome;
    tessera__welcome__init(&welcome);
    welcome.agent_id = "abcdefgh";
    welcome.heartbeat_ivl_ms = 1000;
    Tessera__Envelope reply;
    tessera__envelope__init(&reply);
    reply.req_id = received->req_id;
    reply.body_case = TESSERA__ENVELOPE__BODY_WELCOME;
    reply.welcome = &welcome;
    assert_int_equal(tsr_msg_send(&reply, router, routing_id), TSR_OK);
    assert_int_equal(tsr_msg_send(&reply, router, routing_id), TSR_OK);
    assert_true(zframe_size(routing_id) > 0);

    Tessera__Envelope *answer = NULL;
    for (int copy = 0; copy < 2; copy++) {
        assert_int_equal(tsr_msg_recv(dealer, NULL, NULL, &answer), TSR_OK);
        assert_int_equal(answer->body_case, TESSERA__ENVELOPE__BODY_WELCOME);
        assert_int_equal(answer->req_id, 42);
        assert_string_equal(answer->welcome->agent_id, "abcdefgh");
        assert_int_equal(answer->welcome->heartbeat_ivl_ms, 1000);
        tsr_msg_destroy(&answer);
    }

    tsr_msg_destroy(&received);
    zframe_destroy(&routing_id);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

static void
test_msg_send_to_vanished_peer_is_unreachable(void **state)
{
    (void)state;
    zsock_t *router = NULL;
    zsock_t *dealer = NULL;
    s_pair_new(&router, &dealer);
    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);
    zframe_t *nobody = zframe_new("nobody", 6);
    assert_int_equal(tsr_msg_send(&env, router, nobody), TSR_EUNREACHABLE);
    assert_int_equal(zframe_size(nobody), 6); //  still the caller's
    zframe_destroy(&nobody);

    //  Encode errors come before any frame is sent
    Tessera__Envelope empty;
    tessera__envelope__init(&empty);
    assert_int_equal(tsr_msg_send(&empty, dealer, NULL), TSR_EPROTO);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

static void
test_msg_recv_rejects_wrong_frame_count(void **state)
{
    (void)state;
    zsock_t *router = NULL;
    zsock_t *dealer = NULL;
    s_pair_new(&router, &dealer);
    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);

    //  Two payload frames: the ROUTER sees three
    assert_int_equal(zstr_sendx(dealer, "one", "two", NULL), 0);
    assert_int_equal(tsr_msg_send(&env, dealer, NULL), TSR_OK);
    zframe_t *routing_id = NULL;
    Tessera__Envelope *received = NULL;
    assert_int_equal(tsr_msg_recv(router, &routing_id, NULL, &received), TSR_EPROTO);
    assert_null(routing_id);
    assert_null(received);
    //  The bad message was consumed whole: the next one is the Hello
    assert_int_equal(tsr_msg_recv(router, &routing_id, NULL, &received), TSR_OK);
    assert_int_equal(received->body_case, TESSERA__ENVELOPE__BODY_HELLO);
    tsr_msg_destroy(&received);

    //  And a DEALER refuses anything but one frame
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, zframe_data(routing_id), zframe_size(routing_id));
    zmsg_addstr(msg, "");
    zmsg_addstr(msg, "payload");
    assert_int_equal(zmsg_send(&msg, router), 0);
    assert_int_equal(tsr_msg_send(&env, router, routing_id), TSR_OK);
    assert_int_equal(tsr_msg_recv(dealer, NULL, NULL, &received), TSR_EPROTO);
    assert_null(received);
    assert_int_equal(tsr_msg_recv(dealer, NULL, NULL, &received), TSR_OK);
    tsr_msg_destroy(&received);

    zframe_destroy(&routing_id);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

static void
test_msg_recv_keeps_routing_id_on_bad_payload(void **state)
{
    (void)state;
    zsock_t *router = NULL;
    zsock_t *dealer = NULL;
    s_pair_new(&router, &dealer);
    assert_int_equal(zstr_send(dealer, "\xff\xff\xff not protobuf"), 0);
    zframe_t *routing_id = NULL;
    Tessera__Envelope *received = NULL;
    assert_int_equal(tsr_msg_recv(router, &routing_id, NULL, &received), TSR_EPROTO);
    assert_null(received);
    assert_non_null(routing_id); //  so the caller can reply with an Error
    zframe_destroy(&routing_id);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

static void
test_msg_recv_times_out_with_eagain(void **state)
{
    (void)state;
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(dealer);
    zsock_set_rcvtimeo(dealer, 0);
    Tessera__Envelope *received = NULL;
    char *user_id = NULL;
    assert_int_equal(tsr_msg_recv(dealer, NULL, &user_id, &received), -EAGAIN);
    assert_null(received);
    assert_null(user_id);
    zsock_destroy(&dealer);
}

//  A minimal ZAP handler (RFC 27) that admits every CURVE client and reports
//  its public key as the User-Id, as the daemons' handler must.
static void
s_zap_actor(zsock_t *pipe, void *args)
{
    (void)args;
    zsock_t *handler = zsock_new_rep("@inproc://zeromq.zap.01");
    assert(handler);
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which != handler)
            break; //  $TERM on the pipe, or interrupted
        zmsg_t *request = zmsg_recv(handler);
        if (!request)
            break;
        char *version = zmsg_popstr(request);
        char *sequence = zmsg_popstr(request);
        for (int skip = 0; skip < 4; skip++) //  domain, address, routing id, mechanism
            zframe_destroy(&(zframe_t *){zmsg_pop(request)});
        zframe_t *client_key = zmsg_pop(request);
        char user_id[41] = "";
        if (client_key && zframe_size(client_key) == 32)
            zmq_z85_encode(user_id, zframe_data(client_key), 32);
        zstr_sendx(handler, version, sequence, "200", "OK", user_id, "", NULL);
        zframe_destroy(&client_key);
        zstr_free(&version);
        zstr_free(&sequence);
        zmsg_destroy(&request);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
}

static void
test_msg_recv_reports_curve_user_id(void **state)
{
    (void)state;
    zactor_t *zap = zactor_new(s_zap_actor, NULL);
    assert_non_null(zap);
    zcert_t *server_cert = zcert_new();
    zcert_t *client_cert = zcert_new();
    assert_non_null(server_cert);
    assert_non_null(client_cert);

    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_rcvtimeo(router, TEST_RCVTIMEO_MS);
    zcert_apply(server_cert, router);
    zsock_set_curve_server(router, 1);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_rcvtimeo(dealer, TEST_RCVTIMEO_MS);
    zcert_apply(client_cert, dealer);
    zsock_set_curve_serverkey(dealer, zcert_public_txt(server_cert));
    assert_int_equal(zsock_connect(dealer, "tcp://127.0.0.1:%d", port), 0);

    Tessera__Envelope env;
    Tessera__Hello hello;
    s_build_hello(&env, &hello);
    assert_int_equal(tsr_msg_send(&env, dealer, NULL), TSR_OK);
    zframe_t *routing_id = NULL;
    char *user_id = NULL;
    Tessera__Envelope *received = NULL;
    assert_int_equal(tsr_msg_recv(router, &routing_id, &user_id, &received), TSR_OK);
    assert_non_null(user_id);
    assert_string_equal(user_id, zcert_public_txt(client_cert));

    zstr_free(&user_id);
    tsr_msg_destroy(&received);
    zframe_destroy(&routing_id);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
    zcert_destroy(&client_cert);
    zcert_destroy(&server_cert);
    zactor_destroy(&zap);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_hello_round_trip),
        cmocka_unit_test(test_msg_result_round_trip),
        cmocka_unit_test(test_msg_decode_rejects_every_truncation),
        cmocka_unit_test(test_msg_decode_survives_random_bytes),
        cmocka_unit_test(test_msg_decode_survives_mutated_envelopes),
        cmocka_unit_test(test_msg_decode_rejects_wrong_version),
        cmocka_unit_test(test_msg_decode_rejects_missing_version),
        cmocka_unit_test(test_msg_decode_rejects_missing_body),
        cmocka_unit_test(test_msg_encode_rejects_missing_body),
        cmocka_unit_test(test_msg_encode_rejects_oversize),
        cmocka_unit_test(test_msg_decode_rejects_oversize),
        cmocka_unit_test(test_msg_name_of_bodies),
        cmocka_unit_test(test_msg_digest_set_get),
        cmocka_unit_test(test_msg_dealer_router_round_trip),
        cmocka_unit_test(test_msg_send_to_vanished_peer_is_unreachable),
        cmocka_unit_test(test_msg_recv_rejects_wrong_frame_count),
        cmocka_unit_test(test_msg_recv_keeps_routing_id_on_bad_payload),
        cmocka_unit_test(test_msg_recv_times_out_with_eagain),
        cmocka_unit_test(test_msg_recv_reports_curve_user_id),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    zsys_shutdown();
    return failed;
}
