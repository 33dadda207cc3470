/*  tsr_dispatch - one table per socket: message -> handler, and the peer
    states each message is legal in (OpenSSH mon_table, zgossip).            */
#ifndef TSR_DISPATCH_H
#define TSR_DISPATCH_H

#include "tessera.pb-c.h"
#include "tsr_common.h"

//  Peer states, as bits, so one row can allow several.
typedef enum {
    TSR_PEER_NEW = 1 << 0,      //  connected, no Hello yet
    TSR_PEER_READY = 1 << 1,    //  welcomed
    TSR_PEER_DRAINING = 1 << 2, //  welcomed, taking no new work
    TSR_PEER_ANY = 0x7,
} tsr_peer_state_t;

//  `server` is the daemon object, `peer` the sender's record (may be NULL for
//  stateless sockets). Returns TSR_OK or a TSR_E* code the caller replies with.
typedef int(tsr_dispatch_fn)(void *server, void *peer, const Tessera__Envelope *env);

typedef struct {
    Tessera__Envelope__BodyCase body; //  message kind
    unsigned states;                  //  tsr_peer_state_t bits it is legal in
    tsr_dispatch_fn *handler;
} tsr_dispatch_row_t;

//  Find the row for env's body and call it. TSR_EPROTO if no row handles that
//  body, TSR_ESTATE if `peer_state` is not among the row's states; else the
//  handler's return.
TSR_NODISCARD int tsr_dispatch(const tsr_dispatch_row_t *rows, size_t row_count,
                               unsigned peer_state, void *server, void *peer,
                               const Tessera__Envelope *env);

#define TSR_DISPATCH_ROWS(rows) (sizeof(rows) / sizeof((rows)[0]))

#endif
