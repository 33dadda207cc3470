/*  Unit tests for tsr_list: a sort that czmq 4.2.1's zlistx_sort gets wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tsr_list.h"

//  File names in the order readdir gave them; zlistx_sort left one pair swapped.
static const char *s_names[] = {
    "tsr_run_opts.c", "tsr_trace.h",      "tsr_submit.c",   "cmd_validate.c", "tsr_results.c",
    "tsr_progress.h", "tsr_conn.h",       "tsr_run_opts.h", "tsr_conn.c",     "main.c",
    "tsr_listing.h",  "tsr_trace.c",      "tsr_submit.h",   "tsr_output.h",   "tsr_local_plan.h",
    "cmd_run.c",      "tsr_local_plan.c", "tsr_listing.c",  "CMakeLists.txt", "tsr_local.h",
    "cmd_agents.c",   "tsr_output.c",     "cmd_cancel.c",   "tsr_results.h",  "cmd_drain.c",
    "tsr_local.c",    "tsr_progress.c",   "cmd_status.c",   "tsr_cmd.h",      "tsr_cmd.c",
    "cmd_keygen.c"};

#define NAME_COUNT (sizeof s_names / sizeof s_names[0])

static void
test_list_sort_strings_sorts_what_zlistx_sort_does_not(void **state)
{
    (void)state;
    zlistx_t *list = zlistx_new();
    zlistx_set_duplicator(list, (zlistx_duplicator_fn *)strdup);
    zlistx_set_destructor(list, (zlistx_destructor_fn *)zstr_free);
    for (size_t index = 0; index < NAME_COUNT; index++)
        zlistx_add_end(list, (void *)s_names[index]);
    tsr_list_sort_strings(list);
    assert_int_equal(zlistx_size(list), NAME_COUNT);
    const char *previous = NULL;
    for (const char *name = zlistx_first(list); name; name = zlistx_next(list)) {
        if (previous)
            assert_true(strcmp(previous, name) < 0);
        previous = name;
    }
    zlistx_destroy(&list); //  ASan: no item leaked or freed twice
}

static int
s_compare_length(const void *left, const void *right)
{
    size_t left_length = strlen((const char *)left);
    size_t right_length = strlen((const char *)right);
    return left_length < right_length ? -1 : left_length > right_length;
}

static void
test_list_sort_is_stable(void **state)
{
    (void)state;
    zlistx_t *list = zlistx_new();
    const char *items[] = {"bb", "a", "cc", "d", "ee"};
    for (size_t index = 0; index < 5; index++)
        zlistx_add_end(list, (void *)items[index]);
    tsr_list_sort(list, s_compare_length);
    const char *expected[] = {"a", "d", "bb", "cc", "ee"};
    size_t index = 0;
    for (const char *item = zlistx_first(list); item; item = zlistx_next(list))
        assert_string_equal(item, expected[index++]);
    assert_int_equal(index, 5);
    zlistx_destroy(&list);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_sort_strings_sorts_what_zlistx_sort_does_not),
        cmocka_unit_test(test_list_sort_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
