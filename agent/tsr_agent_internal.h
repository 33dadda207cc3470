/*  tsr_agent_internal - the agent object shared by its two source files
    tsr_agent.c owns the link to the coordinator (connect, Hello/Welcome,
    heartbeats, liveness, back-off, drain, Bye); tsr_agent_work.c owns the
    attempts (Assign, fetch, materialise, run, Result, Cancel). Nothing
    outside agent/ includes this.                                           */
#ifndef TSR_AGENT_INTERNAL_H
#define TSR_AGENT_INTERNAL_H

#include "tessera.pb-c.h"
#include "tsr_agent.h"
#include "tsr_cas.h"
#include "tsr_stamps.h"
#include "tsr_cpuset.h"
#include "tsr_executor.h"
#include "tsr_fetcher.h"
#include "tsr_slots.h"
#include <sys/types.h>

//  How we stand with the coordinator.
typedef enum {
    TSR_LINK_DOWN,  //  no DEALER; waiting for the reconnect timer
    TSR_LINK_HELLO, //  Hello sent, no Welcome yet
    TSR_LINK_READY, //  welcomed; heartbeating
} tsr_link_state_t;

struct _tsr_agent_t {
    //  Options (copied strings, owned)
    char *coordinator;         //  agents endpoint
    char *server_key_path;     //  coordinator's public certificate
    char *key_path;            //  our secret certificate
    char *cpus_text;           //  --cpus, NULL = all ours
    char *labels_text;         //  --labels, NULL = none
    char *data_dir;            //  DATA
    char *name;                //  display name
    char *user;                //  --user, NULL = ourselves
    char *ready_file;          //  written at the first Welcome, NULL = none
    uint32_t heartbeat_ivl_ms; //  current interval (Welcome may change it)
    uint64_t cache_max_bytes;  //  CAS budget
    uint32_t drain_grace_ms;   //  SIGTERM grace for running work

    //  Set up by tsr_agent_start
    zcert_t *cert;            //  owned; our key pair
    char *server_public;      //  owned; coordinator's Z85 public key
    tsr_cas_t *cas;           //  owned; DATA/cache
    tsr_stamps_t *stamps;     //  owned; file times kept across attempts
    tsr_slots_t *slots;       //  owned; one per CPU
    tsr_cpuset_t cpus;        //  the slots' CPUs
    zhashx_t *labels;         //  owned; key -> value
    tsr_fetcher_t *fetcher;   //  owned
    tsr_executor_t *executor; //  owned
    char *work_dir;           //  owned; DATA/work
    char *tmp_dir;            //  owned; DATA/tmp (partial blobs)
    int lock_fd;              //  flock on DATA/agent.lock, -1 if none
    bool run_as_other;        //  jobs run as `user` (we are root)
    uid_t run_uid;            //  its uid, when run_as_other
    gid_t run_gid;            //  its primary gid, when run_as_other
    char *run_home;           //  owned; its home directory, when run_as_other
    bool started;             //  tsr_agent_start succeeded

    //  Link to the coordinator (tsr_agent.c)
    zloop_t *loop;            //  owned while tsr_agent_run runs
    zsock_t *dealer;          //  owned; NULL while TSR_LINK_DOWN
    tsr_link_state_t link;    //  see the enum
    unsigned liveness;        //  intervals left without a coordinator message
    int64_t last_heard_ms;    //  zclock_mono() of the coordinator's last message
    int64_t last_tick_ms;     //  zclock_mono() of the last heartbeat tick (freeze detection)
    unsigned liveness_max;    //  from Welcome (3)
    unsigned failures;        //  consecutive losses, for the back-off
    int heartbeat_timer;      //  zloop timer id, -1 if none
    int reconnect_timer;      //  zloop timer id, -1 if none
    int64_t hello_sent_ms;    //  when the last Hello went out
    uint64_t next_req_id;     //  req_id of our next request
    bool welcomed_once;       //  the ready line and file are done
    bool draining;            //  the coordinator said Drain{true}
    bool stopping;            //  SIGTERM / $TERM: draining until the deadline
    int64_t stop_deadline_ms; //  stopping: kill what still runs then

    //  Attempts (tsr_agent_work.c)
    zhashx_t *attempts;    //  "id" -> attempt record, owned
    zlistx_t *handed_back; //  uint64_t * of attempts refused while stopping, owned
    int poll_timer;        //  zloop timer id while processes run, -1 if none
    int steal_timer;       //  zloop timer id while a steal request waits, -1 if none
};

//  tsr_agent.c: send to the coordinator. TSR_EUNREACHABLE without a link.
TSR_NODISCARD int tsr_agent_send(tsr_agent_t *self, Tessera__Envelope *env);

//  tsr_agent.c: the link's state changed what we can do; send a Heartbeat now.
void tsr_agent_heartbeat_now(tsr_agent_t *self);

//  Welcomed and heard from within two heartbeat intervals: a Result sent now
//  should arrive. After SIGSTOP/SIGCONT the loop can see a child's exit before
//  the liveness timer notices the silence; such Results are kept instead.
bool tsr_agent_link_is_fresh(tsr_agent_t *self);

//  tsr_agent_work.c: set up the attempt table (at tsr_agent_new).
void tsr_agent_work_init(tsr_agent_t *self);
//  tsr_agent_work.c: abandon every attempt (kill, remove its dir; no Result).
void tsr_agent_work_destroy(tsr_agent_t *self);

//  Dispatch handlers for Assign, Cancel, BlobChunk and Steal (tsr_dispatch_fn).
int tsr_agent_on_assign(void *server, void *peer, const Tessera__Envelope *env);
int tsr_agent_on_cancel(void *server, void *peer, const Tessera__Envelope *env);
int tsr_agent_on_blob_chunk(void *server, void *peer, const Tessera__Envelope *env);
//  Steal: ask a running test attempt's runner for its not-started tail;
//  the answer goes back as Stolen (always before that attempt's Result).
int tsr_agent_on_steal(void *server, void *peer, const Tessera__Envelope *env);

//  Kill these attempts, no Result (Welcome.cancel, Cancel).
void tsr_agent_work_cancel(tsr_agent_t *self, const uint64_t *attempt_ids, size_t count);

//  Send the Results of attempts that ended while we had no link (after a
//  Welcome that did not cancel them).
void tsr_agent_work_flush_results(tsr_agent_t *self);

//  The ids of every attempt we hold (caller frees *ids_out; may be NULL
//  when the count is 0).
size_t tsr_agent_work_ids(tsr_agent_t *self, uint64_t **ids_out);

//  Attempts held (fetching or running).
size_t tsr_agent_work_count(tsr_agent_t *self);

//  Stopping at the deadline: kill everything, list the ids in *ids_out
//  (with those refused while stopping) for Bye. Returns the count.
size_t tsr_agent_work_hand_back(tsr_agent_t *self, uint64_t **ids_out);

//  The fetcher's callbacks (arg is the agent).
int tsr_agent_work_fetch_send(void *arg, Tessera__Envelope *request);
void tsr_agent_work_fetch_done(void *arg, const tsr_digest_t *digest, int rc);

#endif
