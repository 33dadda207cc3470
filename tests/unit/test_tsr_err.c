/*  Unit tests for tsr_err: every code has a distinct name and text.       */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "tsr_err.h"

static void
test_err_names_and_texts(void **state)
{
    (void)state;
    assert_string_equal(tsr_err_name(TSR_ECORRUPT), "TSR_ECORRUPT");
    assert_string_equal(tsr_strerror(TSR_ECORRUPT), "content does not match its digest");
    assert_string_equal(tsr_err_name(TSR_OK), "TSR_OK");
    assert_string_equal(tsr_err_name(-ENOENT), "ENOENT");
    assert_string_equal(tsr_strerror(-ENOENT), strerror(ENOENT));
}

static void
test_err_codes_are_distinct(void **state)
{
    (void)state;
    static const int codes[] = {
#define TSR_ERR_CODE(name, code, text) code,
        TSR_ERR_MAP(TSR_ERR_CODE)
#undef TSR_ERR_CODE
    };
    size_t count = sizeof codes / sizeof codes[0];
    for (size_t outer = 0; outer < count; outer++) {
        assert_true(codes[outer] < -1000); //  never collides with -errno
        for (size_t inner = outer + 1; inner < count; inner++)
            assert_int_not_equal(codes[outer], codes[inner]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names_and_texts),
        cmocka_unit_test(test_err_codes_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
