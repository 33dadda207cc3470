/*  tsr_dispatch - message -> handler lookup in a per-socket table
    The table says which peer states a message is legal in; a handler never
    sees a message out of state. Callers: each socket's handler file. Any
    thread; no state.                                                       */
#include "tsr_dispatch.h"

int
tsr_dispatch(const tsr_dispatch_row_t *rows, size_t row_count, unsigned peer_state, void *server,
             void *peer, const Tessera__Envelope *env)
{
    assert(rows || row_count == 0);
    assert(env);
    for (size_t index = 0; index < row_count; index++) {
        const tsr_dispatch_row_t *row = &rows[index];
        if (row->body != env->body_case)
            continue;
        assert(row->handler);
        if (!(row->states & peer_state))
            return TSR_ESTATE;
        return row->handler(server, peer, env);
    }
    return TSR_EPROTO;
}
