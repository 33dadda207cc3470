/*  tsr_lmdb - LMDB glue shared by every store on an environment
    (the CAS, the coordinator's run store, timing history and listing cache):
    one translation of LMDB codes, one way to begin and end a transaction.  */
#ifndef TSR_LMDB_H
#define TSR_LMDB_H

#include "tsr_common.h"
#include <lmdb.h>

//  MDB_SUCCESS -> TSR_OK, MDB_NOTFOUND -> TSR_ENOTFOUND, MDB_MAP_FULL ->
//  TSR_EFULL (the caller evicts or reports), errno values -> -errno, other
//  LMDB errors -> TSR_ESTORE.
int tsr_lmdb_error(int mdb_rc);

//  Begin a transaction on `env`; when another process (or another store on the
//  same environment) grew the map, adopt the new size and try again.
//  Returns TSR_OK with *txn_out, or a tsr_lmdb_error code.
TSR_NODISCARD int tsr_lmdb_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn_out);

//  End a write transaction by the outcome `rc` of the work done in it:
//  commit when it is TSR_OK, else abort. Either frees `txn`; NULL (it never
//  began) does nothing. Returns `rc`, or the commit's tsr_lmdb_error code.
TSR_NODISCARD int tsr_lmdb_txn_end(MDB_txn *txn, int rc);

#endif
