/*  Unit tests for tsr_fetcher: chunked, credit-limited fetching into a CAS,
    against a fake coordinator that serves BlobGets from its own CAS.       */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tsr_fetcher.h"
#include "tsr_msg.h"
#include "tsr_transfer.h"
#include "tsr_testdir.h"

typedef struct {
    uint64_t req_id;
    tsr_digest_t digest;
    uint64_t offset;
    uint32_t length;
} request_t;

typedef struct {
    char *root;             //  owned scratch directory (tsr_testdir)
    char tmp_dir[300];      //  fetcher temp files
    tsr_cas_t *source;      //  the "coordinator"
    tsr_cas_t *cache;       //  the agent's
    tsr_fetcher_t *fetcher; //  under test
    zlistx_t *requests;     //  request_t sent, not yet served
    size_t max_in_flight;   //  most requests outstanding at once
    int done_count;         //  done callbacks
    int done_rc;            //  last rc
    tsr_digest_t done_digest;
    int corrupt_next; //  serve this many corrupt chunks
    bool link_down;   //  send fails
} fixture_t;

static int
s_send(void *arg, Tessera__Envelope *request)
{
    fixture_t *fixture = (fixture_t *)arg;
    if (fixture->link_down)
        return TSR_EUNREACHABLE;
    assert_int_equal(request->body_case, TESSERA__ENVELOPE__BODY_BLOB_GET);
    request_t *copy = (request_t *)zmalloc(sizeof(request_t));
    copy->req_id = request->req_id;
    assert_int_equal(tsr_msg_digest_get(request->blob_get->digest, &copy->digest), TSR_OK);
    copy->offset = request->blob_get->offset;
    copy->length = request->blob_get->length;
    assert_true(copy->length <= TSR_MSG_CHUNK_BYTES);
    zlistx_add_end(fixture->requests, copy);
    if (zlistx_size(fixture->requests) > fixture->max_in_flight)
        fixture->max_in_flight = zlistx_size(fixture->requests);
    return TSR_OK;
}

static void
s_done(void *arg, const tsr_digest_t *digest, int rc)
{
    fixture_t *fixture = (fixture_t *)arg;
    fixture->done_count++;
    fixture->done_rc = rc;
    fixture->done_digest = *digest;
}

static void
s_free_item(void **item)
{
    free(*item);
    *item = NULL;
}

//  Answer the oldest request; returns false if none was pending.
static bool
s_serve_one(fixture_t *fixture)
{
    request_t *request = (request_t *)zlistx_detach(fixture->requests, NULL);
    if (!request)
        return false;
    Tessera__Digest wire = TESSERA__DIGEST__INIT;
    tsr_msg_digest_set(&wire, &request->digest);
    Tessera__BlobChunk chunk = TESSERA__BLOB_CHUNK__INIT;
    chunk.digest = &wire;
    chunk.offset = request->offset;
    uint8_t *buffer = (uint8_t *)malloc(request->length ? request->length : 1);
    size_t got = 0;
    if (tsr_cas_read(fixture->source, &request->digest, request->offset, buffer, request->length,
                     &got) != TSR_OK)
        chunk.missing = true;
    else {
        if (fixture->corrupt_next > 0 && got > 0) {
            buffer[0] ^= 0xff;
            fixture->corrupt_next--;
        }
        chunk.data.data = buffer;
        chunk.data.len = got;
    }
    tsr_fetcher_on_chunk(fixture->fetcher, request->req_id, &chunk);
    free(buffer);
    free(request);
    return true;
}

static void
s_serve_all(fixture_t *fixture)
{
    while (s_serve_one(fixture))
        ;
}

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("fetcher");
    snprintf(fixture->tmp_dir, sizeof fixture->tmp_dir, "%s/tmp", fixture->root);
    zsys_dir_create(fixture->tmp_dir);
    char path[300];
    snprintf(path, sizeof path, "%s/source", fixture->root);
    fixture->source = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->source, path, 64u << 20), TSR_OK);
    snprintf(path, sizeof path, "%s/cache", fixture->root);
    fixture->cache = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cache, path, 64u << 20), TSR_OK);
    fixture->requests = zlistx_new();
    zlistx_set_destructor(fixture->requests, s_free_item);
    fixture->fetcher =
        tsr_fetcher_new(fixture->cache, fixture->tmp_dir, 16u << 20, s_send, s_done, fixture);
    tsr_fetcher_resume(fixture->fetcher);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_fetcher_destroy(&fixture->fetcher);
    zlistx_destroy(&fixture->requests);
    tsr_cas_destroy(&fixture->source);
    tsr_cas_destroy(&fixture->cache);
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

//  Put `size` bytes of a pattern into the source; returns its digest.
static tsr_digest_t
s_source_blob(fixture_t *fixture, size_t size, uint8_t seed)
{
    uint8_t *bytes = (uint8_t *)malloc(size ? size : 1);
    for (size_t index = 0; index < size; index++)
        bytes[index] = (uint8_t)(index * 31 + seed);
    tsr_digest_t digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->source, bytes, size, &digest), TSR_OK);
    free(bytes);
    return digest;
}

static void
test_fetcher_fetches_small_blob_in_one_chunk(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digest = s_source_blob(fixture, 1000, 1);
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    assert_int_equal(zlistx_size(fixture->requests), 1);
    //  Asking again while it is on its way sends nothing more
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    assert_int_equal(zlistx_size(fixture->requests), 1);
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_OK);
    assert_true(tsr_digest_eq(&fixture->done_digest, &digest));
    assert_true(tsr_cas_has(fixture->cache, &digest));
    assert_int_equal(tsr_fetcher_pending(fixture->fetcher), 0);
    //  Now cached: no request, no callback
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), TSR_OK);
    assert_int_equal(zlistx_size(fixture->requests), 0);
}

static void
test_fetcher_large_blob_keeps_credit_limit(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    //  10.5 chunks: more than the credit
    size_t size = 10 * TSR_MSG_CHUNK_BYTES + TSR_MSG_CHUNK_BYTES / 2;
    tsr_digest_t digest = s_source_blob(fixture, size, 2);
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    assert_int_equal(zlistx_size(fixture->requests), TSR_TRANSFER_CREDIT);
    s_serve_all(fixture);
    assert_int_equal(fixture->max_in_flight, TSR_TRANSFER_CREDIT);
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_OK);
    assert_true(tsr_cas_has(fixture->cache, &digest));
}

static void
test_fetcher_fetches_several_blobs_at_once(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digests[TSR_FETCHER_MAX_ACTIVE + 4];
    size_t count = sizeof digests / sizeof digests[0];
    for (size_t index = 0; index < count; index++) {
        digests[index] = s_source_blob(fixture, 100 + index, (uint8_t)index);
        assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digests[index]), -EAGAIN);
    }
    //  One request per active blob; the rest wait their turn
    assert_int_equal(zlistx_size(fixture->requests), TSR_FETCHER_MAX_ACTIVE);
    assert_int_equal(tsr_fetcher_pending(fixture->fetcher), count);
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, (int)count);
    for (size_t index = 0; index < count; index++)
        assert_true(tsr_cas_has(fixture->cache, &digests[index]));
}

static void
test_fetcher_refetches_corrupt_blob_once(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digest = s_source_blob(fixture, 3 * TSR_MSG_CHUNK_BYTES, 3);
    fixture->corrupt_next = 1;
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_OK);
    assert_true(tsr_cas_has(fixture->cache, &digest));
}

static void
test_fetcher_gives_up_on_blob_corrupt_twice(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digest = s_source_blob(fixture, 5000, 4);
    fixture->corrupt_next = 2;
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_ECORRUPT);
    assert_false(tsr_cas_has(fixture->cache, &digest));
    assert_int_equal(tsr_fetcher_pending(fixture->fetcher), 0);
}

static void
test_fetcher_reports_blob_the_coordinator_lacks(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digest;
    tsr_digest_buffer("not on the coordinator", 22, &digest);
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_ENOTFOUND);
}

static void
test_fetcher_resume_rerequests_and_ignores_stale_replies(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digest = s_source_blob(fixture, 2 * TSR_MSG_CHUNK_BYTES + 10, 5);
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    assert_int_equal(zlistx_size(fixture->requests), 3);
    assert_true(s_serve_one(fixture)); //  first chunk arrives
    //  The link drops: requests in flight are lost; nothing sent while down
    tsr_fetcher_pause(fixture->fetcher);
    fixture->link_down = true;
    zlistx_t *stale = fixture->requests;
    fixture->requests = zlistx_new();
    zlistx_set_destructor(fixture->requests, s_free_item);
    fixture->link_down = false;
    tsr_fetcher_resume(fixture->fetcher);
    //  Only what was not received is asked again
    assert_int_equal(zlistx_size(fixture->requests), 2);
    request_t *first = (request_t *)zlistx_first(fixture->requests);
    assert_int_equal(first->offset, TSR_MSG_CHUNK_BYTES);
    //  Replies to the old requests are ignored
    zlistx_t *fresh = fixture->requests;
    fixture->requests = stale;
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, 0);
    fixture->requests = fresh;
    zlistx_destroy(&stale);
    s_serve_all(fixture);
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_OK);
}

static void
test_fetcher_refuses_blob_over_limit_and_stores_empty_blob(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t huge;
    tsr_digest_buffer("x", 1, &huge);
    huge.size = 1ull << 40;
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &huge), TSR_ETOOBIG);
    tsr_digest_t empty;
    tsr_digest_buffer("", 0, &empty);
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &empty), TSR_OK);
    assert_true(tsr_cas_has(fixture->cache, &empty));
    assert_int_equal(zlistx_size(fixture->requests), 0);
    assert_int_equal(fixture->done_count, 0);
}

static void
test_fetcher_error_reply_fails_its_blob(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_t digest = s_source_blob(fixture, 10, 6);
    assert_int_equal(tsr_fetcher_want(fixture->fetcher, &digest), -EAGAIN);
    request_t *request = (request_t *)zlistx_first(fixture->requests);
    assert_false(tsr_fetcher_on_error(fixture->fetcher, request->req_id + 1000, TSR_EPROTO));
    assert_true(tsr_fetcher_on_error(fixture->fetcher, request->req_id, TSR_ETOOBIG));
    assert_int_equal(fixture->done_count, 1);
    assert_int_equal(fixture->done_rc, TSR_ETOOBIG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetcher_fetches_small_blob_in_one_chunk, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_large_blob_keeps_credit_limit, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_fetches_several_blobs_at_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_refetches_corrupt_blob_once, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_gives_up_on_blob_corrupt_twice, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_reports_blob_the_coordinator_lacks, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_resume_rerequests_and_ignores_stale_replies,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_refuses_blob_over_limit_and_stores_empty_blob,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_fetcher_error_reply_fails_its_blob, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
