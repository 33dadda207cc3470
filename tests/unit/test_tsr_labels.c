/*  Unit tests for tsr_labels: --labels syntax, version numbers in real
    tool output, platform labels.                                          */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_labels.h"

static void
test_labels_parse_adds_pairs(void **state)
{
    (void)state;
    zhashx_t *labels = tsr_labels_new();
    char error[128];
    assert_int_equal(tsr_labels_parse("gpu=a100,zone=eu-west-1,tier=", labels, error, sizeof error),
                     TSR_OK);
    assert_int_equal(zhashx_size(labels), 3);
    assert_string_equal(zhashx_lookup(labels, "gpu"), "a100");
    assert_string_equal(zhashx_lookup(labels, "zone"), "eu-west-1");
    assert_string_equal(zhashx_lookup(labels, "tier"), "");
    char *text = tsr_labels_format(labels);
    assert_string_equal(text, "gpu=a100,tier=,zone=eu-west-1");
    free(text);
    zhashx_destroy(&labels);
}

static void
test_labels_parse_later_key_wins_and_replaces(void **state)
{
    (void)state;
    zhashx_t *labels = tsr_labels_new();
    zhashx_update(labels, "os", "linux");
    assert_int_equal(tsr_labels_parse("os=custom,os=mine", labels, NULL, 0), TSR_OK);
    assert_string_equal(zhashx_lookup(labels, "os"), "mine");
    assert_int_equal(tsr_labels_parse("", labels, NULL, 0), TSR_OK);
    assert_int_equal(tsr_labels_parse(NULL, labels, NULL, 0), TSR_OK);
    assert_int_equal(zhashx_size(labels), 1);
    zhashx_destroy(&labels);
}

static void
test_labels_parse_rejects_bad_syntax_and_adds_nothing(void **state)
{
    (void)state;
    static const char *bad[] = {
        "gpu",            //  no '='
        "=a100",          //  empty key
        "gpu=a100,",      //  trailing comma: empty item
        "a b=c",          //  space in key
        "k=v w",          //  space in value
        "ok=1,bad key=2", //  one bad item spoils all
        "k=v;rm -rf",     //  shell characters
        "k==v",           //  '=' in value
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad[0]; index++) {
        zhashx_t *labels = tsr_labels_new();
        char error[256] = "";
        assert_int_equal(tsr_labels_parse(bad[index], labels, error, sizeof error), TSR_EINVAL);
        assert_int_equal(zhashx_size(labels), 0);
        assert_true(strlen(error) > 0);
        zhashx_destroy(&labels);
    }
}

static void
test_labels_parse_rejects_overlong_key(void **state)
{
    (void)state;
    char text[200];
    memset(text, 'k', TSR_LABEL_KEY_MAX + 1);
    strcpy(text + TSR_LABEL_KEY_MAX + 1, "=v");
    zhashx_t *labels = tsr_labels_new();
    assert_int_equal(tsr_labels_parse(text, labels, NULL, 0), TSR_EINVAL);
    zhashx_destroy(&labels);
    assert_true(tsr_labels_key_is_valid("python3"));
    assert_false(tsr_labels_key_is_valid(""));
    assert_false(tsr_labels_key_is_valid("a/b"));
}

static void
test_labels_version_from_real_tool_output(void **state)
{
    (void)state;
    static const struct {
        const char *output;
        const char *version;
    } cases[] = {
        {"Python 3.11.2\n", "3.11.2"},
        {"pytest 7.2.1\n", "7.2.1"},
        {"This is pytest version 4.6.11, imported from /usr/lib/python3/pytest.py\n", "4.6.11"},
        {"cargo 1.75.0 (1d8b05cdd 2023-11-20)\n", "1.75.0"},
        {"rustc 1.75.0 (82e1608df 2023-12-21)\n", "1.75.0"},
        {"v18.19.0\n", "18.19.0"},
        {"9.2.0\n", "9.2.0"},
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        char version[32];
        assert_int_equal(tsr_labels_version(cases[index].output, version, sizeof version), TSR_OK);
        assert_string_equal(version, cases[index].version);
    }
}

static void
test_labels_version_without_number_fails(void **state)
{
    (void)state;
    char version[8];
    assert_int_equal(
        tsr_labels_version("/usr/bin/python3: No module named pytest\n", version, sizeof version),
        TSR_EPARSE);
    assert_int_equal(tsr_labels_version("", version, sizeof version), TSR_EPARSE);
    assert_int_equal(tsr_labels_version(NULL, version, sizeof version), TSR_EPARSE);
    assert_int_equal(tsr_labels_version("v2023.12.21.1234567", version, sizeof version),
                     TSR_ETOOBIG);
}

static void
test_labels_platform_gives_os_and_arch(void **state)
{
    (void)state;
    zhashx_t *labels = tsr_labels_new();
    assert_int_equal(tsr_labels_add_platform(labels), TSR_OK);
    assert_string_equal(zhashx_lookup(labels, "os"), "linux");
    assert_non_null(zhashx_lookup(labels, "arch"));
    assert_true(strlen(zhashx_lookup(labels, "arch")) > 0);
    zhashx_destroy(&labels);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_parse_adds_pairs),
        cmocka_unit_test(test_labels_parse_later_key_wins_and_replaces),
        cmocka_unit_test(test_labels_parse_rejects_bad_syntax_and_adds_nothing),
        cmocka_unit_test(test_labels_parse_rejects_overlong_key),
        cmocka_unit_test(test_labels_version_from_real_tool_output),
        cmocka_unit_test(test_labels_version_without_number_fails),
        cmocka_unit_test(test_labels_platform_gives_os_and_arch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
