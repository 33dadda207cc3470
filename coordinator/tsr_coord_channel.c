/*  tsr_coord_channel - the read side the coordinator's two ROUTERs share
    Receive one envelope with its routing id and ZAP User-Id, answer what
    does not decode with an Error, let the channel find the sender's state,
    dispatch through the channel's table, and give every failed request one
    Error reply. A batch per wake-up, then one tsr_coord_after. What differs
    per channel (table, sender state, how failures are logged) is in its
    tsr_coord_channel_t. Loop thread of the coordinator.                    */
#include "tsr_coord_internal.h"

static void
s_handle_one(tsr_coordinator_t *self, zsock_t *socket, const tsr_coord_channel_t *channel)
{
    zframe_t *routing_id = NULL;
    char *key = NULL;
    Tessera__Envelope *env = NULL;
    int rc = tsr_msg_recv(socket, &routing_id, &key, &env);
    tsr_coord_request_t request = {
        .coordinator = self, .socket = socket, .routing_id = routing_id, .key = key};
    if (!routing_id || !key) {
        tsr_log_warn("dropping a message without routing id or ZAP identity on the %ss endpoint",
                     channel->peer);
        goto out;
    }
    if (rc != TSR_OK) {
        tsr_log_warn("bad message from %s=%.8s: %s", channel->peer, key, tsr_strerror(rc));
        tsr_coord_reply_error(&request, rc, NULL);
        goto out;
    }
    request.req_id = env->req_id;
    unsigned state = channel->admit(self, &request);
    tsr_log_debug("%s from %s=%.8s", tsr_msg_name(env->body_case), channel->peer, key);
    rc = tsr_dispatch(channel->rows, channel->row_count, state, self, &request, env);
    if (rc != TSR_OK) {
        channel->failed(&request, env, rc);
        if (!request.replied)
            tsr_coord_reply_error(&request, rc, request.error_text);
    }
out:
    tsr_msg_destroy(&env);
    zstr_free(&key);
    zframe_destroy(&routing_id);
}

int
tsr_coord_channel_read(tsr_coordinator_t *self, zsock_t *socket, const tsr_coord_channel_t *channel)
{
    assert(self);
    assert(socket);
    assert(channel);
    //  A batch per wake-up, then one save for all of it
    for (int count = 0; count < TSR_COORD_BATCH && (zsock_events(socket) & ZMQ_POLLIN); count++)
        s_handle_one(self, socket, channel);
    tsr_coord_after(self);
    return 0;
}
