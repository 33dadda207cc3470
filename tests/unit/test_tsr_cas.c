/*  Unit tests for tsr_cas: round trips, digest checks on the way in and out,
    offsets, files, LRU eviction under a budget and under a full LMDB map, and
    two processes sharing one environment. Corruption is made by writing into
    the "cas.blobs" database directly, through tsr_cas_env.                 */
#define _GNU_SOURCE //  nftw
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsr_cas.h"
#include "tsr_testdir.h"

//  Map for most tests: roomy enough that only the budget matters
#define TEST_MAP_BYTES (16 * 1024 * 1024)

//  Each test gets a scratch directory and an opened store in "<dir>/cas"
typedef struct {
    char *dir;          //  owned scratch directory (tsr_testdir)
    char cas_dir[4200]; //  the store's environment directory
    tsr_cas_t *cas;     //  owned; opened on TEST_MAP_BYTES unless a test reopens
} fixture_t;

static int
s_make_scratch(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    fixture->dir = tsr_testdir_new("test_tsr_cas");
    snprintf(fixture->cas_dir, sizeof fixture->cas_dir, "%s/cas", fixture->dir);
    *state = fixture;
    return 0;
}

static int
s_setup(void **state)
{
    s_make_scratch(state);
    fixture_t *fixture = *state;
    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, fixture->cas_dir, TEST_MAP_BYTES), TSR_OK);
    return 0;
}

static int
s_remove_entry(const char *path, const struct stat *entry_stat, int type, struct FTW *walk)
{
    (void)entry_stat;
    (void)type;
    (void)walk;
    return remove(path);
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    tsr_cas_destroy(&fixture->cas);
    assert_null(fixture->cas);
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

//  Deterministic content of `size` bytes; `seed` makes distinct blobs
static uint8_t *
s_pattern(size_t size, uint32_t seed)
{
    uint8_t *bytes = malloc(size ? size : 1);
    assert_non_null(bytes);
    uint32_t state = 2463534242u ^ (seed * 2654435761u);
    for (size_t index = 0; index < size; index++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes[index] = (uint8_t)state;
    }
    return bytes;
}

//  Store `size` pattern bytes under `seed`; returns the digest
static tsr_digest_t
s_put_pattern(tsr_cas_t *cas, size_t size, uint32_t seed)
{
    uint8_t *bytes = s_pattern(size, seed);
    tsr_digest_t digest;
    assert_int_equal(tsr_cas_put_buffer(cas, bytes, size, &digest), TSR_OK);
    free(bytes);
    return digest;
}

static void
s_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    if (size)
        assert_int_equal(fwrite(bytes, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

//  Change the stored bytes of the first blob in "cas.blobs", behind the
//  store's back: flip one byte, or (truncate) drop the last one
static void
s_corrupt_first_blob(tsr_cas_t *cas, bool truncate)
{
    MDB_env *env = tsr_cas_env(cas);
    assert_non_null(env);
    MDB_txn *txn = NULL;
    MDB_dbi blobs_dbi;
    MDB_cursor *cursor = NULL;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), MDB_SUCCESS);
    assert_int_equal(mdb_dbi_open(txn, "cas.blobs", 0, &blobs_dbi), MDB_SUCCESS);
    assert_int_equal(mdb_cursor_open(txn, blobs_dbi, &cursor), MDB_SUCCESS);
    MDB_val key, value;
    assert_int_equal(mdb_cursor_get(cursor, &key, &value, MDB_FIRST), MDB_SUCCESS);
    size_t size = value.mv_size;
    assert_true(size > 0);
    uint8_t *bytes = malloc(size);
    assert_non_null(bytes);
    memcpy(bytes, value.mv_data, size);
    bytes[size / 2] ^= 0x01;
    MDB_val changed = {.mv_size = truncate ? size - 1 : size, .mv_data = bytes};
    uint8_t key_bytes[64];
    assert_true(key.mv_size <= sizeof key_bytes);
    memcpy(key_bytes, key.mv_data, key.mv_size);
    MDB_val key_copy = {.mv_size = key.mv_size, .mv_data = key_bytes};
    mdb_cursor_close(cursor);
    assert_int_equal(mdb_put(txn, blobs_dbi, &key_copy, &changed, 0), MDB_SUCCESS);
    assert_int_equal(mdb_txn_commit(txn), MDB_SUCCESS);
    free(bytes);
}

static void
test_cas_put_get_round_trip(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 100000;
    uint8_t *bytes = s_pattern(size, 1);
    tsr_digest_t digest;
    tsr_digest_buffer(bytes, size, &digest);
    assert_false(tsr_cas_has(fixture->cas, &digest));
    assert_int_equal(tsr_cas_put(fixture->cas, &digest, bytes, size), TSR_OK);
    assert_true(tsr_cas_has(fixture->cas, &digest));
    assert_int_equal(tsr_cas_count(fixture->cas), 1);
    assert_int_equal(tsr_cas_size(fixture->cas), size);

    void *copy = NULL;
    size_t copy_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, true, &copy, &copy_size), TSR_OK);
    assert_int_equal(copy_size, size);
    assert_memory_equal(copy, bytes, size);
    free(copy);

    //  Storing it again changes nothing
    tsr_digest_t again;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, bytes, size, &again), TSR_OK);
    assert_true(tsr_digest_eq(&digest, &again));
    assert_int_equal(tsr_cas_count(fixture->cas), 1);
    assert_int_equal(tsr_cas_size(fixture->cas), size);

    //  The empty blob is a blob too
    tsr_digest_t empty;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, "", 0, &empty), TSR_OK);
    assert_int_equal(tsr_cas_get(fixture->cas, &empty, true, &copy, &copy_size), TSR_OK);
    assert_non_null(copy);
    assert_int_equal(copy_size, 0);
    free(copy);
    assert_int_equal(tsr_cas_count(fixture->cas), 2);
    free(bytes);
}

static void
test_cas_has_and_delete(void **state)
{
    fixture_t *fixture = *state;
    tsr_digest_t first = s_put_pattern(fixture->cas, 5000, 1);
    tsr_digest_t second = s_put_pattern(fixture->cas, 7000, 2);
    assert_true(tsr_cas_has(fixture->cas, &first));
    assert_true(tsr_cas_has(fixture->cas, &second));

    assert_int_equal(tsr_cas_delete(fixture->cas, &first), TSR_OK);
    assert_false(tsr_cas_has(fixture->cas, &first));
    assert_true(tsr_cas_has(fixture->cas, &second));
    assert_int_equal(tsr_cas_count(fixture->cas), 1);
    assert_int_equal(tsr_cas_size(fixture->cas), 7000);
    assert_int_equal(tsr_cas_delete(fixture->cas, &first), TSR_ENOTFOUND);

    void *copy = NULL;
    size_t copy_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &first, true, &copy, &copy_size), TSR_ENOTFOUND);
    assert_null(copy);

    //  The size is part of the name: the same hash with another size is absent
    tsr_digest_t other_size = second;
    other_size.size++;
    assert_false(tsr_cas_has(fixture->cas, &other_size));
    assert_int_equal(tsr_cas_delete(fixture->cas, &other_size), TSR_ENOTFOUND);

    assert_int_equal(tsr_cas_delete(fixture->cas, &second), TSR_OK);
    assert_int_equal(tsr_cas_count(fixture->cas), 0);
    assert_int_equal(tsr_cas_size(fixture->cas), 0);
}

static void
test_cas_put_rejects_bad_digest(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 4096;
    uint8_t *bytes = s_pattern(size, 1);
    uint8_t *other = s_pattern(size, 2);
    tsr_digest_t digest_of_other;
    tsr_digest_buffer(other, size, &digest_of_other);

    assert_int_equal(tsr_cas_put(fixture->cas, &digest_of_other, bytes, size), TSR_ECORRUPT);
    assert_false(tsr_cas_has(fixture->cas, &digest_of_other));

    //  The right hash with the wrong size is refused too
    tsr_digest_t wrong_size;
    tsr_digest_buffer(bytes, size, &wrong_size);
    wrong_size.size = size + 1;
    assert_int_equal(tsr_cas_put(fixture->cas, &wrong_size, bytes, size), TSR_ECORRUPT);

    assert_int_equal(tsr_cas_count(fixture->cas), 0);
    assert_int_equal(tsr_cas_size(fixture->cas), 0);
    free(bytes);
    free(other);
}

static void
test_cas_get_detects_corrupt_blob(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 20000;
    uint8_t *bytes = s_pattern(size, 1);
    tsr_digest_t digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, bytes, size, &digest), TSR_OK);
    s_corrupt_first_blob(fixture->cas, false);

    //  Unverified, the flipped byte comes back as stored
    void *copy = NULL;
    size_t copy_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, false, &copy, &copy_size), TSR_OK);
    assert_int_equal(copy_size, size);
    assert_memory_not_equal(copy, bytes, size);
    free(copy);

    //  Verified, it is refused, and removed
    copy = NULL;
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, true, &copy, &copy_size), TSR_ECORRUPT);
    assert_null(copy);
    assert_false(tsr_cas_has(fixture->cas, &digest));
    assert_int_equal(tsr_cas_count(fixture->cas), 0);
    assert_int_equal(tsr_cas_size(fixture->cas), 0);

    //  so a good copy can be stored again
    assert_int_equal(tsr_cas_put(fixture->cas, &digest, bytes, size), TSR_OK);
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, true, &copy, &copy_size), TSR_OK);
    assert_memory_equal(copy, bytes, size);
    free(copy);

    //  A stored length that differs from the digest's size is caught unverified
    s_corrupt_first_blob(fixture->cas, true);
    copy = NULL;
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, false, &copy, &copy_size), TSR_ECORRUPT);
    assert_null(copy);
    assert_false(tsr_cas_has(fixture->cas, &digest));
    free(bytes);
}

static void
test_cas_write_file_refuses_corrupt_blob(void **state)
{
    fixture_t *fixture = *state;
    tsr_digest_t digest = s_put_pattern(fixture->cas, 3000, 1);
    s_corrupt_first_blob(fixture->cas, false);
    char path[4300];
    snprintf(path, sizeof path, "%s/out", fixture->dir);
    assert_int_equal(tsr_cas_write_file(fixture->cas, &digest, path, 0644), TSR_ECORRUPT);
    assert_int_equal(access(path, F_OK), -1); //  no file left behind
    assert_false(tsr_cas_has(fixture->cas, &digest));
}

static void
test_cas_read_at_offsets(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 10000;
    uint8_t *bytes = s_pattern(size, 1);
    tsr_digest_t digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, bytes, size, &digest), TSR_OK);

    //  Chunks of 4096 cover the blob exactly once, the last one short
    uint8_t chunk[4096];
    size_t got = 0;
    uint64_t offset = 0;
    while (offset < size) {
        assert_int_equal(tsr_cas_read(fixture->cas, &digest, offset, chunk, sizeof chunk, &got),
                         TSR_OK);
        size_t want = size - offset < sizeof chunk ? size - offset : sizeof chunk;
        assert_int_equal(got, want);
        assert_memory_equal(chunk, bytes + offset, got);
        offset += got;
    }
    assert_int_equal(offset, size);

    //  At the end and past it: nothing, not an error
    got = 99;
    assert_int_equal(tsr_cas_read(fixture->cas, &digest, size, chunk, sizeof chunk, &got), TSR_OK);
    assert_int_equal(got, 0);
    got = 99;
    assert_int_equal(tsr_cas_read(fixture->cas, &digest, size + 12345, chunk, sizeof chunk, &got),
                     TSR_OK);
    assert_int_equal(got, 0);
    got = 99;
    assert_int_equal(tsr_cas_read(fixture->cas, &digest, UINT64_MAX, chunk, sizeof chunk, &got),
                     TSR_OK);
    assert_int_equal(got, 0);

    //  One byte from the middle
    assert_int_equal(tsr_cas_read(fixture->cas, &digest, 5000, chunk, 1, &got), TSR_OK);
    assert_int_equal(got, 1);
    assert_int_equal(chunk[0], bytes[5000]);

    tsr_digest_t absent;
    tsr_digest_buffer("absent", 6, &absent);
    assert_int_equal(tsr_cas_read(fixture->cas, &absent, 0, chunk, sizeof chunk, &got),
                     TSR_ENOTFOUND);
    free(bytes);
}

static void
test_cas_put_file_checks_expect(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 150000;
    uint8_t *bytes = s_pattern(size, 1);
    char path[4300];
    snprintf(path, sizeof path, "%s/input", fixture->dir);
    s_write_file(path, bytes, size);
    tsr_digest_t digest, wrong, stored;
    tsr_digest_buffer(bytes, size, &digest);
    tsr_digest_buffer("something else", 14, &wrong);

    memset(&stored, 0, sizeof stored);
    assert_int_equal(tsr_cas_put_file(fixture->cas, path, &wrong, &stored), TSR_ECORRUPT);
    assert_false(tsr_cas_has(fixture->cas, &digest));
    assert_false(tsr_cas_has(fixture->cas, &wrong));
    assert_int_equal(tsr_cas_count(fixture->cas), 0);

    //  The right hash with the wrong size is a mismatch as well
    tsr_digest_t wrong_size = digest;
    wrong_size.size--;
    assert_int_equal(tsr_cas_put_file(fixture->cas, path, &wrong_size, NULL), TSR_ECORRUPT);
    assert_int_equal(tsr_cas_count(fixture->cas), 0);

    assert_int_equal(tsr_cas_put_file(fixture->cas, path, &digest, &stored), TSR_OK);
    assert_true(tsr_digest_eq(&digest, &stored));
    void *copy = NULL;
    size_t copy_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, true, &copy, &copy_size), TSR_OK);
    assert_int_equal(copy_size, size);
    assert_memory_equal(copy, bytes, size);
    free(copy);

    //  Without an expectation the computed digest is reported
    s_write_file(path, "abc", 3);
    tsr_digest_t abc;
    tsr_digest_buffer("abc", 3, &abc);
    assert_int_equal(tsr_cas_put_file(fixture->cas, path, NULL, &stored), TSR_OK);
    assert_true(tsr_digest_eq(&abc, &stored));
    assert_true(tsr_cas_has(fixture->cas, &abc));

    //  Not a readable regular file
    char absent[4300];
    snprintf(absent, sizeof absent, "%s/absent", fixture->dir);
    assert_int_equal(tsr_cas_put_file(fixture->cas, absent, NULL, NULL), -ENOENT);
    assert_int_equal(tsr_cas_put_file(fixture->cas, fixture->dir, NULL, NULL), -EISDIR);
    free(bytes);
}

static void
test_cas_write_file_creates_new_file(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 70000;
    uint8_t *bytes = s_pattern(size, 1);
    tsr_digest_t digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, bytes, size, &digest), TSR_OK);
    char path[4300];
    snprintf(path, sizeof path, "%s/out", fixture->dir);

    //  Exact permission bits, whatever the umask; special bits dropped
    mode_t old_umask = umask(0077);
    assert_int_equal(tsr_cas_write_file(fixture->cas, &digest, path, 04755), TSR_OK);
    umask(old_umask);
    struct stat file_stat;
    assert_int_equal(stat(path, &file_stat), 0);
    assert_int_equal(file_stat.st_mode & 07777, 0755);
    assert_int_equal(file_stat.st_size, size);
    tsr_digest_t written;
    assert_int_equal(tsr_digest_file(path, &written), TSR_OK);
    assert_true(tsr_digest_eq(&digest, &written));

    //  Never over an existing file
    assert_int_equal(tsr_cas_write_file(fixture->cas, &digest, path, 0644), -EEXIST);
    assert_int_equal(stat(path, &file_stat), 0);
    assert_int_equal(file_stat.st_mode & 07777, 0755);

    //  An absent blob creates no file
    char other[4300];
    snprintf(other, sizeof other, "%s/other", fixture->dir);
    tsr_digest_t absent;
    tsr_digest_buffer("absent", 6, &absent);
    assert_int_equal(tsr_cas_write_file(fixture->cas, &absent, other, 0644), TSR_ENOTFOUND);
    assert_int_equal(access(other, F_OK), -1);
    free(bytes);
}

static void
test_cas_evicts_least_recently_used(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 1000;
    tsr_cas_set_limit(fixture->cas, 3 * size);
    tsr_digest_t blob_a = s_put_pattern(fixture->cas, size, 'A');
    tsr_digest_t blob_b = s_put_pattern(fixture->cas, size, 'B');
    tsr_digest_t blob_c = s_put_pattern(fixture->cas, size, 'C');
    assert_int_equal(tsr_cas_count(fixture->cas), 3);

    //  Using A makes B the least recently used
    void *copy = NULL;
    size_t copy_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &blob_a, true, &copy, &copy_size), TSR_OK);
    free(copy);

    tsr_digest_t blob_d = s_put_pattern(fixture->cas, size, 'D');
    assert_true(tsr_cas_has(fixture->cas, &blob_a));
    assert_false(tsr_cas_has(fixture->cas, &blob_b));
    assert_true(tsr_cas_has(fixture->cas, &blob_c));
    assert_true(tsr_cas_has(fixture->cas, &blob_d));
    assert_int_equal(tsr_cas_count(fixture->cas), 3);
    assert_int_equal(tsr_cas_size(fixture->cas), 3 * size);

    //  Now C is oldest; a read at offset 0 counts as a use, so A goes next
    uint8_t chunk[16];
    size_t got = 0;
    assert_int_equal(tsr_cas_read(fixture->cas, &blob_c, 0, chunk, sizeof chunk, &got), TSR_OK);
    tsr_digest_t blob_e = s_put_pattern(fixture->cas, size, 'E');
    assert_true(tsr_cas_has(fixture->cas, &blob_c));
    assert_false(tsr_cas_has(fixture->cas, &blob_a));
    assert_true(tsr_cas_has(fixture->cas, &blob_d));
    assert_true(tsr_cas_has(fixture->cas, &blob_e));

    //  A blob larger than the budget is refused without evicting anything
    uint8_t *big = s_pattern(4 * size, 'F');
    tsr_digest_t big_digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, big, 4 * size, &big_digest), TSR_EFULL);
    assert_false(tsr_cas_has(fixture->cas, &big_digest));
    assert_int_equal(tsr_cas_count(fixture->cas), 3);
    free(big);
}

static void
test_cas_map_full_evicts_then_refuses_oversize(void **state)
{
    fixture_t *fixture = *state;
    //  Reopen on a 1 MiB map with a budget the map cannot hold: only
    //  MDB_MAP_FULL can make room
    tsr_cas_destroy(&fixture->cas);
    nftw(fixture->cas_dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    size_t map_bytes = 1024 * 1024;
    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, fixture->cas_dir, map_bytes), TSR_OK);
    tsr_cas_set_limit(fixture->cas, 100 * map_bytes);

    size_t size = 100 * 1024;
    enum { BLOB_COUNT = 40 };
    tsr_digest_t digests[BLOB_COUNT];
    uint64_t count_before = 0;
    for (uint32_t index = 0; index < BLOB_COUNT; index++) {
        digests[index] = s_put_pattern(fixture->cas, size, index);
        assert_true(tsr_cas_has(fixture->cas, &digests[index]));
        assert_true(tsr_cas_size(fixture->cas) < map_bytes);
        //  No gross over-eviction: a put costs at most two older blobs
        uint64_t count_after = tsr_cas_count(fixture->cas);
        assert_true(count_after + 1 >= count_before);
        count_before = count_after;
    }
    //  Old blobs made way; the newest are all there and intact
    assert_false(tsr_cas_has(fixture->cas, &digests[0]));
    uint64_t count = tsr_cas_count(fixture->cas);
    assert_true(count >= 2 && count < 10);
    assert_int_equal(tsr_cas_size(fixture->cas), count * size);
    for (uint32_t index = BLOB_COUNT - (uint32_t)count; index < BLOB_COUNT; index++) {
        void *copy = NULL;
        size_t copy_size = 0;
        assert_int_equal(tsr_cas_get(fixture->cas, &digests[index], true, &copy, &copy_size),
                         TSR_OK);
        free(copy);
    }

    //  Bigger than the whole map: refused cleanly, nothing evicted for it
    size_t huge_size = 2 * map_bytes;
    uint8_t *huge = s_pattern(huge_size, 999);
    tsr_digest_t huge_digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, huge, huge_size, &huge_digest), TSR_EFULL);
    assert_false(tsr_cas_has(fixture->cas, &huge_digest));
    assert_int_equal(tsr_cas_count(fixture->cas), count);
    free(huge);

    //  Nearly the whole map: everything is evicted trying, then TSR_EFULL
    size_t nearly_size = map_bytes - 4096;
    uint8_t *nearly = s_pattern(nearly_size, 998);
    tsr_digest_t nearly_digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, nearly, nearly_size, &nearly_digest),
                     TSR_EFULL);
    assert_false(tsr_cas_has(fixture->cas, &nearly_digest));
    free(nearly);

    //  and the store still works
    tsr_digest_t after = s_put_pattern(fixture->cas, size, 1000);
    assert_true(tsr_cas_has(fixture->cas, &after));
}

static void
test_cas_persists_across_reopen(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 1000;
    tsr_digest_t blob_a = s_put_pattern(fixture->cas, size, 'A');
    tsr_digest_t blob_b = s_put_pattern(fixture->cas, size, 'B');
    void *copy = NULL;
    size_t copy_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &blob_a, true, &copy, &copy_size), TSR_OK);
    free(copy);
    tsr_cas_destroy(&fixture->cas);

    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, fixture->cas_dir, TEST_MAP_BYTES), TSR_OK);
    assert_int_equal(tsr_cas_count(fixture->cas), 2);
    assert_int_equal(tsr_cas_size(fixture->cas), 2 * size);
    //  The use order survived too: B is evicted first
    tsr_cas_set_limit(fixture->cas, 2 * size);
    tsr_digest_t blob_c = s_put_pattern(fixture->cas, size, 'C');
    assert_true(tsr_cas_has(fixture->cas, &blob_a));
    assert_false(tsr_cas_has(fixture->cas, &blob_b));
    assert_true(tsr_cas_has(fixture->cas, &blob_c));
}

static void
test_cas_env_has_room_for_other_databases(void **state)
{
    fixture_t *fixture = *state;
    MDB_env *env = tsr_cas_env(fixture->cas);
    assert_non_null(env);
    MDB_txn *txn = NULL;
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), MDB_SUCCESS);
    for (int index = 0; index < 16; index++) {
        char name[32];
        snprintf(name, sizeof name, "other.%d", index);
        MDB_dbi dbi;
        assert_int_equal(mdb_dbi_open(txn, name, MDB_CREATE, &dbi), MDB_SUCCESS);
        MDB_val key = {.mv_size = 3, .mv_data = "key"};
        MDB_val value = {.mv_size = 5, .mv_data = "value"};
        assert_int_equal(mdb_put(txn, dbi, &key, &value, 0), MDB_SUCCESS);
    }
    assert_int_equal(mdb_txn_commit(txn), MDB_SUCCESS);
    //  and the store is unaffected
    tsr_digest_t digest = s_put_pattern(fixture->cas, 100, 1);
    assert_true(tsr_cas_has(fixture->cas, &digest));
    assert_int_equal(tsr_cas_count(fixture->cas), 1);
}

static void
test_cas_open_reports_errors(void **state)
{
    fixture_t *fixture = *state;
    tsr_cas_t *cas = tsr_cas_new();
    char path[4300];
    snprintf(path, sizeof path, "%s/no/such/parent", fixture->dir);
    assert_int_equal(tsr_cas_open(cas, path, TEST_MAP_BYTES), -ENOENT);
    assert_null(tsr_cas_env(cas));

    //  A regular file where the directory should be
    snprintf(path, sizeof path, "%s/file", fixture->dir);
    s_write_file(path, "x", 1);
    assert_int_equal(tsr_cas_open(cas, path, TEST_MAP_BYTES), -ENOTDIR);
    assert_null(tsr_cas_env(cas));
    tsr_cas_destroy(&cas);
    assert_null(cas);
    tsr_cas_destroy(&cas); //  NULL-safe
}

//  Content the child stores, so the parent knows its digest
#define CHILD_CONTENT "stored by the child process"

//  Child side of the two-process test: wait for the parent's digest on
//  `read_fd`, open the same directory, verify that blob, store one of its
//  own. Exit status 0 on success, else the step that failed. No cmocka here.
static int
s_child_main(const char *cas_dir, int read_fd)
{
    char text[TSR_DIGEST_STR_LEN];
    size_t have = 0;
    while (have < sizeof text - 1) {
        ssize_t got = read(read_fd, text + have, sizeof text - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; //  parent closed its end: the text is complete
        have += (size_t)got;
    }
    text[have] = '\0';
    close(read_fd);
    tsr_digest_t parent_digest, child_digest;
    if (tsr_digest_parse(text, &parent_digest) != TSR_OK)
        return 10;
    int status = 0;
    void *copy = NULL;
    size_t copy_size = 0;
    tsr_cas_t *cas = tsr_cas_new();
    if (tsr_cas_open(cas, cas_dir, TEST_MAP_BYTES) != TSR_OK)
        status = 11;
    else if (tsr_cas_get(cas, &parent_digest, true, &copy, &copy_size) != TSR_OK)
        status = 12;
    else if (copy_size != parent_digest.size)
        status = 13;
    else if (tsr_cas_put_buffer(cas, CHILD_CONTENT, strlen(CHILD_CONTENT), &child_digest) != TSR_OK)
        status = 14;
    free(copy);
    tsr_cas_destroy(&cas);
    return status;
}

static void
test_cas_shared_between_processes(void **state)
{
    //  The child is forked before this process opens the environment: no
    //  LMDB state crosses fork() (STYLE 5.8)
    fixture_t *fixture = *state;
    assert_null(fixture->cas);
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pipe_fds[1]);
        int status = s_child_main(fixture->cas_dir, pipe_fds[0]);
        free(fixture->dir);
        free(fixture);
        _exit(status);
    }
    close(pipe_fds[0]);

    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, fixture->cas_dir, TEST_MAP_BYTES), TSR_OK);
    tsr_digest_t parent_digest = s_put_pattern(fixture->cas, 50000, 7);
    char text[TSR_DIGEST_STR_LEN];
    tsr_digest_str(&parent_digest, text);
    assert_int_equal(write(pipe_fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(pipe_fds[1]);

    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    //  What the child stored is visible here, with the environment still open
    tsr_digest_t child_digest;
    tsr_digest_buffer(CHILD_CONTENT, strlen(CHILD_CONTENT), &child_digest);
    assert_true(tsr_cas_has(fixture->cas, &child_digest));
    assert_true(tsr_cas_has(fixture->cas, &parent_digest));
    assert_int_equal(tsr_cas_count(fixture->cas), 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cas_put_get_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_has_and_delete, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_put_rejects_bad_digest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_get_detects_corrupt_blob, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_write_file_refuses_corrupt_blob, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_read_at_offsets, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_put_file_checks_expect, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_write_file_creates_new_file, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_evicts_least_recently_used, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_map_full_evicts_then_refuses_oversize, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_persists_across_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_env_has_room_for_other_databases, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_open_reports_errors, s_make_scratch, s_teardown),
        cmocka_unit_test_setup_teardown(test_cas_shared_between_processes, s_make_scratch,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
