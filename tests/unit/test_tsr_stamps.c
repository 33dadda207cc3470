/*  Unit tests for tsr_stamps: the same content at the same path keeps its
    time; other content gets a later time, a whole second later than any
    the path had; a full table starts over; a missing file is an error.  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tsr_stamps.h"
#include "tsr_testdir.h"

//  Write `text` to `path` as a fresh file (as materialising does) and
//  return its digest
static tsr_digest_t
s_write(const char *path, const char *text)
{
    remove(path);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
    tsr_digest_t digest;
    tsr_digest_buffer(text, strlen(text), &digest);
    return digest;
}

static struct timespec
s_mtime(const char *path)
{
    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    return info.st_mtim;
}

static void
test_stamps_same_content_keeps_its_time_other_content_gets_a_later_second(void **state)
{
    (void)state;
    char *dir = tsr_testdir_new("stamps");
    char *path = zsys_sprintf("%s/mod.py", dir);
    tsr_stamps_t *stamps = tsr_stamps_new(0);

    tsr_digest_t first = s_write(path, "x = 1\n");
    assert_int_equal(tsr_stamps_apply(stamps, "p\nmod.py", path, &first), TSR_OK);
    struct timespec given = s_mtime(path);
    //  Written again with the same content: the time it had, to the nanosecond
    first = s_write(path, "x = 1\n");
    assert_int_equal(tsr_stamps_apply(stamps, "p\nmod.py", path, &first), TSR_OK);
    struct timespec again = s_mtime(path);
    assert_int_equal(again.tv_sec, given.tv_sec);
    assert_int_equal(again.tv_nsec, given.tv_nsec);
    //  Other content of the same size, within the same second: a later
    //  second (Python's bytecode compares seconds and size)
    tsr_digest_t second = s_write(path, "x = 2\n");
    assert_int_equal(tsr_stamps_apply(stamps, "p\nmod.py", path, &second), TSR_OK);
    struct timespec changed = s_mtime(path);
    assert_true(changed.tv_sec > given.tv_sec);
    //  Back to the first content: not its old time (outputs built from the
    //  second content are newer than that), later still
    first = s_write(path, "x = 1\n");
    assert_int_equal(tsr_stamps_apply(stamps, "p\nmod.py", path, &first), TSR_OK);
    assert_true(s_mtime(path).tv_sec > changed.tv_sec);
    assert_int_equal(tsr_stamps_size(stamps), 1);

    tsr_stamps_destroy(&stamps);
    assert_null(stamps);
    free(path);
    tsr_testdir_destroy(&dir);
}

static void
test_stamps_copies_of_one_place_share_their_time(void **state)
{
    (void)state;
    //  One workspace on two slots: the same key, two paths
    char *dir = tsr_testdir_new("stamps");
    char *slot0 = zsys_sprintf("%s/slot-0.rs", dir);
    char *slot1 = zsys_sprintf("%s/slot-1.rs", dir);
    tsr_stamps_t *stamps = tsr_stamps_new(0);
    tsr_digest_t digest = s_write(slot0, "fn main() {}\n");
    assert_int_equal(tsr_stamps_apply(stamps, "proj\nsrc/main.rs", slot0, &digest), TSR_OK);
    digest = s_write(slot1, "fn main() {}\n");
    assert_int_equal(tsr_stamps_apply(stamps, "proj\nsrc/main.rs", slot1, &digest), TSR_OK);
    struct timespec zero = s_mtime(slot0), one = s_mtime(slot1);
    assert_int_equal(zero.tv_sec, one.tv_sec);
    assert_int_equal(zero.tv_nsec, one.tv_nsec);
    //  Another project's file of that name is another place
    digest = s_write(slot1, "fn main() { other(); }\n");
    assert_int_equal(tsr_stamps_apply(stamps, "other\nsrc/main.rs", slot1, &digest), TSR_OK);
    assert_int_equal(tsr_stamps_size(stamps), 2);
    tsr_stamps_destroy(&stamps);
    free(slot0);
    free(slot1);
    tsr_testdir_destroy(&dir);
}

static void
test_stamps_full_table_starts_over(void **state)
{
    (void)state;
    char *dir = tsr_testdir_new("stamps");
    tsr_stamps_t *stamps = tsr_stamps_new(2);
    char *paths[3];
    for (int index = 0; index < 3; index++) {
        paths[index] = zsys_sprintf("%s/f%d", dir, index);
        tsr_digest_t digest = s_write(paths[index], "same\n");
        assert_int_equal(tsr_stamps_apply(stamps, paths[index], paths[index], &digest), TSR_OK);
    }
    assert_int_equal(tsr_stamps_size(stamps), 1); //  f0 and f1 were dropped for f2
    for (int index = 0; index < 3; index++)
        free(paths[index]);
    tsr_stamps_destroy(&stamps);
    tsr_testdir_destroy(&dir);
}

static void
test_stamps_missing_file_is_an_error_and_remembers_nothing(void **state)
{
    (void)state;
    char *dir = tsr_testdir_new("stamps");
    char *path = zsys_sprintf("%s/absent", dir);
    tsr_stamps_t *stamps = tsr_stamps_new(0);
    tsr_digest_t digest;
    tsr_digest_buffer("x", 1, &digest);
    assert_int_equal(tsr_stamps_apply(stamps, "p\nmod.py", path, &digest), -ENOENT);
    assert_int_equal(tsr_stamps_size(stamps), 0);
    tsr_stamps_destroy(&stamps);
    tsr_stamps_destroy(&stamps); //  NULL-safe
    free(path);
    tsr_testdir_destroy(&dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stamps_same_content_keeps_its_time_other_content_gets_a_later_second),
        cmocka_unit_test(test_stamps_copies_of_one_place_share_their_time),
        cmocka_unit_test(test_stamps_full_table_starts_over),
        cmocka_unit_test(test_stamps_missing_file_is_an_error_and_remembers_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
