/*  tsr_conn - remote or embedded cluster connection for the subcommands   */
#include "tsr_conn.h"
#include "tsr_keys.h"
#include "tsr_local.h"
#include "tsr_msg.h"
#include <string.h>

struct _tsr_conn_t {
    tsr_local_t *local;   //  owned; NULL when remote
    zcert_t *cert;        //  owned when remote; NULL when local (the local owns it)
    tsr_client_t *client; //  owned
    char *endpoint;       //  owned; the clients endpoint
    char *key_path;       //  owned; our key's path, for hints; NULL when local
};

//  Remote: all three options, then the keys.
static int
s_open_remote(tsr_conn_t *self, const tsr_cli_t *cli, const tsr_cmd_entry_t *entry)
{
    const char *missing = !cli->coordinator  ? "--coordinator (or TESSERA_COORDINATOR)"
                          : !cli->server_key ? "--server-key (or TESSERA_SERVER_KEY)"
                          : !cli->key        ? "--key (or TESSERA_KEY)"
                                             : NULL;
    if (missing) {
        fprintf(stderr,
                "tessera %s: a remote coordinator needs --coordinator tcp://HOST:PORT, "
                "--server-key COORD.pub and --key CLIENT; missing %s\n",
                entry->name, missing);
        return TSR_EXIT_CONFIG;
    }
    zcert_t *server = NULL;
    int rc = tsr_keys_load_public(cli->server_key, &server);
    if (rc != TSR_OK) {
        fprintf(stderr, "tessera %s: cannot load the coordinator's public key %s: %s\n",
                entry->name, cli->server_key, tsr_strerror(rc));
        return TSR_EXIT_CONFIG;
    }
    rc = tsr_keys_load_secret(cli->key, &self->cert);
    if (rc != TSR_OK) {
        fprintf(stderr, "tessera %s: cannot load our key %s: %s%s\n", entry->name, cli->key,
                tsr_strerror(rc), rc == TSR_EPERM ? " (it must be mode 0600: chmod 600 it)" : "");
        zcert_destroy(&server);
        return TSR_EXIT_CONFIG;
    }
    self->endpoint = strdup(cli->coordinator);
    self->key_path = strdup(cli->key);
    self->client = tsr_client_new(cli->coordinator, zcert_public_txt(server), self->cert);
    zcert_destroy(&server);
    if (!self->client) {
        fprintf(stderr, "tessera %s: cannot connect to %s (bad endpoint?)\n", entry->name,
                cli->coordinator);
        return TSR_EXIT_CONFIG;
    }
    return TSR_EXIT_OK;
}

//  The embedded coordinator serves one `tessera run` at a time, so a run
//  its store still has queued or running was left by one that was
//  interrupted or killed: cancel it before agents come and resume it.
static void
s_cancel_orphans(tsr_conn_t *self)
{
    Tessera__StatusRequest body = TESSERA__STATUS_REQUEST__INIT;
    body.run_id = "";
    Tessera__Envelope request = TESSERA__ENVELOPE__INIT;
    request.body_case = TESSERA__ENVELOPE__BODY_STATUS_REQUEST;
    request.status_request = &body;
    Tessera__Envelope *reply = NULL;
    int rc = tsr_client_request(self->client, &request, TSR_CONN_TIMEOUT_MS, 0, &reply);
    if (rc != TSR_OK || reply->body_case != TESSERA__ENVELOPE__BODY_STATUS_REPLY) {
        tsr_log_warn("embedded coordinator: cannot list runs: %s", tsr_strerror(rc));
        tsr_msg_destroy(&reply);
        return;
    }
    const Tessera__StatusReply *status = reply->status_reply;
    for (size_t index = 0; index < status->n_runs; index++) {
        const Tessera__RunSummary *run = status->runs[index];
        if (strcmp(run->status, "queued") != 0 && strcmp(run->status, "running") != 0)
            continue;
        Tessera__CancelRun cancel = TESSERA__CANCEL_RUN__INIT;
        cancel.run_id = run->run_id;
        Tessera__Envelope cancel_request = TESSERA__ENVELOPE__INIT;
        cancel_request.body_case = TESSERA__ENVELOPE__BODY_CANCEL_RUN;
        cancel_request.cancel_run = &cancel;
        Tessera__Envelope *cancel_reply = NULL;
        rc = tsr_client_request(self->client, &cancel_request, TSR_CONN_TIMEOUT_MS, 0,
                                &cancel_reply);
        if (rc == TSR_OK)
            tsr_log_info("embedded coordinator: cancelled run=%s left by an earlier tessera run",
                         run->run_id);
        else
            tsr_log_warn("embedded coordinator: cannot cancel run=%s: %s", run->run_id,
                         tsr_strerror(rc));
        tsr_msg_destroy(&cancel_reply);
    }
    tsr_msg_destroy(&reply);
}

static int
s_open_local(tsr_conn_t *self, const tsr_cmd_entry_t *entry, uint32_t local_agents)
{
    tsr_local_opts_t opts = {.cache_dir = NULL, .agents = local_agents, .heartbeat_ivl_ms = 0};
    self->local = tsr_local_new(&opts);
    char *error = NULL;
    if (tsr_local_start(self->local, &error) != TSR_OK) {
        fprintf(stderr, "tessera %s: embedded cluster: %s\n", entry->name,
                error ? error : "did not start");
        free(error);
        return TSR_EXIT_INFRA;
    }
    self->endpoint = strdup(tsr_local_clients_endpoint(self->local));
    self->client = tsr_client_new(self->endpoint, tsr_local_server_key(self->local),
                                  tsr_local_client_cert(self->local));
    if (!self->client) {
        fprintf(stderr, "tessera %s: embedded cluster: cannot connect to %s\n", entry->name,
                self->endpoint);
        return TSR_EXIT_INFRA;
    }
    s_cancel_orphans(self);
    if (tsr_local_start_agents(self->local, &error) != TSR_OK) {
        fprintf(stderr, "tessera %s: embedded cluster: %s\n", entry->name,
                error ? error : "agents did not start");
        free(error);
        return TSR_EXIT_INFRA;
    }
    return TSR_EXIT_OK;
}

int
tsr_conn_open(const tsr_cli_t *cli, const tsr_cmd_entry_t *entry, uint32_t local_agents,
              tsr_conn_t **conn_out)
{
    assert(cli);
    assert(entry);
    assert(conn_out);
    *conn_out = NULL;
    tsr_conn_t *self = zmalloc(sizeof *self);
    int exit_code;
    bool remote = cli->coordinator || cli->server_key || cli->key;
    if (remote)
        exit_code = s_open_remote(self, cli, entry);
    else if (local_agents > 0)
        exit_code = s_open_local(self, entry, local_agents);
    else {
        fprintf(stderr,
                "tessera %s: needs a coordinator: --coordinator tcp://HOST:PORT --server-key "
                "COORD.pub --key CLIENT (or TESSERA_COORDINATOR, TESSERA_SERVER_KEY, "
                "TESSERA_KEY); the embedded cluster lives only during 'tessera run'\n",
                entry->name);
        exit_code = TSR_EXIT_CONFIG;
    }
    if (exit_code == TSR_EXIT_OK)
        *conn_out = self;
    else
        tsr_conn_destroy(&self);
    return exit_code;
}

void
tsr_conn_destroy(tsr_conn_t **self_p)
{
    assert(self_p);
    tsr_conn_t *self = *self_p;
    if (!self)
        return;
    tsr_client_destroy(&self->client); //  before the cluster and the cert it borrows
    tsr_local_destroy(&self->local);
    zcert_destroy(&self->cert);
    free(self->endpoint);
    free(self->key_path);
    free(self);
    *self_p = NULL;
}

tsr_client_t *
tsr_conn_client(tsr_conn_t *self)
{
    assert(self);
    return self->client;
}

const char *
tsr_conn_endpoint(tsr_conn_t *self)
{
    assert(self);
    return self->endpoint;
}

bool
tsr_conn_is_local(tsr_conn_t *self)
{
    assert(self);
    return self->local != NULL;
}

const char *
tsr_conn_cache_dir(tsr_conn_t *self)
{
    assert(self);
    return self->local ? tsr_local_cache_dir(self->local) : NULL;
}

int
tsr_conn_request(tsr_conn_t *self, Tessera__Envelope *request, int timeout_ms, int retries,
                 Tessera__Envelope **reply_out)
{
    assert(self);
    return tsr_client_request(self->client, request, timeout_ms, retries, reply_out);
}

int
tsr_conn_fail(tsr_conn_t *self, const char *what, int rc)
{
    assert(self);
    assert(what);
    const char *text = tsr_client_error(self->client);
    bool has_text = text && text[0];
    const char *where = self->local ? "the embedded coordinator" : "coordinator";
    switch (rc) {
    case TSR_EUNREACHABLE:
        if (self->local)
            fprintf(stderr, "tessera: %s: %s (%s) did not answer\n", what, where, self->endpoint);
        else
            fprintf(stderr,
                    "tessera: %s: coordinator %s unreachable: no reply (is it running and "
                    "reachable, and is %s.pub in its allow/clients/?)\n",
                    what, self->endpoint, self->key_path);
        return TSR_EXIT_INFRA;
    case TSR_EAUTH:
        fprintf(stderr,
                "tessera: %s: coordinator %s refused our key %s (add %s.pub to its "
                "allow/clients/ and send it SIGHUP)\n",
                what, self->endpoint, self->key_path ? self->key_path : "",
                self->key_path ? self->key_path : "the key");
        return TSR_EXIT_INFRA;
    case TSR_ECANCELLED: //  SIGINT while waiting
        fprintf(stderr, "tessera: %s: interrupted\n", what);
        return TSR_CONN_EXIT_INTERRUPTED;
    case TSR_ENOAGENT:
        fprintf(stderr, "tessera: %s: no agent: %s\n", what, has_text ? text : tsr_strerror(rc));
        return TSR_EXIT_INFRA;
    case TSR_ENOTFOUND:
    case TSR_EINVAL:
    case TSR_ECONFIG:
        fprintf(stderr, "tessera: %s: %s\n", what, has_text ? text : tsr_strerror(rc));
        return TSR_EXIT_CONFIG;
    default:
        fprintf(stderr, "tessera: %s: %s %s: %s (%s)\n", what, where, self->endpoint,
                has_text ? text : tsr_strerror(rc), tsr_err_name(rc));
        return TSR_EXIT_INFRA;
    }
}

int
tsr_conn_call(tsr_conn_t *self, const char *what, Tessera__Envelope *request,
              Tessera__Envelope__BodyCase expected, Tessera__Envelope **reply_out)
{
    assert(self);
    assert(reply_out);
    *reply_out = NULL;
    Tessera__Envelope *reply = NULL;
    int rc = tsr_conn_request(self, request, TSR_CONN_TIMEOUT_MS, TSR_CONN_RETRIES, &reply);
    if (rc != TSR_OK)
        return tsr_conn_fail(self, what, rc);
    if (reply->body_case != expected) {
        fprintf(stderr, "tessera: %s: unexpected reply '%s' from %s\n", what,
                tsr_msg_name(reply->body_case), self->endpoint);
        tsr_msg_destroy(&reply);
        return TSR_EXIT_INFRA;
    }
    *reply_out = reply;
    return TSR_EXIT_OK;
}

int
tsr_conn_call_once(const tsr_cli_t *cli, const tsr_cmd_entry_t *entry, Tessera__Envelope *request,
                   Tessera__Envelope__BodyCase expected, Tessera__Envelope **reply_out)
{
    assert(reply_out);
    *reply_out = NULL;
    tsr_conn_t *conn = NULL;
    int exit_code = tsr_conn_open(cli, entry, 0, &conn);
    if (exit_code == TSR_EXIT_OK)
        exit_code = tsr_conn_call(conn, entry->name, request, expected, reply_out);
    tsr_conn_destroy(&conn);
    return exit_code;
}

int
tsr_conn_check(tsr_conn_t *self)
{
    assert(self);
    if (!self->local)
        return TSR_OK;
    char *error = NULL;
    int rc = tsr_local_check(self->local, &error);
    if (rc != TSR_OK) {
        fprintf(stderr, "tessera: no agent: %s\n", error ? error : "embedded agents failed");
        free(error);
        return TSR_ENOAGENT;
    }
    return TSR_OK;
}
