/*  tsr_conn - the CLI's connection to a cluster: remote, or embedded
    Remote when the global options (or TESSERA_* environment) name a
    coordinator: --coordinator, --server-key and --key are then all needed.
    Otherwise `tessera run` starts the embedded local cluster (tsr_local) and
    connects to it the same way. Requests go through tsr_client (Lazy
    Pirate). This is CLI glue: it prints what failed, naming the
    coordinator, and maps failures to exit codes. Main thread.            */
#ifndef TSR_CONN_H
#define TSR_CONN_H

#include "tessera.pb-c.h"
#include "tsr_client.h"
#include "tsr_cmd.h"
#include "tsr_common.h"

typedef struct _tsr_conn_t tsr_conn_t;

//  Connect for command `entry`. `local_agents` > 0 allows the embedded
//  cluster with that many agents when no coordinator is given; 0 means the
//  command needs a remote coordinator. Returns TSR_EXIT_OK with *conn_out, or
//  prints why on stderr and returns TSR_EXIT_CONFIG (missing or unreadable
//  options and keys) or TSR_EXIT_INFRA (the embedded cluster did not start).
int tsr_conn_open(const tsr_cli_t *cli, const tsr_cmd_entry_t *entry, uint32_t local_agents,
                  tsr_conn_t **conn_out);

//  Embedded cluster first stopped (agents, then coordinator). NULL-safe.
void tsr_conn_destroy(tsr_conn_t **self_p);

//  The client (borrowed) and the coordinator endpoint it talks to (borrowed).
tsr_client_t *tsr_conn_client(tsr_conn_t *self);
const char *tsr_conn_endpoint(tsr_conn_t *self);
bool tsr_conn_is_local(tsr_conn_t *self);
//  The embedded cluster's cache directory (borrowed), NULL when remote.
const char *tsr_conn_cache_dir(tsr_conn_t *self);

//  tsr_client_request; returns its code.
TSR_NODISCARD int tsr_conn_request(tsr_conn_t *self, Tessera__Envelope *request, int timeout_ms,
                                   int retries, Tessera__Envelope **reply_out);

//  Exit status after SIGINT (128 + SIGINT), as shells report it.
#define TSR_CONN_EXIT_INTERRUPTED 130

//  Print "tessera: WHAT: REASON" for a failed request (`rc` from
//  tsr_conn_request or tsr_client_upload), naming the coordinator and, for
//  no reply or a refused key, what to check. Returns the exit code:
//  TSR_EXIT_CONFIG for an Error reply about our request (not found, invalid),
//  TSR_CONN_EXIT_INTERRUPTED after SIGINT, TSR_EXIT_INFRA otherwise.
int tsr_conn_fail(tsr_conn_t *self, const char *what, int rc);

//  Lazy Pirate timeout and retries of one-shot requests (status, agents...).
#define TSR_CONN_TIMEOUT_MS 2500
#define TSR_CONN_RETRIES 1

//  One request with the default timeout whose reply must have body
//  `expected`. Returns TSR_EXIT_OK with *reply_out (tsr_msg_destroy it), or
//  prints what failed (tsr_conn_fail, `what` naming the request) and returns
//  the exit code.
int tsr_conn_call(tsr_conn_t *self, const char *what, Tessera__Envelope *request,
                  Tessera__Envelope__BodyCase expected, Tessera__Envelope **reply_out);

//  The whole of a one-shot subcommand's talk: connect to the remote
//  coordinator for `entry` (tsr_conn_open, no embedded cluster), make one
//  tsr_conn_call named after the command, disconnect. Returns TSR_EXIT_OK
//  with *reply_out (tsr_msg_destroy it), or prints what failed and returns
//  the exit code.
int tsr_conn_call_once(const tsr_cli_t *cli, const tsr_cmd_entry_t *entry,
                       Tessera__Envelope *request, Tessera__Envelope__BodyCase expected,
                       Tessera__Envelope **reply_out);

//  Embedded cluster only: TSR_OK while an agent may serve, else prints that
//  no embedded agent started and returns TSR_ENOAGENT. Remote: TSR_OK.
TSR_NODISCARD int tsr_conn_check(tsr_conn_t *self);

#endif
