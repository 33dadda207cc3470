/*  tsr_msg - wire envelopes: the only place that packs and unpacks protobuf
    Enforces the size bound and the protocol version; malformed input gives an
    error code, never a crash. Sockets: ROUTER frames are [routing id][payload],
    DEALER frames are [payload] (no empty delimiter). Any thread.             */
#ifndef TSR_MSG_H
#define TSR_MSG_H

#include "tessera.pb-c.h"
#include "tsr_common.h"
#include "tsr_digest.h"

//  Largest envelope accepted or sent, bytes. Blob chunks are at most
//  TSR_MSG_CHUNK_BYTES of data, well under it.
#define TSR_MSG_MAX_BYTES (8u * 1024 * 1024)
#define TSR_MSG_CHUNK_BYTES (1u * 1024 * 1024)

//  Serialize `env` (stamping env->protocol = TSR_PROTOCOL_VERSION) into a new
//  frame (*frame_out, caller owns). TSR_ETOOBIG past TSR_MSG_MAX_BYTES;
//  TSR_EPROTO if no body is set.
TSR_NODISCARD int tsr_msg_encode(Tessera__Envelope *env, zframe_t **frame_out);

//  Parse bytes into a new envelope (*env_out, free with tsr_msg_destroy).
//  TSR_ETOOBIG, TSR_EPROTO (not protobuf, protocol 0/absent, or no body),
//  TSR_EVERSION (any other protocol than TSR_PROTOCOL_VERSION).
TSR_NODISCARD int tsr_msg_decode(const void *data, size_t size, Tessera__Envelope **env_out);

//  Encode and send. `routing_id` (borrowed) is prepended on a ROUTER; NULL on
//  any other socket (asserted). Never blocks: returns TSR_OK, an encode error,
//  or TSR_EUNREACHABLE when the send fails (ROUTER_MANDATORY: peer gone; or
//  the peer's queue is full).
TSR_NODISCARD int tsr_msg_send(Tessera__Envelope *env, zsock_t *sock, zframe_t *routing_id);

//  Receive one message and decode it. On a ROUTER (`routing_id_out` not NULL;
//  NULL on any other socket, asserted) the first frame is the routing id
//  (*routing_id_out, caller owns). If `user_id_out` is not NULL it gets a copy
//  of the ZAP User-Id (the peer's Z85 public key) or NULL. The message is
//  consumed even when decoding fails; the routing id and User-Id are still
//  returned then (to reply with an Error), except when the frame count is
//  wrong (TSR_EPROTO, nothing returned). Blocks (up to ZMQ_RCVTIMEO);
//  -errno (EAGAIN, EINTR, ETERM) when no message came.
TSR_NODISCARD int tsr_msg_recv(zsock_t *sock, zframe_t **routing_id_out, char **user_id_out,
                               Tessera__Envelope **env_out);

//  NULL-safe; sets *env_p to NULL.
void tsr_msg_destroy(Tessera__Envelope **env_p);

//  "hello", "heartbeat", ... for logs; "unknown" otherwise.
const char *tsr_msg_name(Tessera__Envelope__BodyCase body);

//  Point a wire digest at a tsr_digest_t (borrowed: `digest` must outlive `wire`).
void tsr_msg_digest_set(Tessera__Digest *wire, const tsr_digest_t *digest);

//  Copy a wire digest out. TSR_EPROTO if absent or the hash is not 32 bytes.
TSR_NODISCARD int tsr_msg_digest_get(const Tessera__Digest *wire, tsr_digest_t *digest_out);

#endif
