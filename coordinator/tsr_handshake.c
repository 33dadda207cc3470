/*  tsr_handshake - handshakes a CURVE server refuses before ZAP is asked
    libzmq monitor events: frame 1 is a 16-bit event and a 32-bit value,
    frame 2 the endpoint. Loop thread of the coordinator.                    */
#include "tsr_handshake.h"
#include <inttypes.h>
#include <string.h>

struct _tsr_handshake_t {
    zsock_t *socket;    //  borrowed; the monitored ROUTER
    zsock_t *events;    //  owned; PAIR receiving the monitor events
    char *domain;       //  owned; "agents" or "clients", for logs
    uint64_t not_curve; //  mechanism mismatch (plaintext peer)
    uint64_t failed;    //  other protocol failures
};

tsr_handshake_t *
tsr_handshake_new(zsock_t *socket, const char *domain)
{
    assert(socket);
    assert(domain);
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "inproc://tsr-handshake-%p", (void *)socket);
    if (zmq_socket_monitor(zsock_resolve(socket), endpoint,
                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
        tsr_log_warn("cannot monitor handshakes domain=%s: %s", domain, zmq_strerror(zmq_errno()));
        return NULL;
    }
    tsr_handshake_t *self = (tsr_handshake_t *)zmalloc(sizeof(tsr_handshake_t));
    self->socket = socket;
    self->domain = strdup(domain);
    self->events = zsock_new(ZMQ_PAIR);
    assert(self->events);
    int rc = zsock_connect(self->events, "%s", endpoint);
    assert(rc == 0); //  the inproc endpoint was just bound by zmq_socket_monitor
    (void)rc;
    return self;
}

void
tsr_handshake_destroy(tsr_handshake_t **self_p)
{
    assert(self_p);
    tsr_handshake_t *self = *self_p;
    if (!self)
        return;
    zmq_socket_monitor(zsock_resolve(self->socket), NULL, 0);
    zsock_destroy(&self->events);
    free(self->domain);
    free(self);
    *self_p = NULL;
}

zsock_t *
tsr_handshake_events(tsr_handshake_t *self)
{
    assert(self);
    return self->events;
}

void
tsr_handshake_read(tsr_handshake_t *self)
{
    assert(self);
    zmsg_t *event = zmsg_recv(self->events);
    if (!event)
        return;
    zframe_t *head = zmsg_first(event);
    zframe_t *where = zmsg_next(event);
    if (!head || zframe_size(head) != 6) {
        zmsg_destroy(&event);
        return;
    }
    uint16_t kind;
    uint32_t value;
    memcpy(&kind, zframe_data(head), sizeof kind);
    memcpy(&value, zframe_data(head) + sizeof kind, sizeof value);
    char *endpoint = where ? zframe_strdup(where) : strdup("?");
    if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
        value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
        self->not_curve++;
        tsr_log_warn("refused handshake domain=%s endpoint=%s reason=not CURVE (plaintext "
                     "peer) refused_not_curve=%" PRIu64,
                     self->domain, endpoint, self->not_curve);
    } else {
        self->failed++;
        tsr_log_warn("refused handshake domain=%s endpoint=%s reason=protocol error 0x%x "
                     "(wrong server key?) refused_bad_handshake=%" PRIu64,
                     self->domain, endpoint, value, self->failed);
    }
    free(endpoint);
    zmsg_destroy(&event);
}

uint64_t
tsr_handshake_not_curve(tsr_handshake_t *self)
{
    assert(self);
    return self->not_curve;
}

uint64_t
tsr_handshake_failed(tsr_handshake_t *self)
{
    assert(self);
    return self->failed;
}
