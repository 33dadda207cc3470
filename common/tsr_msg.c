/*  tsr_msg - wire envelopes: the only place that packs and unpacks protobuf
    Bounds the size, checks the protocol version and the body before a handler
    sees an envelope; sends and receives them on ROUTER and DEALER sockets.
    Callers: every socket handler. Any thread; no state.                     */
#include "tsr_msg.h"
#include <errno.h>
#include <string.h>

int
tsr_msg_encode(Tessera__Envelope *env, zframe_t **frame_out)
{
    assert(env);
    assert(frame_out);
    *frame_out = NULL;
    if (env->body_case == TESSERA__ENVELOPE__BODY__NOT_SET)
        return TSR_EPROTO;
    env->protocol = TSR_PROTOCOL_VERSION;
    size_t size = tessera__envelope__get_packed_size(env);
    if (size > TSR_MSG_MAX_BYTES)
        return TSR_ETOOBIG;
    zframe_t *frame = zframe_new(NULL, size);
    assert(frame);
    size_t packed = tessera__envelope__pack(env, zframe_data(frame));
    assert(packed == size); //  protobuf-c promises it; anything else is a bug
    *frame_out = frame;
    return TSR_OK;
}

int
tsr_msg_decode(const void *data, size_t size, Tessera__Envelope **env_out)
{
    assert(data || size == 0);
    assert(env_out);
    *env_out = NULL;
    if (size > TSR_MSG_MAX_BYTES)
        return TSR_ETOOBIG;
    Tessera__Envelope *env = tessera__envelope__unpack(NULL, size, data);
    if (!env)
        return TSR_EPROTO;
    int rc = TSR_OK;
    //  Version 0 never existed: an absent field means this is not our envelope
    if (env->protocol == 0)
        rc = TSR_EPROTO;
    else if (env->protocol != TSR_PROTOCOL_VERSION)
        rc = TSR_EVERSION;
    else if (env->body_case == TESSERA__ENVELOPE__BODY__NOT_SET)
        rc = TSR_EPROTO;
    if (rc != TSR_OK) {
        tessera__envelope__free_unpacked(env, NULL);
        return rc;
    }
    *env_out = env;
    return TSR_OK;
}

int
tsr_msg_send(Tessera__Envelope *env, zsock_t *sock, zframe_t *routing_id)
{
    assert(env);
    assert(sock);
    //  A ROUTER needs a routing id and nothing else takes one
    assert((routing_id != NULL) == (zsock_type(sock) == ZMQ_ROUTER));
    zframe_t *payload = NULL;
    int rc = tsr_msg_encode(env, &payload);
    if (rc != TSR_OK)
        return rc;
    //  DONTWAIT: a loop handler never blocks on a peer whose queue is full
    if (routing_id &&
        zframe_send(&routing_id, sock, ZFRAME_MORE | ZFRAME_REUSE | ZFRAME_DONTWAIT) != 0) {
        tsr_log_debug("send failed: %s", zmq_strerror(zmq_errno()));
        rc = TSR_EUNREACHABLE;
        goto out;
    }
    if (zframe_send(&payload, sock, ZFRAME_DONTWAIT) != 0) {
        tsr_log_debug("send failed: %s", zmq_strerror(zmq_errno()));
        rc = TSR_EUNREACHABLE;
        goto out;
    }
out:
    zframe_destroy(&payload);
    return rc;
}

int
tsr_msg_recv(zsock_t *sock, zframe_t **routing_id_out, char **user_id_out,
             Tessera__Envelope **env_out)
{
    assert(sock);
    assert(env_out);
    assert((routing_id_out != NULL) == (zsock_type(sock) == ZMQ_ROUTER));
    *env_out = NULL;
    if (routing_id_out)
        *routing_id_out = NULL;
    if (user_id_out)
        *user_id_out = NULL;

    zmsg_t *msg = zmsg_recv(sock); //  the whole multipart message, whatever its shape
    if (!msg) {
        int error = zmq_errno();
        return error ? -error : -EINTR;
    }
    int rc = TSR_OK;
    zframe_t *routing_id = NULL;
    size_t expected_frames = routing_id_out ? 2 : 1;
    if (zmsg_size(msg) != expected_frames) {
        rc = TSR_EPROTO;
        goto out;
    }
    if (routing_id_out)
        routing_id = zmsg_pop(msg);
    zframe_t *payload = zmsg_first(msg); //  borrowed (owner: msg)
    rc = tsr_msg_decode(zframe_data(payload), zframe_size(payload), env_out);
    if (user_id_out) {
        //  libzmq reports "" when the ZAP handler named no user: no identity
        const char *user_id = zframe_meta(payload, "User-Id");
        *user_id_out = user_id && *user_id ? strdup(user_id) : NULL;
    }
    if (routing_id_out) {
        *routing_id_out = routing_id; //  the caller needs it to reply, even with an error
        routing_id = NULL;
    }
out:
    zframe_destroy(&routing_id);
    zmsg_destroy(&msg);
    return rc;
}

void
tsr_msg_destroy(Tessera__Envelope **env_p)
{
    assert(env_p);
    if (*env_p) {
        tessera__envelope__free_unpacked(*env_p, NULL);
        *env_p = NULL;
    }
}

const char *
tsr_msg_name(Tessera__Envelope__BodyCase body)
{
    //  The .proto field name is the message's name; only members of the oneof count
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field(&tessera__envelope__descriptor, (unsigned)body);
    if (!field || !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return "unknown";
    return field->name;
}

void
tsr_msg_digest_set(Tessera__Digest *wire, const tsr_digest_t *digest)
{
    assert(wire);
    assert(digest);
    tessera__digest__init(wire);
    wire->hash.data = (uint8_t *)digest->hash; //  borrowed; pack only reads it
    wire->hash.len = TSR_DIGEST_BYTES;
    wire->size = digest->size;
}

int
tsr_msg_digest_get(const Tessera__Digest *wire, tsr_digest_t *digest_out)
{
    assert(digest_out);
    if (!wire || wire->hash.len != TSR_DIGEST_BYTES || !wire->hash.data)
        return TSR_EPROTO;
    memcpy(digest_out->hash, wire->hash.data, TSR_DIGEST_BYTES);
    digest_out->size = wire->size;
    return TSR_OK;
}
