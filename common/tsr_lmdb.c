/*  tsr_lmdb - LMDB error translation, transaction start and end            */
#include "tsr_lmdb.h"

int
tsr_lmdb_error(int mdb_rc)
{
    if (mdb_rc == MDB_SUCCESS)
        return TSR_OK;
    if (mdb_rc == MDB_NOTFOUND)
        return TSR_ENOTFOUND;
    if (mdb_rc == MDB_MAP_FULL)
        return TSR_EFULL;
    return mdb_rc > 0 ? -mdb_rc : TSR_ESTORE; //  positive: errno
}

int
tsr_lmdb_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn_out)
{
    assert(env);
    int rc = mdb_txn_begin(env, NULL, flags, txn_out);
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(env, 0);
        if (rc == MDB_SUCCESS)
            rc = mdb_txn_begin(env, NULL, flags, txn_out);
    }
    return tsr_lmdb_error(rc);
}

int
tsr_lmdb_txn_end(MDB_txn *txn, int rc)
{
    if (!txn)
        return rc;
    if (rc != TSR_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    return tsr_lmdb_error(mdb_txn_commit(txn)); //  frees the transaction, even when it fails
}
