/*  Unit tests for tsr_workspace: rounds of fetching until a tree can be
    materialised, against a fake coordinator serving from its own CAS.     */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsr_msg.h"
#include "tsr_tree.h"
#include "tsr_workspace.h"
#include "tsr_testdir.h"

typedef struct {
    uint64_t req_id;
    tsr_digest_t digest;
    uint64_t offset;
    uint32_t length;
} request_t;

typedef struct {
    char *root;                 //  owned scratch directory (tsr_testdir)
    char path[320];             //  scratch
    tsr_cas_t *source;          //  the "coordinator"
    tsr_cas_t *cache;           //  the agent's
    tsr_fetcher_t *fetcher;     //  borrowed by the workspace
    tsr_workspace_t *workspace; //  under test
    tsr_digest_t tree_root;     //  the source tree
    zlistx_t *requests;         //  request_t not yet served
    size_t sent;                //  requests ever sent
    int corrupt_all;            //  serve corrupt chunks
} fixture_t;

static int
s_send(void *arg, Tessera__Envelope *request)
{
    fixture_t *fixture = (fixture_t *)arg;
    request_t *copy = (request_t *)zmalloc(sizeof(request_t));
    copy->req_id = request->req_id;
    assert_int_equal(tsr_msg_digest_get(request->blob_get->digest, &copy->digest), TSR_OK);
    copy->offset = request->blob_get->offset;
    copy->length = request->blob_get->length;
    zlistx_add_end(fixture->requests, copy);
    fixture->sent++;
    return TSR_OK;
}

static void
s_done(void *arg, const tsr_digest_t *digest, int rc)
{
    fixture_t *fixture = (fixture_t *)arg;
    if (fixture->workspace)
        tsr_workspace_on_blob(fixture->workspace, digest, rc);
}

static void
s_free_item(void **item)
{
    free(*item);
    *item = NULL;
}

static void
s_serve_all(fixture_t *fixture)
{
    request_t *request;
    while ((request = (request_t *)zlistx_detach(fixture->requests, NULL))) {
        Tessera__Digest wire = TESSERA__DIGEST__INIT;
        tsr_msg_digest_set(&wire, &request->digest);
        Tessera__BlobChunk chunk = TESSERA__BLOB_CHUNK__INIT;
        chunk.digest = &wire;
        chunk.offset = request->offset;
        uint8_t *buffer = (uint8_t *)malloc(request->length ? request->length : 1);
        size_t got = 0;
        if (tsr_cas_read(fixture->source, &request->digest, request->offset, buffer,
                         request->length, &got) != TSR_OK)
            chunk.missing = true;
        if (fixture->corrupt_all && got > 0)
            buffer[got - 1] ^= 0x55;
        chunk.data.data = buffer;
        chunk.data.len = got;
        tsr_fetcher_on_chunk(fixture->fetcher, request->req_id, &chunk);
        free(buffer);
        free(request);
    }
}

static void
s_write(fixture_t *fixture, const char *relpath, const char *content)
{
    snprintf(fixture->path, sizeof fixture->path, "%s/src/%s", fixture->root, relpath);
    FILE *file = fopen(fixture->path, "w");
    assert_non_null(file);
    fputs(content, file);
    fclose(file);
}

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("workspace");
    snprintf(fixture->path, sizeof fixture->path, "%s/src/pkg/deep", fixture->root);
    zsys_dir_create(fixture->path);
    snprintf(fixture->path, sizeof fixture->path, "%s/tmp", fixture->root);
    zsys_dir_create(fixture->path);
    s_write(fixture, "README", "hello\n");
    s_write(fixture, "pkg/mod.py", "print('mod')\n");
    s_write(fixture, "pkg/deep/data.txt", "deep data\n");
    s_write(fixture, "pkg/empty", "");

    fixture->source = tsr_cas_new();
    snprintf(fixture->path, sizeof fixture->path, "%s/source", fixture->root);
    assert_int_equal(tsr_cas_open(fixture->source, fixture->path, 64u << 20), TSR_OK);
    tsr_tree_t *tree = tsr_tree_new();
    snprintf(fixture->path, sizeof fixture->path, "%s/src", fixture->root);
    assert_int_equal(tsr_tree_scan(tree, fixture->path, NULL), TSR_OK);
    assert_int_equal(tsr_tree_store(tree, fixture->source), TSR_OK);
    fixture->tree_root = *tsr_tree_root(tree);
    tsr_tree_destroy(&tree);

    fixture->cache = tsr_cas_new();
    snprintf(fixture->path, sizeof fixture->path, "%s/cache", fixture->root);
    assert_int_equal(tsr_cas_open(fixture->cache, fixture->path, 64u << 20), TSR_OK);
    fixture->requests = zlistx_new();
    zlistx_set_destructor(fixture->requests, s_free_item);
    snprintf(fixture->path, sizeof fixture->path, "%s/tmp", fixture->root);
    fixture->fetcher =
        tsr_fetcher_new(fixture->cache, fixture->path, 16u << 20, s_send, s_done, fixture);
    tsr_fetcher_resume(fixture->fetcher);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_workspace_destroy(&fixture->workspace);
    tsr_fetcher_destroy(&fixture->fetcher);
    zlistx_destroy(&fixture->requests);
    tsr_cas_destroy(&fixture->source);
    tsr_cas_destroy(&fixture->cache);
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

//  Step and serve until the workspace is done or fails; returns its code.
static int
s_materialise(fixture_t *fixture, const char *dir_name, int *rounds_out)
{
    snprintf(fixture->path, sizeof fixture->path, "%s/%s", fixture->root, dir_name);
    fixture->workspace =
        tsr_workspace_new(fixture->cache, fixture->fetcher, &fixture->tree_root, fixture->path);
    int rounds = 0;
    int rc;
    while ((rc = tsr_workspace_step(fixture->workspace)) == -EAGAIN) {
        rounds++;
        assert_true(rounds < 20);
        s_serve_all(fixture);
        assert_false(tsr_workspace_is_waiting(fixture->workspace));
    }
    if (rounds_out)
        *rounds_out = rounds;
    return rc;
}

static void
s_assert_file(fixture_t *fixture, const char *dir_name, const char *relpath, const char *content)
{
    snprintf(fixture->path, sizeof fixture->path, "%s/%s/%s", fixture->root, dir_name, relpath);
    FILE *file = fopen(fixture->path, "r");
    assert_non_null(file);
    char text[128] = "";
    size_t length = fread(text, 1, sizeof text - 1, file);
    text[length] = 0;
    fclose(file);
    assert_string_equal(text, content);
}

static void
test_workspace_fetches_level_by_level_then_materialises(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    int rounds = 0;
    assert_int_equal(s_materialise(fixture, "ws1", &rounds), TSR_OK);
    //  root tree, then pkg/ + README, then pkg/deep/ + mod.py, then data.txt
    assert_true(rounds >= 3);
    s_assert_file(fixture, "ws1", "README", "hello\n");
    s_assert_file(fixture, "ws1", "pkg/mod.py", "print('mod')\n");
    s_assert_file(fixture, "ws1", "pkg/deep/data.txt", "deep data\n");
    s_assert_file(fixture, "ws1", "pkg/empty", "");
    assert_true(tsr_workspace_fetched_blobs(fixture->workspace) >= 5);
    assert_true(tsr_workspace_fetched_bytes(fixture->workspace) > 0);
}

static void
test_workspace_all_cached_needs_no_round_trip(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    assert_int_equal(s_materialise(fixture, "ws1", NULL), TSR_OK);
    tsr_workspace_destroy(&fixture->workspace);
    size_t sent_before = fixture->sent;
    int rounds = -1;
    assert_int_equal(s_materialise(fixture, "ws2", &rounds), TSR_OK);
    assert_int_equal(rounds, 0);
    assert_int_equal(fixture->sent, sent_before);
    assert_int_equal(tsr_workspace_fetched_blobs(fixture->workspace), 0);
    s_assert_file(fixture, "ws2", "pkg/deep/data.txt", "deep data\n");
}

static void
test_workspace_fails_when_blob_stays_corrupt(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    fixture->corrupt_all = 1;
    assert_int_equal(s_materialise(fixture, "ws1", NULL), TSR_ECORRUPT);
    //  The failure sticks
    assert_int_equal(tsr_workspace_step(fixture->workspace), TSR_ECORRUPT);
    snprintf(fixture->path, sizeof fixture->path, "%s/ws1/README", fixture->root);
    struct stat info;
    assert_int_not_equal(stat(fixture->path, &info), 0);
}

static void
test_workspace_fails_when_coordinator_lacks_a_blob(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    tsr_digest_buffer("nobody has this tree", 20, &fixture->tree_root);
    assert_int_equal(s_materialise(fixture, "ws1", NULL), TSR_ENOTFOUND);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workspace_fetches_level_by_level_then_materialises,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workspace_all_cached_needs_no_round_trip, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_workspace_fails_when_blob_stays_corrupt, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_workspace_fails_when_coordinator_lacks_a_blob, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
