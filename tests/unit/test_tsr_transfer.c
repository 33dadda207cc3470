/*  Unit tests for tsr_transfer: ordered chunks, verification, storage.    */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_msg.h"
#include "tsr_transfer.h"
#include "tsr_testdir.h"

typedef struct {
    char *dir;      //  temp root
    tsr_cas_t *cas; //  opened in dir/cas
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    fixture->dir = tsr_testdir_new("transfer");
    char *cas_dir = zsys_sprintf("%s/cas", fixture->dir);
    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, cas_dir, 64u << 20), TSR_OK);
    zstr_free(&cas_dir);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    tsr_cas_destroy(&fixture->cas);
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

//  A blob of `size` pseudo-random bytes.
static uint8_t *
s_blob(size_t size, unsigned seed)
{
    uint8_t *data = malloc(size ? size : 1);
    for (size_t index = 0; index < size; index++)
        data[index] = (uint8_t)((index * 2654435761u + seed) >> 7);
    return data;
}

static void
s_send_in_chunks(tsr_transfer_t *transfer, const uint8_t *data, size_t size, size_t chunk)
{
    size_t offset = 0;
    do {
        size_t length = size - offset < chunk ? size - offset : chunk;
        assert_int_equal(tsr_transfer_write(transfer, offset, data + offset, length), TSR_OK);
        offset += length;
    } while (offset < size);
}

static void
test_transfer_small_blob_is_stored(void **state)
{
    fixture_t *fixture = *state;
    uint8_t *data = s_blob(1000, 1);
    tsr_digest_t digest;
    tsr_digest_buffer(data, 1000, &digest);
    tsr_transfer_t *transfer = tsr_transfer_new(fixture->cas, &digest, fixture->dir, 1u << 30);
    assert_non_null(transfer);
    s_send_in_chunks(transfer, data, 1000, 300);
    assert_true(tsr_transfer_is_done(transfer));
    assert_true(tsr_cas_has(fixture->cas, &digest));
    tsr_transfer_destroy(&transfer);
    free(data);
}

static void
test_transfer_large_blob_streams_through_temp_file(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 3 * TSR_MSG_CHUNK_BYTES + 17;
    uint8_t *data = s_blob(size, 2);
    tsr_digest_t digest;
    tsr_digest_buffer(data, size, &digest);
    tsr_transfer_t *transfer = tsr_transfer_new(fixture->cas, &digest, fixture->dir, 1u << 30);
    assert_non_null(transfer);
    s_send_in_chunks(transfer, data, size, TSR_MSG_CHUNK_BYTES);
    assert_true(tsr_transfer_is_done(transfer));
    void *stored = NULL;
    size_t stored_size = 0;
    assert_int_equal(tsr_cas_get(fixture->cas, &digest, true, &stored, &stored_size), TSR_OK);
    assert_int_equal(stored_size, size);
    assert_memory_equal(stored, data, size);
    free(stored);
    tsr_transfer_destroy(&transfer);
    free(data);
}

static void
test_transfer_rejects_corrupt_chunk(void **state)
{
    fixture_t *fixture = *state;
    size_t size = 2 * TSR_MSG_CHUNK_BYTES;
    uint8_t *data = s_blob(size, 3);
    tsr_digest_t digest;
    tsr_digest_buffer(data, size, &digest);
    data[size - 5] ^= 0x40; //  one flipped bit on the wire
    tsr_transfer_t *transfer = tsr_transfer_new(fixture->cas, &digest, fixture->dir, 1u << 30);
    assert_int_equal(tsr_transfer_write(transfer, 0, data, TSR_MSG_CHUNK_BYTES), TSR_OK);
    assert_int_equal(tsr_transfer_write(transfer, TSR_MSG_CHUNK_BYTES, data + TSR_MSG_CHUNK_BYTES,
                                        TSR_MSG_CHUNK_BYTES),
                     TSR_ECORRUPT);
    assert_false(tsr_transfer_is_done(transfer));
    assert_false(tsr_cas_has(fixture->cas, &digest));
    tsr_transfer_destroy(&transfer);
    free(data);
}

static void
test_transfer_rejects_out_of_order_and_overlong(void **state)
{
    fixture_t *fixture = *state;
    uint8_t *data = s_blob(100, 4);
    tsr_digest_t digest;
    tsr_digest_buffer(data, 100, &digest);
    tsr_transfer_t *transfer = tsr_transfer_new(fixture->cas, &digest, fixture->dir, 1u << 30);
    assert_int_equal(tsr_transfer_write(transfer, 10, data + 10, 10), TSR_EPROTO);
    tsr_transfer_destroy(&transfer);
    transfer = tsr_transfer_new(fixture->cas, &digest, fixture->dir, 1u << 30);
    uint8_t longer[101] = {0};
    assert_int_equal(tsr_transfer_write(transfer, 0, longer, sizeof longer), TSR_EPROTO);
    assert_false(tsr_cas_has(fixture->cas, &digest));
    tsr_transfer_destroy(&transfer);
    free(data);
}

static void
test_transfer_refuses_blob_over_limit(void **state)
{
    fixture_t *fixture = *state;
    tsr_digest_t digest = {.size = 1000};
    assert_null(tsr_transfer_new(fixture->cas, &digest, fixture->dir, 999));
}

static void
test_transfer_empty_blob(void **state)
{
    fixture_t *fixture = *state;
    tsr_digest_t digest;
    tsr_digest_buffer("", 0, &digest);
    tsr_transfer_t *transfer = tsr_transfer_new(fixture->cas, &digest, fixture->dir, 10);
    assert_int_equal(tsr_transfer_write(transfer, 0, "", 0), TSR_OK);
    assert_true(tsr_transfer_is_done(transfer));
    assert_true(tsr_cas_has(fixture->cas, &digest));
    tsr_transfer_destroy(&transfer);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_transfer_small_blob_is_stored, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transfer_large_blob_streams_through_temp_file, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_transfer_rejects_corrupt_chunk, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transfer_rejects_out_of_order_and_overlong, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_transfer_refuses_blob_over_limit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_transfer_empty_blob, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
