/*  tsr_handshake - handshakes a CURVE server refuses before ZAP is asked
    A plaintext (NULL mechanism) peer, or a CURVE client that has the wrong
    server key, fails in the ZMTP greeting: the ZAP handler never hears of
    it. A socket monitor on the coordinator's ROUTER reports those failures;
    this module logs each (WARN) and counts them. ZAP refusals are counted by
    tsr_zap. The monitor's PAIR socket is read in the coordinator's loop.
    Loop thread of the coordinator.                                          */
#ifndef TSR_HANDSHAKE_H
#define TSR_HANDSHAKE_H

#include "tsr_common.h"

typedef struct _tsr_handshake_t tsr_handshake_t;

//  Monitor `socket` (borrowed; destroy this first) of ZAP domain `domain`.
//  NULL, logged, if libzmq refuses to monitor it.
tsr_handshake_t *tsr_handshake_new(zsock_t *socket, const char *domain);
//  Stops the monitor; NULL-safe.
void tsr_handshake_destroy(tsr_handshake_t **self_p);

//  The socket to poll for events (borrowed).
zsock_t *tsr_handshake_events(tsr_handshake_t *self);

//  Read one event: log and count it.
void tsr_handshake_read(tsr_handshake_t *self);

//  Refused: the peer did not speak CURVE (plaintext).
uint64_t tsr_handshake_not_curve(tsr_handshake_t *self);
//  Refused: any other protocol failure (wrong server key, garbage).
uint64_t tsr_handshake_failed(tsr_handshake_t *self);

#endif
