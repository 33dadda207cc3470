/*  Unit tests for tsr_workdir: mkdir -p, rm -rf through read-only
    directories without following symlinks, chown -R.                      */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_workdir.h"
#include "tsr_testdir.h"

static char *s_root; //  owned scratch directory of the running test

static int
s_setup(void **state)
{
    (void)state;
    s_root = tsr_testdir_new("workdir");
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    tsr_testdir_destroy(&s_root); //  read-only directories included
    return 0;
}

static bool
s_exists(const char *path)
{
    struct stat info;
    return lstat(path, &info) == 0;
}

static void
test_workdir_create_makes_parents_and_accepts_existing(void **state)
{
    (void)state;
    char *path = zsys_sprintf("%s/a//b/c", s_root);
    assert_int_equal(tsr_workdir_create(path, 0755), TSR_OK);
    assert_true(s_exists(path));
    assert_int_equal(tsr_workdir_create(path, 0755), TSR_OK);
    free(path);
}

static void
test_workdir_create_fails_on_a_file_in_the_way(void **state)
{
    (void)state;
    char *file = zsys_sprintf("%s/file", s_root);
    FILE *stream = fopen(file, "w");
    fclose(stream);
    char *path = zsys_sprintf("%s/sub", file);
    assert_int_equal(tsr_workdir_create(path, 0755), -ENOTDIR);
    assert_int_equal(tsr_workdir_create(file, 0755), -ENOTDIR);
    free(path);
    free(file);
}

static void
test_workdir_remove_goes_through_read_only_dirs_not_symlinks(void **state)
{
    (void)state;
    char *keep = zsys_sprintf("%s/keep", s_root);
    char *keep_file = zsys_sprintf("%s/precious", keep);
    char *dir = zsys_sprintf("%s/attempt/ws/locked", s_root);
    char *inner = zsys_sprintf("%s/file", dir);
    char *link = zsys_sprintf("%s/attempt/ws/link", s_root);
    char *attempt = zsys_sprintf("%s/attempt", s_root);
    assert_int_equal(tsr_workdir_create(keep, 0755), TSR_OK);
    FILE *stream = fopen(keep_file, "w");
    fclose(stream);
    assert_int_equal(tsr_workdir_create(dir, 0755), TSR_OK);
    stream = fopen(inner, "w");
    fclose(stream);
    assert_int_equal(symlink(keep, link), 0);
    assert_int_equal(chmod(dir, 0500), 0); //  as a job might leave it
    assert_int_equal(tsr_workdir_remove(attempt), TSR_OK);
    assert_false(s_exists(attempt));
    assert_true(s_exists(keep_file));                      //  the symlink's target is untouched
    assert_int_equal(tsr_workdir_remove(attempt), TSR_OK); //  absent is fine
    free(keep);
    free(keep_file);
    free(dir);
    free(inner);
    free(link);
    free(attempt);
}

static void
test_workdir_chown_gives_the_tree_away(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char *dir = zsys_sprintf("%s/tree/sub", s_root);
    char *tree = zsys_sprintf("%s/tree", s_root);
    assert_int_equal(tsr_workdir_create(dir, 0755), TSR_OK);
    assert_int_equal(tsr_workdir_chown(tree, 65534, 65534), TSR_OK);
    struct stat info;
    assert_int_equal(stat(dir, &info), 0);
    assert_int_equal(info.st_uid, 65534);
    assert_int_equal(tsr_workdir_chown("/nonexistent/tessera", 0, 0), -ENOENT);
    free(dir);
    free(tree);
}

static void
s_expect_safe_name(const char *name, const char *expected)
{
    char *safe = tsr_workdir_safe_name(name, "default");
    assert_string_equal(safe, expected);
    free(safe);
}

static void
test_workdir_safe_name_keeps_plain_names_and_defuses_paths(void **state)
{
    (void)state;
    s_expect_safe_name("my-project_2.0", "my-project_2.0");
    s_expect_safe_name(NULL, "default");
    s_expect_safe_name("", "default");
    s_expect_safe_name("..", "_.");
    s_expect_safe_name(".hidden", "_hidden");
    s_expect_safe_name("../../etc/passwd", "_._.._etc_passwd");
    s_expect_safe_name("a/b c", "a_b_c");
    s_expect_safe_name("caf\xc3\xa9", "caf__");
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    char *safe = tsr_workdir_safe_name(long_name, "default");
    assert_int_equal(strlen(safe), 100);
    free(safe);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_workdir_create_makes_parents_and_accepts_existing,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workdir_create_fails_on_a_file_in_the_way, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(
            test_workdir_remove_goes_through_read_only_dirs_not_symlinks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_workdir_chown_gives_the_tree_away, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_workdir_safe_name_keeps_plain_names_and_defuses_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
