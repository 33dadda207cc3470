/*  Unit tests for tsr_pack: deterministic archives, round trips, and hostile
    archives (written here with libarchive) refused without writing outside.  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tsr_pack.h"
#include "tsr_testdir.h"

//  A fresh temporary directory per test, removed afterwards
typedef struct {
    char *root; //  owned; absolute
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    fixture->root = tsr_testdir_new("pack");
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    tsr_testdir_destroy(&fixture->root);
    free(fixture);
    return 0;
}

static char *
s_path(fixture_t *fixture, const char *rel)
{
    return zsys_sprintf("%s/%s", fixture->root, rel);
}

static void
s_write(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void
s_mkdir(const char *path)
{
    assert_int_equal(mkdir(path, 0755), 0);
}

//  Whole file into a malloc'd buffer; NULL if it does not exist
static char *
s_slurp(const char *path, size_t *size_out)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        return NULL;
    assert_int_equal(fseek(file, 0, SEEK_END), 0);
    long size = ftell(file);
    rewind(file);
    char *content = malloc((size_t)size + 1);
    assert_int_equal(fread(content, 1, (size_t)size, file), (size_t)size);
    content[size] = '\0';
    fclose(file);
    if (size_out)
        *size_out = (size_t)size;
    return content;
}

static bool
s_exists(const char *path)
{
    struct stat info;
    return lstat(path, &info) == 0;
}

static void
s_set_mtime(const char *path, time_t seconds)
{
    struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

static const char *s_long_name = "a-file-name-long-enough-that-ustar-cannot-hold-it-in-its-"
                                 "one-hundred-byte-name-field-without-pax-help.txt";

//  A small tree with every kind we pack. `reverse` creates it in another
//  order, with other modes that normalise alike and another mtime.
static void
s_make_tree(const char *dir, bool reverse)
{
    s_mkdir(dir);
    char *sub = zsys_sprintf("%s/sub", dir);
    char *empty = zsys_sprintf("%s/empty", dir);
    char *text = zsys_sprintf("%s/sub/a.txt", dir);
    char *tool = zsys_sprintf("%s/sub/tool", dir);
    char *link = zsys_sprintf("%s/link", dir);
    char *longer = zsys_sprintf("%s/sub/%s", dir, s_long_name);
    if (reverse) {
        s_mkdir(empty);
        s_mkdir(sub);
        assert_int_equal(symlink("sub/a.txt", link), 0);
        s_write(longer, "long\n", 0600);
        s_write(tool, "#!/bin/sh\necho hi\n", 0700);
        s_write(text, "hello\n", 0664);
    } else {
        s_mkdir(sub);
        s_write(text, "hello\n", 0644);
        s_write(tool, "#!/bin/sh\necho hi\n", 0755);
        s_write(longer, "long\n", 0644);
        assert_int_equal(symlink("sub/a.txt", link), 0);
        s_mkdir(empty);
    }
    time_t when = reverse ? 1000000000 : 1500000000;
    s_set_mtime(text, when);
    s_set_mtime(tool, when + 7);
    s_set_mtime(link, when);
    s_set_mtime(sub, when);
    free(sub);
    free(empty);
    free(text);
    free(tool);
    free(link);
    free(longer);
}

static void
test_pack_dir_twice_gives_identical_bytes(void **state)
{
    fixture_t *fixture = *state;
    char *tree = s_path(fixture, "tree");
    char *first = s_path(fixture, "first.tar.zst");
    char *second = s_path(fixture, "second.tar.zst");
    s_make_tree(tree, false);
    assert_int_equal(tsr_pack_dir(tree, first), TSR_OK);
    assert_int_equal(tsr_pack_dir(tree, second), TSR_OK);
    size_t first_size, second_size;
    char *first_bytes = s_slurp(first, &first_size);
    char *second_bytes = s_slurp(second, &second_size);
    assert_true(first_size > 0);
    assert_int_equal(first_size, second_size);
    assert_memory_equal(first_bytes, second_bytes, first_size);
    free(first_bytes);
    free(second_bytes);
    free(tree);
    free(first);
    free(second);
}

static void
test_pack_dir_ignores_mtime_order_and_mode_noise(void **state)
{
    fixture_t *fixture = *state;
    char *tree_a = s_path(fixture, "tree-a");
    char *tree_b = s_path(fixture, "tree-b");
    char *archive_a = s_path(fixture, "a.tar.zst");
    char *archive_b = s_path(fixture, "b.tar.zst");
    s_make_tree(tree_a, false);
    s_make_tree(tree_b, true);
    assert_int_equal(tsr_pack_dir(tree_a, archive_a), TSR_OK);
    assert_int_equal(tsr_pack_dir(tree_b, archive_b), TSR_OK);
    size_t size_a, size_b;
    char *bytes_a = s_slurp(archive_a, &size_a);
    char *bytes_b = s_slurp(archive_b, &size_b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(bytes_a, bytes_b, size_a);
    free(bytes_a);
    free(bytes_b);

    //  ...but content does count
    char *text = s_path(fixture, "tree-b/sub/a.txt");
    s_write(text, "hellO\n", 0644);
    assert_int_equal(tsr_pack_dir(tree_b, archive_b), TSR_OK);
    bytes_a = s_slurp(archive_a, &size_a);
    bytes_b = s_slurp(archive_b, &size_b);
    assert_true(size_a != size_b || memcmp(bytes_a, bytes_b, size_a) != 0);
    free(bytes_a);
    free(bytes_b);
    free(text);
    free(tree_a);
    free(tree_b);
    free(archive_a);
    free(archive_b);
}

static void
test_pack_round_trip_restores_content_modes_symlinks(void **state)
{
    fixture_t *fixture = *state;
    char *tree = s_path(fixture, "tree");
    char *archive = s_path(fixture, "tree.tar.zst");
    char *dest = s_path(fixture, "dest");
    s_make_tree(tree, false);
    s_mkdir(dest);
    assert_int_equal(tsr_pack_dir(tree, archive), TSR_OK);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_OK);

    char *text = s_path(fixture, "dest/sub/a.txt");
    char *content = s_slurp(text, NULL);
    assert_non_null(content);
    assert_string_equal(content, "hello\n");
    free(content);
    char *longer = zsys_sprintf("%s/sub/%s", dest, s_long_name);
    content = s_slurp(longer, NULL);
    assert_non_null(content);
    assert_string_equal(content, "long\n");
    free(content);

    struct stat info;
    assert_int_equal(stat(text, &info), 0);
    assert_int_equal(info.st_mode & 07777, 0644);
    char *tool = s_path(fixture, "dest/sub/tool");
    assert_int_equal(stat(tool, &info), 0);
    assert_int_equal(info.st_mode & 07777, 0755);
    char *empty = s_path(fixture, "dest/empty");
    assert_int_equal(stat(empty, &info), 0);
    assert_true(S_ISDIR(info.st_mode));

    char *link = s_path(fixture, "dest/link");
    assert_int_equal(lstat(link, &info), 0);
    assert_true(S_ISLNK(info.st_mode));
    char target[64] = {0};
    assert_int_equal(readlink(link, target, sizeof target - 1), 9);
    assert_string_equal(target, "sub/a.txt");

    //  Packing the result gives the same archive again
    char *again = s_path(fixture, "again.tar.zst");
    assert_int_equal(tsr_pack_dir(dest, again), TSR_OK);
    size_t size_one, size_two;
    char *bytes_one = s_slurp(archive, &size_one);
    char *bytes_two = s_slurp(again, &size_two);
    assert_int_equal(size_one, size_two);
    assert_memory_equal(bytes_one, bytes_two, size_one);
    free(bytes_one);
    free(bytes_two);
    free(again);
    free(link);
    free(empty);
    free(tool);
    free(longer);
    free(text);
    free(tree);
    free(archive);
    free(dest);
}

static void
test_pack_paths_packs_listed_paths_and_parents_only(void **state)
{
    fixture_t *fixture = *state;
    char *tree = s_path(fixture, "tree");
    char *archive = s_path(fixture, "some.tar.zst");
    char *dest = s_path(fixture, "dest");
    s_make_tree(tree, false);
    s_mkdir(dest);
    zlistx_t *relpaths = zlistx_new();
    zlistx_add_end(relpaths, "sub/tool");
    zlistx_add_end(relpaths, "./empty/");
    zlistx_add_end(relpaths, "sub/tool"); //  duplicates are packed once
    assert_int_equal(tsr_pack_paths(tree, relpaths, archive), TSR_OK);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_OK);

    char *tool = s_path(fixture, "dest/sub/tool");
    char *empty = s_path(fixture, "dest/empty");
    char *text = s_path(fixture, "dest/sub/a.txt");
    char *link = s_path(fixture, "dest/link");
    assert_true(s_exists(tool));
    assert_true(s_exists(empty));
    assert_false(s_exists(text));
    assert_false(s_exists(link));

    //  Paths that leave the base are refused
    zlistx_purge(relpaths);
    zlistx_add_end(relpaths, "sub/../../etc");
    assert_int_equal(tsr_pack_paths(tree, relpaths, archive), TSR_EINVAL);
    zlistx_purge(relpaths);
    zlistx_add_end(relpaths, "/etc/hostname");
    assert_int_equal(tsr_pack_paths(tree, relpaths, archive), TSR_EINVAL);
    zlistx_purge(relpaths);
    zlistx_add_end(relpaths, "no-such-file");
    assert_int_equal(tsr_pack_paths(tree, relpaths, archive), -ENOENT);

    zlistx_destroy(&relpaths);
    free(tool);
    free(empty);
    free(text);
    free(link);
    free(tree);
    free(archive);
    free(dest);
}

static void
test_pack_dir_fails_on_missing_dir(void **state)
{
    fixture_t *fixture = *state;
    char *tree = s_path(fixture, "absent");
    char *archive = s_path(fixture, "x.tar.zst");
    assert_int_equal(tsr_pack_dir(tree, archive), -ENOENT);
    assert_false(s_exists(archive));
    free(tree);
    free(archive);
}

//  One entry of a hostile archive
typedef struct {
    const char *name;   //  stored verbatim
    mode_t kind;        //  AE_IFREG, AE_IFDIR, AE_IFLNK
    const char *target; //  symlink or hard link target, or file content
    bool hardlink;      //  `target` is a hard link target
} hostile_entry_t;

static void
s_write_hostile(const char *archive_path, const hostile_entry_t *entries, size_t count)
{
    struct archive *writer = archive_write_new();
    assert_int_equal(archive_write_set_format_pax_restricted(writer), ARCHIVE_OK);
    assert_int_equal(archive_write_add_filter_zstd(writer), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(writer, archive_path), ARCHIVE_OK);
    for (size_t index = 0; index < count; index++) {
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, entries[index].name);
        archive_entry_set_filetype(entry, entries[index].kind);
        archive_entry_set_perm(entry, 0644);
        size_t size = 0;
        if (entries[index].hardlink)
            archive_entry_set_hardlink(entry, entries[index].target);
        else if (entries[index].kind == AE_IFLNK)
            archive_entry_set_symlink(entry, entries[index].target);
        else if (entries[index].kind == AE_IFREG)
            size = strlen(entries[index].target);
        archive_entry_set_size(entry, (la_int64_t)size);
        assert_int_equal(archive_write_header(writer, entry), ARCHIVE_OK);
        if (size)
            assert_int_equal(archive_write_data(writer, entries[index].target, size),
                             (la_ssize_t)size);
        archive_entry_free(entry);
    }
    assert_int_equal(archive_write_close(writer), ARCHIVE_OK);
    archive_write_free(writer);
}

static void
test_unpack_refuses_dotdot_entry(void **state)
{
    fixture_t *fixture = *state;
    char *archive = s_path(fixture, "evil.tar.zst");
    char *dest = s_path(fixture, "dest");
    char *escaped = s_path(fixture, "x");
    char *nested_escape = s_path(fixture, "y");
    s_mkdir(dest);
    const hostile_entry_t plain[] = {{"../x", AE_IFREG, "pwned\n", false}};
    s_write_hostile(archive, plain, 1);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_EUNSAFE);
    assert_false(s_exists(escaped));

    const hostile_entry_t nested[] = {{"ok.txt", AE_IFREG, "fine\n", false},
                                      {"sub/../../y", AE_IFREG, "pwned\n", false}};
    s_write_hostile(archive, nested, 2);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_EUNSAFE);
    assert_false(s_exists(nested_escape));
    free(archive);
    free(dest);
    free(escaped);
    free(nested_escape);
}

static void
test_unpack_refuses_absolute_entry(void **state)
{
    fixture_t *fixture = *state;
    char *archive = s_path(fixture, "evil.tar.zst");
    char *dest = s_path(fixture, "dest");
    char *outside = s_path(fixture, "outside");
    char *victim = s_path(fixture, "outside/x");
    s_mkdir(dest);
    s_mkdir(outside);
    const hostile_entry_t entries[] = {{victim, AE_IFREG, "pwned\n", false}};
    s_write_hostile(archive, entries, 1);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_EUNSAFE);
    assert_false(s_exists(victim));
    free(archive);
    free(dest);
    free(outside);
    free(victim);
}

static void
test_unpack_refuses_write_through_symlink(void **state)
{
    fixture_t *fixture = *state;
    char *archive = s_path(fixture, "evil.tar.zst");
    char *dest = s_path(fixture, "dest");
    char *outside = s_path(fixture, "outside");
    char *victim = s_path(fixture, "outside/x");
    s_mkdir(dest);
    s_mkdir(outside);
    const hostile_entry_t entries[] = {{"link", AE_IFLNK, outside, false},
                                       {"link/x", AE_IFREG, "pwned\n", false}};
    s_write_hostile(archive, entries, 2);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_EUNSAFE);
    assert_false(s_exists(victim));

    //  A directory replaced by a symlink on the way is no better
    const hostile_entry_t swapped[] = {{"dir", AE_IFDIR, NULL, false},
                                       {"dir", AE_IFLNK, outside, false},
                                       {"dir/x", AE_IFREG, "pwned\n", false}};
    char *fresh = s_path(fixture, "fresh");
    s_mkdir(fresh);
    s_write_hostile(archive, swapped, 3);
    assert_int_equal(tsr_pack_unpack(archive, fresh), TSR_EUNSAFE);
    assert_false(s_exists(victim));
    free(fresh);
    free(archive);
    free(dest);
    free(outside);
    free(victim);
}

static void
test_unpack_refuses_hardlink_out(void **state)
{
    fixture_t *fixture = *state;
    char *archive = s_path(fixture, "evil.tar.zst");
    char *dest = s_path(fixture, "dest");
    char *secret = s_path(fixture, "secret");
    char *linked = s_path(fixture, "dest/h");
    s_mkdir(dest);
    s_write(secret, "secret\n", 0600);
    const hostile_entry_t entries[] = {{"h", AE_IFREG, secret, true}};
    s_write_hostile(archive, entries, 1);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_EUNSAFE);
    assert_false(s_exists(linked));
    free(archive);
    free(dest);
    free(secret);
    free(linked);
}

static void
test_unpack_rejects_garbage_and_truncated_archives(void **state)
{
    fixture_t *fixture = *state;
    char *garbage = s_path(fixture, "garbage.tar.zst");
    char *dest = s_path(fixture, "dest");
    s_mkdir(dest);
    s_write(garbage, "this is not a zstd stream, nor a tar archive, not at all\n", 0644);
    assert_int_equal(tsr_pack_unpack(garbage, dest), TSR_EARCHIVE);

    //  A real archive with an incompressible file, cut in half
    char *tree = s_path(fixture, "tree");
    char *big = s_path(fixture, "tree/big.bin");
    char *archive = s_path(fixture, "tree.tar.zst");
    s_mkdir(tree);
    size_t big_size = 256 * 1024;
    char *noise = malloc(big_size + 1);
    for (size_t index = 0; index < big_size; index++)
        noise[index] = (char)(1 + (index * 2654435761u >> 13) % 255);
    noise[big_size] = '\0';
    s_write(big, noise, 0644);
    free(noise);
    assert_int_equal(tsr_pack_dir(tree, archive), TSR_OK);
    struct stat info;
    assert_int_equal(stat(archive, &info), 0);
    assert_int_equal(truncate(archive, info.st_size / 2), 0);
    assert_int_equal(tsr_pack_unpack(archive, dest), TSR_EARCHIVE);

    char *absent = s_path(fixture, "absent.tar.zst");
    assert_int_equal(tsr_pack_unpack(absent, dest), -ENOENT);
    free(absent);
    free(garbage);
    free(dest);
    free(tree);
    free(big);
    free(archive);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pack_dir_twice_gives_identical_bytes, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_pack_dir_ignores_mtime_order_and_mode_noise, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_pack_round_trip_restores_content_modes_symlinks,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pack_paths_packs_listed_paths_and_parents_only,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_pack_dir_fails_on_missing_dir, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unpack_refuses_dotdot_entry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unpack_refuses_absolute_entry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unpack_refuses_write_through_symlink, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_unpack_refuses_hardlink_out, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unpack_rejects_garbage_and_truncated_archives, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
