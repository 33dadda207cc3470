/*  Unit tests for tsr_detect: real tool probes (python3 is always here,
    /usr/bin/python3) and the answer cache keyed by the tool's stamp.     */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsr_detect.h"
#include "tsr_labels.h"
#include "tsr_testdir.h"

typedef struct {
    char *root;           //  owned scratch directory (tsr_testdir)
    char cache_path[300]; //  labels.json
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = (fixture_t *)zmalloc(sizeof(fixture_t));
    fixture->root = tsr_testdir_new("detect");
    snprintf(fixture->cache_path, sizeof fixture->cache_path, "%s/labels.json", fixture->root);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    unlink(fixture->cache_path);
    assert_int_equal(rmdir(fixture->root), 0); //  probes left no files behind
    free(fixture->root);
    free(fixture);
    return 0;
}

static char *
s_slurp(const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char *text = (char *)zmalloc(65536);
    size_t length = fread(text, 1, 65535, file);
    text[length] = 0;
    fclose(file);
    return text;
}

static void
s_spit(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
}

//  Replace the first `from` in the file with `to`.
static void
s_edit(const char *path, const char *from, const char *to)
{
    char *text = s_slurp(path);
    char *found = strstr(text, from);
    assert_non_null(found);
    char *edited = zsys_sprintf("%.*s%s%s", (int)(found - text), text, to, found + strlen(from));
    s_spit(path, edited);
    free(edited);
    free(text);
}

static void
test_detect_finds_python3_version(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zhashx_t *labels = tsr_labels_new();
    assert_int_equal(tsr_detect_tools(labels, NULL, fixture->root, 0), TSR_OK);
    const char *version = (const char *)zhashx_lookup(labels, "python3");
    assert_non_null(version);
    assert_true(version[0] >= '3');
    assert_non_null(strchr(version, '.'));
    //  Only known labels are added
    for (const char *value = (const char *)zhashx_first(labels); value;
         value = (const char *)zhashx_next(labels)) {
        const char *key = (const char *)zhashx_cursor(labels);
        assert_true(streq(key, "python3") || streq(key, "pytest") || streq(key, "cargo") ||
                    streq(key, "rustc") || streq(key, "node") || streq(key, "npm"));
    }
    zhashx_destroy(&labels);
}

static void
test_detect_uses_cache_while_stamp_matches(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    zhashx_t *labels = tsr_labels_new();
    assert_int_equal(tsr_detect_tools(labels, fixture->cache_path, fixture->root, 0), TSR_OK);
    char *real = strdup((const char *)zhashx_lookup(labels, "python3"));
    zhashx_destroy(&labels);
    //  A cached answer is used as is: prove it with a version no probe gives
    char *from = zsys_sprintf("\"version\":\t\"%s\"", real);
    s_edit(fixture->cache_path, from, "\"version\":\t\"0.0.1\"");
    labels = tsr_labels_new();
    assert_int_equal(tsr_detect_tools(labels, fixture->cache_path, fixture->root, 0), TSR_OK);
    assert_string_equal(zhashx_lookup(labels, "python3"), "0.0.1");
    zhashx_destroy(&labels);
    //  A different stamp (the tool changed) is probed again
    s_edit(fixture->cache_path, "\"stamp\":\t\"/", "\"stamp\":\t\"changed/");
    labels = tsr_labels_new();
    assert_int_equal(tsr_detect_tools(labels, fixture->cache_path, fixture->root, 0), TSR_OK);
    assert_string_equal(zhashx_lookup(labels, "python3"), real);
    zhashx_destroy(&labels);
    free(from);
    free(real);
}

static void
test_detect_survives_garbage_cache(void **state)
{
    fixture_t *fixture = (fixture_t *)*state;
    s_spit(fixture->cache_path, "{not json at all");
    zhashx_t *labels = tsr_labels_new();
    assert_int_equal(tsr_detect_tools(labels, fixture->cache_path, fixture->root, 0), TSR_OK);
    assert_non_null(zhashx_lookup(labels, "python3"));
    zhashx_destroy(&labels);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_detect_finds_python3_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_detect_uses_cache_while_stamp_matches, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_detect_survives_garbage_cache, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
