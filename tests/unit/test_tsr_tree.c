/*  Unit tests for tsr_tree: stable root digests, ignore patterns, store and
    missing against a CAS, materialising (and refusing hostile Tree blobs),
    reading blobs back.                                                        */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tessera.pb-c.h"
#include "tsr_testdir.h"
#include "tsr_tree.h"

#define TEST_MAP_BYTES (64u << 20)

//  A fresh temporary directory and CAS per test, removed afterwards
typedef struct {
    char *root;     //  owned; absolute
    tsr_cas_t *cas; //  owned; opened in root/cas
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    fixture->root = tsr_testdir_new("tree");
    char *cas_dir = zsys_sprintf("%s/cas", fixture->root);
    fixture->cas = tsr_cas_new();
    assert_int_equal(tsr_cas_open(fixture->cas, cas_dir, TEST_MAP_BYTES), TSR_OK);
    free(cas_dir);
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    tsr_cas_destroy(&fixture->cas);
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
s_write_at(const char *dir, const char *rel, const char *content, mode_t mode)
{
    char *path = zsys_sprintf("%s/%s", dir, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    free(path);
}

static void
s_mkdir_at(const char *dir, const char *rel)
{
    char *path = zsys_sprintf("%s/%s", dir, rel);
    assert_int_equal(mkdir(path, 0755), 0);
    free(path);
}

static void
s_symlink_at(const char *dir, const char *rel, const char *target)
{
    char *path = zsys_sprintf("%s/%s", dir, rel);
    assert_int_equal(symlink(target, path), 0);
    free(path);
}

static bool
s_exists(const char *path)
{
    struct stat info;
    return lstat(path, &info) == 0;
}

//  A workspace: files, an executable, nested and empty dirs, a symlink, and
//  two identical files (one blob)
static void
s_make_workspace(const char *dir)
{
    assert_int_equal(mkdir(dir, 0755), 0);
    s_write_at(dir, "README", "read me\n", 0644);
    s_write_at(dir, "copy-of-readme", "read me\n", 0644);
    s_mkdir_at(dir, "src");
    s_write_at(dir, "src/main.c", "int main(void) { return 0; }\n", 0644);
    s_write_at(dir, "src/run.sh", "#!/bin/sh\nexit 0\n", 0755);
    s_mkdir_at(dir, "src/deep");
    s_write_at(dir, "src/deep/data.bin", "\x01\x02\x03", 0600);
    s_mkdir_at(dir, "empty");
    s_symlink_at(dir, "latest", "src/main.c");
}

//  Scan `dir` and copy its root digest out
static void
s_scan_root(const char *dir, const tsr_ignore_t *ignore, tsr_digest_t *root_out)
{
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, dir, ignore), TSR_OK);
    assert_non_null(tsr_tree_root(tree));
    *root_out = *tsr_tree_root(tree);
    tsr_tree_destroy(&tree);
    assert_null(tree);
}

static void
test_tree_scan_twice_gives_same_root(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    char *twin = s_path(fixture, "twin");
    s_make_workspace(work);
    tsr_digest_t first, second, other;
    s_scan_root(work, NULL, &first);
    s_scan_root(work, NULL, &second);
    assert_true(tsr_digest_eq(&first, &second));
    //  A copy made later (other mtimes, inode order) hashes the same
    s_make_workspace(twin);
    s_scan_root(twin, NULL, &other);
    assert_true(tsr_digest_eq(&first, &other));

    tsr_tree_t *tree = tsr_tree_new();
    assert_null(tsr_tree_root(tree)); //  nothing scanned yet
    char *absent = s_path(fixture, "absent");
    assert_int_equal(tsr_tree_scan(tree, absent, NULL), -ENOENT);
    assert_null(tsr_tree_root(tree));
    char *readme = s_path(fixture, "work/README");
    assert_int_equal(tsr_tree_scan(tree, readme, NULL), -ENOTDIR);
    tsr_tree_destroy(&tree);
    free(readme);
    free(absent);
    free(work);
    free(twin);
}

static void
test_tree_root_changes_with_content_and_structure(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    s_make_workspace(work);
    tsr_digest_t before, after;
    s_scan_root(work, NULL, &before);

    s_write_at(work, "src/deep/data.bin", "\x01\x02\x04", 0600);
    s_scan_root(work, NULL, &after);
    assert_false(tsr_digest_eq(&before, &after));

    before = after;
    s_mkdir_at(work, "empty/child");
    s_scan_root(work, NULL, &after);
    assert_false(tsr_digest_eq(&before, &after));

    before = after;
    char *link = s_path(fixture, "work/latest");
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink("README", link), 0);
    s_scan_root(work, NULL, &after);
    assert_false(tsr_digest_eq(&before, &after));
    free(link);
    free(work);
}

static void
test_tree_root_changes_with_exec_bit_only(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    char *main_c = s_path(fixture, "work/src/main.c");
    s_make_workspace(work);
    tsr_digest_t before, after;
    s_scan_root(work, NULL, &before);

    //  Permission noise other than the x bits is normalised away
    assert_int_equal(chmod(main_c, 0600), 0);
    s_scan_root(work, NULL, &after);
    assert_true(tsr_digest_eq(&before, &after));

    assert_int_equal(chmod(main_c, 0744), 0);
    s_scan_root(work, NULL, &after);
    assert_false(tsr_digest_eq(&before, &after));

    tsr_digest_t again;
    assert_int_equal(chmod(main_c, 0755), 0);
    s_scan_root(work, NULL, &again);
    assert_true(tsr_digest_eq(&after, &again));
    free(main_c);
    free(work);
}

//  One row of the ignore table
typedef struct {
    const char *patterns; //  lines, '\n'-separated
    const char *relpath;
    bool is_dir;
    bool excluded;
} ignore_case_t;

static const ignore_case_t s_ignore_cases[] = {
    //  basename globs match at any depth
    {"*.o", "main.o", false, true},
    {"*.o", "src/deep/main.o", false, true},
    {"*.o", "main.c", false, false},
    {"*.o", "main.o.d", false, false},
    {"build", "build", true, true},
    {"build", "src/build", false, true},
    {"build", "rebuild", false, false},
    //  comments, blank lines, escapes
    {"# a comment\n\n", "# a comment", false, false},
    {"\\#hash", "#hash", false, true},
    {"trailing   ", "trailing", false, true},
    //  negation: last match wins
    {"*.log\n!keep.log", "keep.log", false, false},
    {"*.log\n!keep.log", "drop.log", false, true},
    {"!keep.log\n*.log", "keep.log", false, true},
    //  directory-only
    {"out/", "out", true, true},
    {"out/", "out", false, false},
    {"out/", "src/out", true, true},
    {"out/", "out/file", false, true}, //  inside an excluded directory
    //  anchored: leading or inner '/'
    {"/top", "top", false, true},
    {"/top", "sub/top", false, false},
    {"doc/*.md", "doc/a.md", false, true},
    {"doc/*.md", "x/doc/a.md", false, false},
    {"doc/*.md", "doc/sub/a.md", false, false},
    //  **
    {"**/cache", "cache", true, true},
    {"**/cache", "a/b/cache", true, true},
    {"**/cache/x", "a/cache/x", false, true},
    {"logs/**", "logs/a", false, true},
    {"logs/**", "logs/a/b/c.txt", false, true},
    {"logs/**", "logs", true, false},
    {"a/**/b", "a/b", false, true},
    {"a/**/b", "a/x/b", false, true},
    {"a/**/b", "a/x/y/b", false, true},
    {"a/**/b", "a/x/y/c", false, false},
    {"a/**/b", "z/a/x/b", false, false},
    //  a file under an excluded directory cannot be re-included
    {"vendor/\n!vendor/keep.c", "vendor/keep.c", false, true},
    //  but a directory's contents can be excluded and one file kept
    {"vendor/*\n!vendor/keep.c", "vendor/keep.c", false, false},
    {"vendor/*\n!vendor/keep.c", "vendor/drop.c", false, true},
};

static void
test_ignore_patterns_follow_gitignore_rules(void **state)
{
    (void)state;
    size_t count = sizeof s_ignore_cases / sizeof s_ignore_cases[0];
    for (size_t index = 0; index < count; index++) {
        const ignore_case_t *row = &s_ignore_cases[index];
        tsr_ignore_t *ignore = tsr_ignore_new();
        char *lines = strdup(row->patterns);
        char *cursor = lines;
        while (cursor) {
            char *next = strchr(cursor, '\n');
            if (next)
                *next++ = '\0';
            tsr_ignore_add(ignore, cursor);
            cursor = next;
        }
        bool excluded = tsr_ignore_match(ignore, row->relpath, row->is_dir);
        if (excluded != row->excluded)
            fail_msg("patterns '%s' path '%s'%s: expected %s", row->patterns, row->relpath,
                     row->is_dir ? " (dir)" : "", row->excluded ? "excluded" : "included");
        free(lines);
        tsr_ignore_destroy(&ignore);
        assert_null(ignore);
    }
}

static void
test_ignore_load_reads_file_lines(void **state)
{
    fixture_t *fixture = *state;
    char *path = s_path(fixture, "gitignore");
    s_write_at(fixture->root, "gitignore", "# objects\n*.o\r\n\n!keep.o\nbuild/\n", 0644);
    tsr_ignore_t *ignore = tsr_ignore_new();
    assert_int_equal(tsr_ignore_load(ignore, path), TSR_OK);
    assert_true(tsr_ignore_match(ignore, "x/y.o", false));
    assert_false(tsr_ignore_match(ignore, "keep.o", false));
    assert_true(tsr_ignore_match(ignore, "build", true));
    assert_false(tsr_ignore_match(ignore, "objects", false));
    char *absent = s_path(fixture, "absent");
    assert_int_equal(tsr_ignore_load(ignore, absent), -ENOENT);
    tsr_ignore_destroy(&ignore);
    free(absent);
    free(path);
}

static void
test_tree_scan_applies_ignore_and_skips_git(void **state)
{
    fixture_t *fixture = *state;
    char *clean = s_path(fixture, "clean");
    char *dirty = s_path(fixture, "dirty");
    s_make_workspace(clean);
    s_make_workspace(dirty);
    s_write_at(dirty, "src/main.o", "object", 0644);
    s_mkdir_at(dirty, "build");
    s_write_at(dirty, "build/out", "binary", 0755);
    s_mkdir_at(dirty, ".git");
    s_write_at(dirty, ".git/HEAD", "ref: refs/heads/main\n", 0644);
    s_write_at(dirty, "src/keep.o", "kept", 0644);

    tsr_ignore_t *ignore = tsr_ignore_new();
    tsr_ignore_add(ignore, "*.o");
    tsr_ignore_add(ignore, "!keep.o");
    tsr_ignore_add(ignore, "/build/");
    tsr_digest_t clean_root, dirty_root;
    s_scan_root(dirty, ignore, &dirty_root);
    s_scan_root(clean, NULL, &clean_root);
    assert_false(tsr_digest_eq(&clean_root, &dirty_root)); //  keep.o is in
    s_write_at(clean, "src/keep.o", "kept", 0644);
    s_scan_root(clean, NULL, &clean_root);
    assert_true(tsr_digest_eq(&clean_root, &dirty_root));
    tsr_ignore_destroy(&ignore);
    free(clean);
    free(dirty);
}

static void
test_tree_dedupes_identical_blobs(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    assert_int_equal(mkdir(work, 0755), 0);
    s_write_at(work, "a", "same", 0644);
    s_write_at(work, "b", "same", 0644);
    s_mkdir_at(work, "d1");
    s_mkdir_at(work, "d2");
    s_write_at(work, "d1/x", "other", 0644);
    s_write_at(work, "d2/x", "other", 0644);
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, work, NULL), TSR_OK);
    //  "same", "other", one Tree for d1 and d2, the root
    assert_int_equal(tsr_tree_blob_count(tree), 4);
    bool root_listed = false;
    for (size_t index = 0; index < tsr_tree_blob_count(tree); index++)
        root_listed |= tsr_digest_eq(tsr_tree_blob_digest(tree, index), tsr_tree_root(tree));
    assert_true(root_listed);
    tsr_tree_destroy(&tree);
    free(work);
}

static void
test_tree_read_returns_blob_bytes(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    s_make_workspace(work);
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, work, NULL), TSR_OK);

    const char *content = "int main(void) { return 0; }\n";
    tsr_digest_t file_digest;
    tsr_digest_buffer(content, strlen(content), &file_digest);
    char buffer[256];
    size_t got = 0;
    assert_int_equal(tsr_tree_read(tree, &file_digest, 0, buffer, sizeof buffer, &got), TSR_OK);
    assert_int_equal(got, strlen(content));
    assert_memory_equal(buffer, content, got);
    assert_int_equal(tsr_tree_read(tree, &file_digest, 4, buffer, 4, &got), TSR_OK);
    assert_int_equal(got, 4);
    assert_memory_equal(buffer, "main", 4);
    assert_int_equal(tsr_tree_read(tree, &file_digest, 1000, buffer, 4, &got), TSR_OK);
    assert_int_equal(got, 0);

    //  The root node reads back as a Tree that parses and hashes to the root
    const tsr_digest_t *root = tsr_tree_root(tree);
    uint8_t *node_bytes = malloc(root->size);
    assert_int_equal(tsr_tree_read(tree, root, 0, node_bytes, root->size, &got), TSR_OK);
    assert_int_equal(got, root->size);
    tsr_digest_t check;
    tsr_digest_buffer(node_bytes, got, &check);
    assert_true(tsr_digest_eq(&check, root));
    Tessera__Tree *node = tessera__tree__unpack(NULL, got, node_bytes);
    assert_non_null(node);
    const char *names[] = {"README", "copy-of-readme", "empty", "latest", "src"};
    assert_int_equal(node->n_entries, 5);
    for (size_t index = 0; index < 5; index++)
        assert_string_equal(node->entries[index]->name, names[index]);
    assert_int_equal(node->entries[3]->kind, TESSERA__TREE_ENTRY__KIND__SYMLINK);
    assert_string_equal(node->entries[3]->target, "src/main.c");
    tessera__tree__free_unpacked(node, NULL);
    free(node_bytes);

    tsr_digest_t unknown;
    tsr_digest_buffer("not in the tree", 15, &unknown);
    assert_int_equal(tsr_tree_read(tree, &unknown, 0, buffer, sizeof buffer, &got), TSR_ENOTFOUND);

    //  A file that changed size since the scan is refused
    s_write_at(work, "src/main.c", "int main(void) { return 1; } // longer\n", 0644);
    assert_int_equal(tsr_tree_read(tree, &file_digest, 0, buffer, sizeof buffer, &got),
                     TSR_ECORRUPT);
    tsr_tree_destroy(&tree);
    free(work);
}

//  The digests of a zlistx of tsr_digest_t *
static zlistx_t *
s_digest_list_new(void)
{
    zlistx_t *list = zlistx_new();
    zlistx_set_destructor(list, (zlistx_destructor_fn *)zstr_free);
    return list;
}

static bool
s_list_has(zlistx_t *list, const tsr_digest_t *digest)
{
    for (tsr_digest_t *item = zlistx_first(list); item; item = zlistx_next(list))
        if (tsr_digest_eq(item, digest))
            return true;
    return false;
}

static void
test_tree_store_then_missing_is_empty(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    s_make_workspace(work);
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, work, NULL), TSR_OK);
    assert_int_equal(tsr_tree_store(tree, fixture->cas), TSR_OK);
    for (size_t index = 0; index < tsr_tree_blob_count(tree); index++)
        assert_true(tsr_cas_has(fixture->cas, tsr_tree_blob_digest(tree, index)));
    zlistx_t *missing = s_digest_list_new();
    assert_int_equal(tsr_tree_missing(fixture->cas, tsr_tree_root(tree), missing), TSR_OK);
    assert_int_equal(zlistx_size(missing), 0);
    //  Storing twice is harmless
    assert_int_equal(tsr_tree_store(tree, fixture->cas), TSR_OK);
    zlistx_destroy(&missing);
    tsr_tree_destroy(&tree);
    free(work);
}

static void
test_tree_missing_lists_root_of_fresh_cas_then_absent_blobs(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    s_make_workspace(work);
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, work, NULL), TSR_OK);
    const tsr_digest_t *root = tsr_tree_root(tree);

    //  Fresh CAS: only the root is listed, not its children
    zlistx_t *missing = s_digest_list_new();
    assert_int_equal(tsr_tree_missing(fixture->cas, root, missing), TSR_OK);
    assert_int_equal(zlistx_size(missing), 1);
    assert_true(tsr_digest_eq(zlistx_first(missing), root));

    //  Everything stored, then one file and the "src" node removed
    assert_int_equal(tsr_tree_store(tree, fixture->cas), TSR_OK);
    tsr_digest_t readme, main_c;
    tsr_digest_buffer("read me\n", 8, &readme);
    const char *main_text = "int main(void) { return 0; }\n";
    tsr_digest_buffer(main_text, strlen(main_text), &main_c);
    assert_int_equal(tsr_cas_delete(fixture->cas, &readme), TSR_OK);
    zlistx_purge(missing);
    assert_int_equal(tsr_tree_missing(fixture->cas, root, missing), TSR_OK);
    assert_int_equal(zlistx_size(missing), 1); //  README and its copy: one blob
    assert_true(s_list_has(missing, &readme));

    //  Find the "src" node in the root and delete it: listed, its files not
    void *bytes;
    size_t size;
    assert_int_equal(tsr_cas_get(fixture->cas, root, true, &bytes, &size), TSR_OK);
    Tessera__Tree *node = tessera__tree__unpack(NULL, size, bytes);
    free(bytes);
    assert_non_null(node);
    tsr_digest_t src;
    memcpy(src.hash, node->entries[4]->digest->hash.data, TSR_DIGEST_BYTES);
    src.size = node->entries[4]->digest->size;
    tessera__tree__free_unpacked(node, NULL);
    assert_int_equal(tsr_cas_delete(fixture->cas, &main_c), TSR_OK);
    assert_int_equal(tsr_cas_delete(fixture->cas, &src), TSR_OK);
    zlistx_purge(missing);
    assert_int_equal(tsr_tree_missing(fixture->cas, root, missing), TSR_OK);
    assert_int_equal(zlistx_size(missing), 2);
    assert_true(s_list_has(missing, &readme));
    assert_true(s_list_has(missing, &src));
    assert_false(s_list_has(missing, &main_c));
    zlistx_destroy(&missing);
    tsr_tree_destroy(&tree);
    free(work);
}

static void
test_tree_missing_rejects_unparsable_tree(void **state)
{
    fixture_t *fixture = *state;
    //  Field 1, length-delimited, claims 16 bytes but has 3
    const uint8_t garbage[] = {0x0a, 0x10, 'a', 'b', 'c'};
    tsr_digest_t digest;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, garbage, sizeof garbage, &digest), TSR_OK);
    zlistx_t *missing = s_digest_list_new();
    assert_int_equal(tsr_tree_missing(fixture->cas, &digest, missing), TSR_ECORRUPT);
    char *dest = s_path(fixture, "dest");
    assert_int_equal(tsr_tree_materialise(fixture->cas, &digest, dest), TSR_ECORRUPT);
    zlistx_destroy(&missing);
    free(dest);
}

//  Rescan `dir` and compare its root with `expected`
static void
s_assert_root(const char *dir, const tsr_digest_t *expected)
{
    tsr_digest_t actual;
    s_scan_root(dir, NULL, &actual);
    assert_true(tsr_digest_eq(&actual, expected));
}

static void
test_tree_materialise_reproduces_files_modes_symlinks(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    char *dest = s_path(fixture, "dest");
    s_make_workspace(work);
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, work, NULL), TSR_OK);
    assert_int_equal(tsr_tree_store(tree, fixture->cas), TSR_OK);
    assert_int_equal(tsr_tree_materialise(fixture->cas, tsr_tree_root(tree), dest), TSR_OK);
    s_assert_root(dest, tsr_tree_root(tree));

    char *run_sh = s_path(fixture, "dest/src/run.sh");
    char *data = s_path(fixture, "dest/src/deep/data.bin");
    char *link = s_path(fixture, "dest/latest");
    char *empty = s_path(fixture, "dest/empty");
    struct stat info;
    assert_int_equal(stat(run_sh, &info), 0);
    assert_true(info.st_mode & S_IXUSR);
    assert_int_equal(stat(data, &info), 0);
    assert_int_equal(info.st_size, 3);
    assert_false(info.st_mode & S_IXUSR);
    assert_int_equal(lstat(link, &info), 0);
    assert_true(S_ISLNK(info.st_mode));
    char target[64] = {0};
    assert_int_equal(readlink(link, target, sizeof target - 1), 10);
    assert_string_equal(target, "src/main.c");
    assert_int_equal(stat(empty, &info), 0);
    assert_true(S_ISDIR(info.st_mode));

    //  An existing empty directory is fine; a non-empty one is refused
    char *fresh = s_path(fixture, "fresh");
    assert_int_equal(mkdir(fresh, 0755), 0);
    assert_int_equal(tsr_tree_materialise(fixture->cas, tsr_tree_root(tree), fresh), TSR_OK);
    s_assert_root(fresh, tsr_tree_root(tree));
    assert_int_equal(tsr_tree_materialise(fixture->cas, tsr_tree_root(tree), dest), -ENOTEMPTY);
    free(fresh);
    free(run_sh);
    free(data);
    free(link);
    free(empty);
    tsr_tree_destroy(&tree);
    free(work);
    free(dest);
}

static void
test_tree_materialise_reports_missing_blob(void **state)
{
    fixture_t *fixture = *state;
    char *work = s_path(fixture, "work");
    char *dest = s_path(fixture, "dest");
    s_make_workspace(work);
    tsr_tree_t *tree = tsr_tree_new();
    assert_int_equal(tsr_tree_scan(tree, work, NULL), TSR_OK);
    assert_int_equal(tsr_tree_materialise(fixture->cas, tsr_tree_root(tree), dest), TSR_ENOTFOUND);
    assert_int_equal(tsr_tree_store(tree, fixture->cas), TSR_OK);
    tsr_digest_t readme;
    tsr_digest_buffer("read me\n", 8, &readme);
    assert_int_equal(tsr_cas_delete(fixture->cas, &readme), TSR_OK);
    char *other = s_path(fixture, "other");
    assert_int_equal(tsr_tree_materialise(fixture->cas, tsr_tree_root(tree), other), TSR_ENOTFOUND);
    free(other);
    tsr_tree_destroy(&tree);
    free(work);
    free(dest);
}

//  Store a hand-built Tree with one entry `name` and return its digest
static void
s_store_hostile_tree(tsr_cas_t *cas, const char *name, Tessera__TreeEntry__Kind kind,
                     const tsr_digest_t *child, tsr_digest_t *digest_out)
{
    uint8_t hash[TSR_DIGEST_BYTES];
    memcpy(hash, child->hash, sizeof hash);
    Tessera__Digest digest = TESSERA__DIGEST__INIT;
    digest.hash.data = hash;
    digest.hash.len = sizeof hash;
    digest.size = child->size;
    Tessera__TreeEntry entry = TESSERA__TREE_ENTRY__INIT;
    entry.name = (char *)name;
    entry.kind = kind;
    entry.mode = 0644;
    entry.digest = &digest;
    entry.target = (char *)"/";
    Tessera__TreeEntry *entries[] = {&entry};
    Tessera__Tree node = TESSERA__TREE__INIT;
    node.n_entries = 1;
    node.entries = entries;
    size_t size = tessera__tree__get_packed_size(&node);
    uint8_t *bytes = malloc(size);
    assert_int_equal(tessera__tree__pack(&node, bytes), size);
    assert_int_equal(tsr_cas_put_buffer(cas, bytes, size, digest_out), TSR_OK);
    free(bytes);
}

static void
test_tree_materialise_refuses_unsafe_names(void **state)
{
    fixture_t *fixture = *state;
    tsr_digest_t payload;
    assert_int_equal(tsr_cas_put_buffer(fixture->cas, "pwned\n", 6, &payload), TSR_OK);
    char *escaped = s_path(fixture, "evil");
    const char *names[] = {"../evil", "..", ".", "", "a/b", "/evil"};
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++) {
        tsr_digest_t root;
        s_store_hostile_tree(fixture->cas, names[index], TESSERA__TREE_ENTRY__KIND__FILE, &payload,
                             &root);
        char *dest = zsys_sprintf("%s/dest-%zu", fixture->root, index);
        assert_int_equal(tsr_tree_materialise(fixture->cas, &root, dest), TSR_EUNSAFE);
        assert_false(s_exists(escaped));
        free(dest);
    }
    //  Also one level down: a safe directory holding "../evil"
    tsr_digest_t inner, outer;
    s_store_hostile_tree(fixture->cas, "../../evil", TESSERA__TREE_ENTRY__KIND__FILE, &payload,
                         &inner);
    s_store_hostile_tree(fixture->cas, "sub", TESSERA__TREE_ENTRY__KIND__DIR, &inner, &outer);
    char *dest = s_path(fixture, "dest-nested");
    assert_int_equal(tsr_tree_materialise(fixture->cas, &outer, dest), TSR_EUNSAFE);
    assert_false(s_exists(escaped));
    free(dest);
    free(escaped);
}

int
main(void)
{
#define TREE_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        TREE_TEST(test_tree_scan_twice_gives_same_root),
        TREE_TEST(test_tree_root_changes_with_content_and_structure),
        TREE_TEST(test_tree_root_changes_with_exec_bit_only),
        TREE_TEST(test_ignore_patterns_follow_gitignore_rules),
        TREE_TEST(test_ignore_load_reads_file_lines),
        TREE_TEST(test_tree_scan_applies_ignore_and_skips_git),
        TREE_TEST(test_tree_dedupes_identical_blobs),
        TREE_TEST(test_tree_read_returns_blob_bytes),
        TREE_TEST(test_tree_store_then_missing_is_empty),
        TREE_TEST(test_tree_missing_lists_root_of_fresh_cas_then_absent_blobs),
        TREE_TEST(test_tree_missing_rejects_unparsable_tree),
        TREE_TEST(test_tree_materialise_reproduces_files_modes_symlinks),
        TREE_TEST(test_tree_materialise_reports_missing_blob),
        TREE_TEST(test_tree_materialise_refuses_unsafe_names),
    };
#undef TREE_TEST
    return cmocka_run_group_tests(tests, NULL, NULL);
}
