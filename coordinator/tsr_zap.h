/*  tsr_zap - the coordinator's ZAP handler (ZeroMQ RFC 27)
    A zactor bound to inproc://zeromq.zap.01 that answers every handshake of
    the process's CURVE servers: domain "agents" admits the keys in the agents
    allow-list, domain "clients" those in the clients allow-list; it replies
    200 with the client's Z85 public key as User-Id, else 400. czmq's zauth
    has one key store for all domains, hence this small handler. Refusals
    are logged (WARN, with reason and short key id) and counted per reason.
    It must start before any CURVE socket binds: a CURVE server without a
    ZAP handler admits every key. One per process (one inproc endpoint).
    Create, use and destroy it from one thread.                              */
#ifndef TSR_ZAP_H
#define TSR_ZAP_H

#include "tsr_common.h"

#define TSR_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define TSR_ZAP_DOMAIN_AGENTS "agents"
#define TSR_ZAP_DOMAIN_CLIENTS "clients"

typedef struct {
    uint64_t accepted;     //  handshakes admitted
    uint64_t unknown_key;  //  refused: key in neither allow-list
    uint64_t wrong_domain; //  refused: key allowed on the other endpoint, or unknown domain
    uint64_t not_curve;    //  refused: mechanism other than CURVE
} tsr_zap_stats_t;

typedef struct _tsr_zap_t tsr_zap_t;

//  Start the handler over the two allow-list directories (created if
//  missing). Returns NULL, logged, if a directory cannot be created or the
//  ZAP endpoint is taken (another handler runs in this process).
tsr_zap_t *tsr_zap_new(const char *agents_dir, const char *clients_dir);
void tsr_zap_destroy(tsr_zap_t **self_p);

//  Re-read both allow-lists; waits until done. Returns TSR_OK or -errno
//  (the previous list stays in force for a directory that cannot be read).
TSR_NODISCARD int tsr_zap_reload(tsr_zap_t *self);

//  Counters so far; waits for the handler's answer.
void tsr_zap_stats(tsr_zap_t *self, tsr_zap_stats_t *stats_out);

#endif
