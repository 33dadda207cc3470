/*  tsr_zap - the coordinator's ZAP handler (ZeroMQ RFC 27)
    Its own zactor thread (libzmq asks the handler synchronously during each
    handshake, so it must never wait on the coordinator's loop). The parent
    talks to it over the actor pipe: "RELOAD" and "STATS", both answered.   */
#include "tsr_zap.h"
#include "tsr_keys.h"
#include <inttypes.h>
#include <string.h>

#define TSR_ZAP_VERSION "1.0"
#define TSR_ZAP_CURVE_KEY_BYTES 32

//  Handed to the actor; `status` comes back before zactor_new returns
typedef struct {
    const char *agents_dir;  //  borrowed (owner: the caller of tsr_zap_new)
    const char *clients_dir; //  borrowed (owner: the caller of tsr_zap_new)
    int status;              //  set by the actor: TSR_OK or why it could not start
} s_zap_args_t;

//  The actor's state, on its own thread
typedef struct {
    tsr_allow_t *agents;   //  owned; allow/agents
    tsr_allow_t *clients;  //  owned; allow/clients
    zsock_t *handler;      //  owned; REP on TSR_ZAP_ENDPOINT
    tsr_zap_stats_t stats; //  counters
} s_handler_t;

struct _tsr_zap_t {
    zactor_t *actor; //  owned
};

//  Reply 200 with the key as User-Id, or 400 with a reason
static void
s_reply(zsock_t *handler, zframe_t **request_id_p, const char *status, const char *text,
        const char *user_id)
{
    zmsg_t *reply = zmsg_new();
    zmsg_addstr(reply, TSR_ZAP_VERSION);
    zmsg_append(reply, request_id_p);
    zmsg_addstr(reply, status);
    zmsg_addstr(reply, text);
    zmsg_addstr(reply, user_id);
    zmsg_addmem(reply, NULL, 0); //  no metadata
    if (zmsg_send(&reply, handler) != 0) {
        tsr_log_error("cannot answer a ZAP request: %s", zmq_strerror(zmq_errno()));
        zmsg_destroy(&reply);
    }
}

static void
s_refuse(s_handler_t *self, zframe_t **request_id_p, const char *domain, const char *address,
         const char *key, const char *reason, uint64_t *counter)
{
    (*counter)++;
    char short_id[9] = "-";
    if (key)
        tsr_keys_short_id(key, short_id);
    uint64_t refused = self->stats.unknown_key + self->stats.wrong_domain + self->stats.not_curve;
    tsr_log_warn("refused handshake domain=%s peer=%s key=%s reason=%s refused=%" PRIu64, domain,
                 address, short_id, reason, refused);
    s_reply(self->handler, request_id_p, "400", reason, "");
}

//  One ZAP request: version, request id, domain, address, routing id,
//  mechanism, credentials (for CURVE: the client's 32-byte public key)
static void
s_handle_request(s_handler_t *self)
{
    zmsg_t *request = zmsg_recv(self->handler);
    if (!request)
        return;
    char *version = zmsg_popstr(request);
    zframe_t *request_id = zmsg_pop(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    zframe_t *routing_id = zmsg_pop(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *credentials = zmsg_pop(request);
    if (!request_id)
        request_id = zframe_new_empty();
    if (!version || strcmp(version, TSR_ZAP_VERSION) != 0 || !domain || !address || !mechanism) {
        s_reply(self->handler, &request_id, "500", "malformed ZAP request", "");
        goto out;
    }
    if (strcmp(mechanism, "CURVE") != 0 || !credentials ||
        zframe_size(credentials) != TSR_ZAP_CURVE_KEY_BYTES) {
        s_refuse(self, &request_id, domain, address, NULL, "not CURVE", &self->stats.not_curve);
        goto out;
    }
    char key[41];
    zmq_z85_encode(key, zframe_data(credentials), TSR_ZAP_CURVE_KEY_BYTES);

    tsr_allow_t *own = NULL, *other = NULL;
    if (strcmp(domain, TSR_ZAP_DOMAIN_AGENTS) == 0) {
        own = self->agents;
        other = self->clients;
    } else if (strcmp(domain, TSR_ZAP_DOMAIN_CLIENTS) == 0) {
        own = self->clients;
        other = self->agents;
    }
    if (!own)
        s_refuse(self, &request_id, domain, address, key, "unknown domain",
                 &self->stats.wrong_domain);
    else if (tsr_allow_has(own, key)) {
        self->stats.accepted++;
        char short_id[9];
        tsr_keys_short_id(key, short_id);
        tsr_log_debug("admitted handshake domain=%s peer=%s key=%s", domain, address, short_id);
        s_reply(self->handler, &request_id, "200", "OK", key);
    } else if (tsr_allow_has(other, key))
        s_refuse(self, &request_id, domain, address, key, "key allowed on the other endpoint",
                 &self->stats.wrong_domain);
    else
        s_refuse(self, &request_id, domain, address, key, "unknown key", &self->stats.unknown_key);
out:
    zstr_free(&version);
    zframe_destroy(&request_id);
    zstr_free(&domain);
    zstr_free(&address);
    zframe_destroy(&routing_id);
    zstr_free(&mechanism);
    zframe_destroy(&credentials);
    zmsg_destroy(&request);
}

static int
s_reload(s_handler_t *self)
{
    int rc = tsr_allow_reload(self->agents);
    int clients_rc = tsr_allow_reload(self->clients);
    if (rc == TSR_OK)
        rc = clients_rc;
    tsr_log_info("allow-lists reloaded agents=%zu clients=%zu", tsr_allow_size(self->agents),
                 tsr_allow_size(self->clients));
    return rc;
}

//  A command from the parent; false on $TERM
static bool
s_handle_command(s_handler_t *self, zsock_t *pipe)
{
    char *command = zstr_recv(pipe);
    if (!command)
        return false; //  interrupted
    bool keep_going = true;
    if (streq(command, "$TERM"))
        keep_going = false;
    else if (streq(command, "RELOAD"))
        zsock_send(pipe, "i", s_reload(self));
    else if (streq(command, "STATS"))
        zsock_send(pipe, "8888", self->stats.accepted, self->stats.unknown_key,
                   self->stats.wrong_domain, self->stats.not_curve);
    else
        tsr_log_error("ZAP handler: unknown command %s", command);
    zstr_free(&command);
    return keep_going;
}

static void
s_zap_actor(zsock_t *pipe, void *args)
{
    s_zap_args_t *zap_args = (s_zap_args_t *)args;
    s_handler_t self = {0};
    zpoller_t *poller = NULL;
    self.agents = tsr_allow_new(zap_args->agents_dir);
    self.clients = tsr_allow_new(zap_args->clients_dir);
    if (!self.agents || !self.clients) {
        zap_args->status = TSR_ECONFIG;
        zsock_signal(pipe, 1);
        goto out;
    }
    self.handler = zsock_new(ZMQ_REP);
    assert(self.handler);
    if (zsock_bind(self.handler, "%s", TSR_ZAP_ENDPOINT) != 0) {
        zap_args->status = -zmq_errno();
        zsock_signal(pipe, 1);
        goto out;
    }
    zap_args->status = TSR_OK;
    zsock_signal(pipe, 0);

    poller = zpoller_new(pipe, self.handler, NULL);
    assert(poller);
    //  Only the parent ends us ($TERM): refusing handshakes must outlive Ctrl-C
    zpoller_set_nonstop(poller, true);
    while (true) {
        zsock_t *which = (zsock_t *)zpoller_wait(poller, -1);
        if (which == pipe) {
            if (!s_handle_command(&self, pipe))
                break;
        } else if (which == self.handler)
            s_handle_request(&self);
        else if (zpoller_terminated(poller))
            break;
    }
out:
    zpoller_destroy(&poller);
    zsock_destroy(&self.handler);
    tsr_allow_destroy(&self.agents);
    tsr_allow_destroy(&self.clients);
}

tsr_zap_t *
tsr_zap_new(const char *agents_dir, const char *clients_dir)
{
    assert(agents_dir);
    assert(clients_dir);
    s_zap_args_t args = {agents_dir, clients_dir, TSR_OK};
    zactor_t *actor = zactor_new(s_zap_actor, &args); //  returns once the actor signalled
    if (args.status != TSR_OK) {
        tsr_log_error("cannot start the ZAP handler on %s: %s", TSR_ZAP_ENDPOINT,
                      tsr_strerror(args.status));
        zactor_destroy(&actor);
        return NULL;
    }
    tsr_zap_t *self = (tsr_zap_t *)zmalloc(sizeof(tsr_zap_t));
    self->actor = actor;
    return self;
}

void
tsr_zap_destroy(tsr_zap_t **self_p)
{
    assert(self_p);
    tsr_zap_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy(&self->actor);
    free(self);
    *self_p = NULL;
}

int
tsr_zap_reload(tsr_zap_t *self)
{
    assert(self);
    int rc = TSR_EUNREACHABLE;
    if (zstr_send(self->actor, "RELOAD") == 0 && zsock_recv(self->actor, "i", &rc) != 0)
        rc = TSR_EUNREACHABLE;
    return rc;
}

void
tsr_zap_stats(tsr_zap_t *self, tsr_zap_stats_t *stats_out)
{
    assert(self);
    assert(stats_out);
    memset(stats_out, 0, sizeof *stats_out);
    if (zstr_send(self->actor, "STATS") == 0)
        zsock_recv(self->actor, "8888", &stats_out->accepted, &stats_out->unknown_key,
                   &stats_out->wrong_domain, &stats_out->not_curve);
}
