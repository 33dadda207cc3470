/*  tsr_store - the coordinator's runs, kept in LMDB
    A named database "runs" in the environment of the coordinator's CAS
    (tsr_cas_env): one StoredRun record per run (key "run/<id>") and the
    counters (key "meta", StoredMeta), protobuf-serialized. The coordinator
    saves every changed run after each message it handles and loads them all
    at start to resume its queue. Loop thread of the coordinator only.       */
#ifndef TSR_STORE_H
#define TSR_STORE_H

#include "tsr_common.h"
#include "tsr_run.h"
#include <lmdb.h>

typedef struct _tsr_store_t tsr_store_t;

//  Create an unopened store.
tsr_store_t *tsr_store_new(void);
void tsr_store_destroy(tsr_store_t **self_p);

//  Open (create) the "runs" database in `env` (borrowed: must outlive the
//  store; needs a free named-database slot). Returns TSR_OK or TSR_ESTORE.
TSR_NODISCARD int tsr_store_open(tsr_store_t *self, MDB_env *env);

//  Write `runs` (tsr_run_t *, borrowed) and the counters in one transaction,
//  and delete the runs named in `deleted` (char * ids; may be NULL).
//  Returns TSR_OK, TSR_EFULL or TSR_ESTORE (nothing written then).
TSR_NODISCARD int tsr_store_save(tsr_store_t *self, zlistx_t *runs, zlistx_t *deleted,
                                 uint64_t next_run, uint64_t next_attempt);

//  Read every run: new tsr_run_t objects (the caller owns them) are appended
//  to `runs_out`; counters into *next_run_out, *next_attempt_out (1 if never
//  saved). A record that cannot be decoded is skipped with an ERROR log.
//  Returns TSR_OK or TSR_ESTORE.
TSR_NODISCARD int tsr_store_load(tsr_store_t *self, zlistx_t *runs_out, uint64_t *next_run_out,
                                 uint64_t *next_attempt_out);

#endif
