/*  Unit tests for tsr_dispatch: the right handler, with the right arguments,
    only in the states its row allows.                                      */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "tsr_dispatch.h"

//  What the handlers saw
typedef struct {
    int hello_calls;
    int heartbeat_calls;
    int result_calls;
    void *last_server;
    void *last_peer;
    const Tessera__Envelope *last_env;
    int result_return; //  what s_on_result returns
} calls_t;

static int
s_on_hello(void *server, void *peer, const Tessera__Envelope *env)
{
    calls_t *calls = (calls_t *)server;
    calls->hello_calls++;
    calls->last_server = server;
    calls->last_peer = peer;
    calls->last_env = env;
    return TSR_OK;
}

static int
s_on_heartbeat(void *server, void *peer, const Tessera__Envelope *env)
{
    calls_t *calls = (calls_t *)server;
    calls->heartbeat_calls++;
    calls->last_peer = peer;
    calls->last_env = env;
    return TSR_OK;
}

static int
s_on_result(void *server, void *peer, const Tessera__Envelope *env)
{
    calls_t *calls = (calls_t *)server;
    calls->result_calls++;
    calls->last_peer = peer;
    calls->last_env = env;
    return calls->result_return;
}

static const tsr_dispatch_row_t s_rows[] = {
    {TESSERA__ENVELOPE__BODY_HELLO, TSR_PEER_NEW, s_on_hello},
    {TESSERA__ENVELOPE__BODY_HEARTBEAT, TSR_PEER_READY | TSR_PEER_DRAINING, s_on_heartbeat},
    {TESSERA__ENVELOPE__BODY_RESULT, TSR_PEER_ANY, s_on_result},
};

static void
s_envelope(Tessera__Envelope *env, Tessera__Envelope__BodyCase body)
{
    tessera__envelope__init(env);
    env->protocol = TSR_PROTOCOL_VERSION;
    env->body_case = body;
}

static void
test_dispatch_calls_matching_handler(void **state)
{
    (void)state;
    calls_t calls = {0};
    int peer = 0;
    Tessera__Envelope env;
    s_envelope(&env, TESSERA__ENVELOPE__BODY_HELLO);
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_NEW, &calls, &peer, &env), TSR_OK);
    assert_int_equal(calls.hello_calls, 1);
    assert_int_equal(calls.heartbeat_calls, 0);
    assert_int_equal(calls.result_calls, 0);
    assert_ptr_equal(calls.last_server, &calls);
    assert_ptr_equal(calls.last_peer, &peer);
    assert_ptr_equal(calls.last_env, &env);

    s_envelope(&env, TESSERA__ENVELOPE__BODY_HEARTBEAT);
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_DRAINING, &calls, NULL, &env),
        TSR_OK);
    assert_int_equal(calls.heartbeat_calls, 1);
    assert_null(calls.last_peer); //  stateless sockets pass no peer
}

static void
test_dispatch_rejects_unknown_body(void **state)
{
    (void)state;
    calls_t calls = {0};
    Tessera__Envelope env;
    s_envelope(&env, TESSERA__ENVELOPE__BODY_SUBMIT);
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_ANY, &calls, NULL, &env),
        TSR_EPROTO);
    s_envelope(&env, TESSERA__ENVELOPE__BODY__NOT_SET);
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_ANY, &calls, NULL, &env),
        TSR_EPROTO);
    assert_int_equal(tsr_dispatch(NULL, 0, TSR_PEER_ANY, &calls, NULL, &env), TSR_EPROTO);
    assert_int_equal(calls.hello_calls + calls.heartbeat_calls + calls.result_calls, 0);
}

static void
test_dispatch_refuses_disallowed_state(void **state)
{
    (void)state;
    calls_t calls = {0};
    Tessera__Envelope env;
    s_envelope(&env, TESSERA__ENVELOPE__BODY_HEARTBEAT);
    //  A heartbeat before Hello
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_NEW, &calls, NULL, &env),
        TSR_ESTATE);
    //  A second Hello from a welcomed peer
    s_envelope(&env, TESSERA__ENVELOPE__BODY_HELLO);
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_READY, &calls, NULL, &env),
        TSR_ESTATE);
    //  No state at all matches nothing
    assert_int_equal(tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), 0, &calls, NULL, &env),
                     TSR_ESTATE);
    assert_int_equal(calls.hello_calls + calls.heartbeat_calls + calls.result_calls, 0);
}

static void
test_dispatch_passes_handler_result_through(void **state)
{
    (void)state;
    calls_t calls = {0};
    Tessera__Envelope env;
    s_envelope(&env, TESSERA__ENVELOPE__BODY_RESULT);
    calls.result_return = TSR_ECORRUPT;
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_READY, &calls, NULL, &env),
        TSR_ECORRUPT);
    calls.result_return = -ENOENT;
    assert_int_equal(
        tsr_dispatch(s_rows, TSR_DISPATCH_ROWS(s_rows), TSR_PEER_NEW, &calls, NULL, &env), -ENOENT);
    assert_int_equal(calls.result_calls, 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch_calls_matching_handler),
        cmocka_unit_test(test_dispatch_rejects_unknown_body),
        cmocka_unit_test(test_dispatch_refuses_disallowed_state),
        cmocka_unit_test(test_dispatch_passes_handler_result_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
