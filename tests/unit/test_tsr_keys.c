/*  Unit tests for tsr_keys: key pair files, their modes, loading, and the
    directory allow-list. Files live in a fresh directory under
    $TSR_TEST_TMP (or /tmp), removed afterwards.                            */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_keys.h"
#include "tsr_testdir.h"

//  Z85 of 32 zero bytes: what czmq shows for "no secret key"
#define ZERO_KEY_TXT "0000000000000000000000000000000000000000"

//  Per-test directory, handed to tests as *state
static int
s_setup(void **state)
{
    *state = tsr_testdir_new("test_tsr_keys");
    return 0;
}

static int
s_teardown(void **state)
{
    char *dir = (char *)*state;
    tsr_testdir_destroy(&dir);
    return 0;
}

//  "DIR/NAME", caller frees
static char *
s_path(void **state, const char *name)
{
    char *path = zsys_sprintf("%s/%s", (const char *)*state, name);
    assert_non_null(path);
    return path;
}

static char *
s_read_text(const char *path)
{
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    char *text = (char *)calloc(1, 4096);
    assert_non_null(text);
    size_t length = fread(text, 1, 4095, file);
    (void)length;
    fclose(file);
    return text;
}

static void
s_write_text(const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs(text, file);
    fclose(file);
    assert_int_equal(chmod(path, mode), 0);
}

static size_t
s_count_entries(const char *dir)
{
    size_t count = 0;
    zdir_t *zdir = zdir_new(dir, NULL);
    assert_non_null(zdir);
    count = zdir_count(zdir);
    zdir_destroy(&zdir);
    return count;
}

static void
test_keys_generate_writes_private_secret_and_public(void **state)
{
    char *path = s_path(state, "agent");
    char *public_path = s_path(state, "agent.pub");
    mode_t old_umask = umask(0); //  the secret must be 0600 whatever the umask
    assert_int_equal(tsr_keys_generate(path), TSR_OK);
    assert_int_equal(umask(old_umask), 0); //  and the umask is left as it was

    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    assert_int_equal(info.st_mode & 07777, 0600);
    assert_int_equal(stat(public_path, &info), 0);
    assert_true(S_ISREG(info.st_mode));

    char *secret_text = s_read_text(path);
    char *public_text = s_read_text(public_path);
    assert_non_null(strstr(secret_text, "secret-key"));
    assert_non_null(strstr(public_text, "public-key"));
    assert_null(strstr(public_text, "secret-key"));
    assert_int_equal(s_count_entries((const char *)*state), 2); //  no temp files left
    free(secret_text);
    free(public_text);
    zstr_free(&path);
    zstr_free(&public_path);
}

static void
test_keys_load_round_trip(void **state)
{
    char *path = s_path(state, "node");
    char *public_path = s_path(state, "node.pub");
    assert_int_equal(tsr_keys_generate(path), TSR_OK);

    zcert_t *secret = NULL;
    zcert_t *public = NULL;
    assert_int_equal(tsr_keys_load_secret(path, &secret), TSR_OK);
    assert_int_equal(tsr_keys_load_public(public_path, &public), TSR_OK);
    assert_string_equal(zcert_public_txt(secret), zcert_public_txt(public));
    assert_string_not_equal(zcert_secret_txt(secret), ZERO_KEY_TXT);
    assert_string_equal(zcert_secret_txt(public), ZERO_KEY_TXT);
    assert_int_equal(strlen(zcert_public_txt(secret)), 40);

    //  Loading a secret file as public drops the secret
    zcert_t *public_only = NULL;
    assert_int_equal(tsr_keys_load_public(path, &public_only), TSR_OK);
    assert_string_equal(zcert_public_txt(public_only), zcert_public_txt(secret));
    assert_string_equal(zcert_secret_txt(public_only), ZERO_KEY_TXT);

    char id[9];
    tsr_keys_short_id(zcert_public_txt(secret), id);
    assert_int_equal(strlen(id), 8);
    assert_memory_equal(id, zcert_public_txt(secret), 8);

    zcert_destroy(&public_only);
    zcert_destroy(&secret);
    zcert_destroy(&public);
    zstr_free(&path);
    zstr_free(&public_path);
}

static void
test_keys_load_keeps_metadata(void **state)
{
    char *path = s_path(state, "labelled.pub");
    zcert_t *original = zcert_new();
    zcert_set_meta(original, "name", "%s", "build-box-1");
    assert_int_equal(zcert_save_public(original, path), 0);
    zcert_t *loaded = NULL;
    assert_int_equal(tsr_keys_load_public(path, &loaded), TSR_OK);
    assert_string_equal(zcert_public_txt(loaded), zcert_public_txt(original));
    assert_non_null(zcert_meta(loaded, "name"));
    assert_string_equal(zcert_meta(loaded, "name"), "build-box-1");
    zcert_destroy(&loaded);
    zcert_destroy(&original);
    zstr_free(&path);
}

static void
test_keys_load_secret_refuses_loose_mode(void **state)
{
    char *path = s_path(state, "loose");
    assert_int_equal(tsr_keys_generate(path), TSR_OK);
    zcert_t *cert = NULL;
    static const mode_t loose[] = {0644, 0640, 0604, 0620, 0602, 0610};
    for (size_t index = 0; index < sizeof loose / sizeof loose[0]; index++) {
        assert_int_equal(chmod(path, loose[index]), 0);
        assert_int_equal(tsr_keys_load_secret(path, &cert), TSR_EPERM);
        assert_null(cert);
    }
    assert_int_equal(chmod(path, 0400), 0); //  tighter than 0600 is fine
    assert_int_equal(tsr_keys_load_secret(path, &cert), TSR_OK);
    zcert_destroy(&cert);
    zstr_free(&path);
}

static void
test_keys_load_rejects_garbage(void **state)
{
    char *path = s_path(state, "garbage");
    zcert_t *cert = NULL;
    static const char *garbage[] = {
        "this is not a certificate\n",
        "\x01\x02\x03\xff\xfe binary\n",
        "curve\n    public-key = \"tooshort\"\n    secret-key = \"tooshort\"\n",
        "",
    };
    for (size_t index = 0; index < sizeof garbage / sizeof garbage[0]; index++) {
        s_write_text(path, garbage[index], 0600);
        assert_int_equal(tsr_keys_load_secret(path, &cert), TSR_EKEY);
        assert_null(cert);
        assert_int_equal(tsr_keys_load_public(path, &cert), TSR_EKEY);
        assert_null(cert);
    }
    //  A directory is not a key either
    char *dir_path = s_path(state, "adir");
    assert_int_equal(mkdir(dir_path, 0700), 0);
    assert_int_equal(tsr_keys_load_secret(dir_path, &cert), TSR_EKEY);
    zstr_free(&dir_path);
    zstr_free(&path);
}

static void
test_keys_load_secret_rejects_public_or_mismatched_file(void **state)
{
    char *path = s_path(state, "pair");
    char *public_path = s_path(state, "pair.pub");
    assert_int_equal(tsr_keys_generate(path), TSR_OK);
    assert_int_equal(chmod(public_path, 0600), 0);
    zcert_t *cert = NULL;
    assert_int_equal(tsr_keys_load_secret(public_path, &cert), TSR_EKEY);
    assert_null(cert);

    //  A secret key that does not belong to the public key beside it
    zcert_t *first = zcert_new();
    zcert_t *second = zcert_new();
    zcert_t *mixed = zcert_new_from(zcert_public_key(first), zcert_secret_key(second));
    char *mixed_path = s_path(state, "mixed");
    assert_int_equal(zcert_save_secret(mixed, mixed_path), 0);
    assert_int_equal(chmod(mixed_path, 0600), 0);
    assert_int_equal(tsr_keys_load_secret(mixed_path, &cert), TSR_EKEY);
    assert_null(cert);
    zcert_destroy(&mixed);
    zcert_destroy(&first);
    zcert_destroy(&second);
    zstr_free(&mixed_path);
    zstr_free(&path);
    zstr_free(&public_path);
}

static void
test_keys_load_reads_path_not_secret_suffix(void **state)
{
    //  zcert_load(PATH) would prefer PATH_secret; we read PATH itself
    char *path = s_path(state, "mine");
    char *decoy_path = s_path(state, "mine_secret");
    assert_int_equal(tsr_keys_generate(path), TSR_OK);
    zcert_t *decoy = zcert_new();
    assert_int_equal(zcert_save_secret(decoy, decoy_path), 0);
    zcert_t *cert = NULL;
    assert_int_equal(tsr_keys_load_secret(path, &cert), TSR_OK);
    assert_string_not_equal(zcert_public_txt(cert), zcert_public_txt(decoy));
    zcert_destroy(&cert);
    zcert_destroy(&decoy);
    zstr_free(&path);
    zstr_free(&decoy_path);
}

static void
test_keys_load_missing_file_is_enoent(void **state)
{
    char *path = s_path(state, "absent");
    zcert_t *cert = NULL;
    assert_int_equal(tsr_keys_load_secret(path, &cert), -ENOENT);
    assert_int_equal(tsr_keys_load_public(path, &cert), -ENOENT);
    assert_null(cert);
    zstr_free(&path);
}

static void
test_keys_generate_refuses_overwrite(void **state)
{
    char *path = s_path(state, "once");
    char *public_path = s_path(state, "once.pub");
    assert_int_equal(tsr_keys_generate(path), TSR_OK);
    char *before = s_read_text(path);
    assert_int_equal(tsr_keys_generate(path), -EEXIST);
    char *after = s_read_text(path);
    assert_string_equal(before, after);

    //  Half a pair blocks generation too, and nothing is written
    char *other = s_path(state, "half");
    char *other_public = s_path(state, "half.pub");
    s_write_text(other_public, "placeholder\n", 0644);
    assert_int_equal(tsr_keys_generate(other), -EEXIST);
    struct stat info;
    assert_int_equal(stat(other, &info), -1);
    assert_int_equal(s_count_entries((const char *)*state), 3);

    //  A missing parent directory is the caller's problem
    char *orphan = s_path(state, "no/such/dir/key");
    assert_int_equal(tsr_keys_generate(orphan), -ENOENT);

    free(before);
    free(after);
    zstr_free(&orphan);
    zstr_free(&other);
    zstr_free(&other_public);
    zstr_free(&path);
    zstr_free(&public_path);
}

static void
test_keys_ensure_generates_once(void **state)
{
    char *path = s_path(state, "coordinator");
    zcert_t *first = NULL;
    zcert_t *second = NULL;
    assert_int_equal(tsr_keys_ensure(path, &first), TSR_OK);
    assert_non_null(first);
    assert_int_equal(tsr_keys_ensure(path, &second), TSR_OK);
    assert_string_equal(zcert_public_txt(first), zcert_public_txt(second));
    zcert_destroy(&first);
    zcert_destroy(&second);

    //  Only PATH.pub present: refuse to mint a new secret behind the operator's back
    char *lonely = s_path(state, "lonely");
    char *lonely_public = s_path(state, "lonely.pub");
    s_write_text(lonely_public, "placeholder\n", 0644);
    assert_int_equal(tsr_keys_ensure(lonely, &first), -ENOENT);
    assert_null(first);
    zstr_free(&lonely);
    zstr_free(&lonely_public);
    zstr_free(&path);
}

static void
test_allow_empty_dir_has_nothing(void **state)
{
    char *dir = s_path(state, "allow/nested");
    tsr_allow_t *allow = tsr_allow_new(dir);
    assert_non_null(allow);
    struct stat info;
    assert_int_equal(stat(dir, &info), 0); //  created
    assert_true(S_ISDIR(info.st_mode));
    assert_int_equal(tsr_allow_size(allow), 0);
    zcert_t *stranger = zcert_new();
    assert_false(tsr_allow_has(allow, zcert_public_txt(stranger)));
    assert_false(tsr_allow_has(allow, NULL));
    assert_false(tsr_allow_has(allow, "short"));
    zcert_destroy(&stranger);
    tsr_allow_destroy(&allow);
    assert_null(allow);
    tsr_allow_destroy(&allow); //  NULL-safe
    zstr_free(&dir);
}

static void
test_allow_follows_directory_on_reload(void **state)
{
    char *dir = s_path(state, "clients");
    char *key_path = s_path(state, "laptop");
    char *key_public = s_path(state, "laptop.pub");
    char *allowed_path = s_path(state, "clients/laptop.pub");
    tsr_allow_t *allow = tsr_allow_new(dir);
    assert_non_null(allow);
    assert_int_equal(tsr_keys_generate(key_path), TSR_OK);
    zcert_t *cert = NULL;
    assert_int_equal(tsr_keys_load_public(key_public, &cert), TSR_OK);
    const char *key = zcert_public_txt(cert);
    assert_false(tsr_allow_has(allow, key));

    //  Copy the .pub in (as an operator would) and reload
    char *text = s_read_text(key_public);
    s_write_text(allowed_path, text, 0644);
    free(text);
    assert_int_equal(tsr_allow_reload(allow), TSR_OK);
    assert_true(tsr_allow_has(allow, key));
    assert_int_equal(tsr_allow_size(allow), 1);
    zcert_t *stranger = zcert_new();
    assert_false(tsr_allow_has(allow, zcert_public_txt(stranger)));
    zcert_destroy(&stranger);

    //  Remove it and reload: refused again
    assert_int_equal(unlink(allowed_path), 0);
    assert_int_equal(tsr_allow_reload(allow), TSR_OK);
    assert_false(tsr_allow_has(allow, key));
    assert_int_equal(tsr_allow_size(allow), 0);

    //  A vanished directory is an error; the list stays as it was
    assert_int_equal(rmdir(dir), 0);
    assert_int_equal(tsr_allow_reload(allow), -ENOENT);
    assert_false(tsr_allow_has(allow, key));

    zcert_destroy(&cert);
    tsr_allow_destroy(&allow);
    zstr_free(&allowed_path);
    zstr_free(&key_public);
    zstr_free(&key_path);
    zstr_free(&dir);
}

static void
test_allow_new_fails_when_dir_cannot_exist(void **state)
{
    char *file = s_path(state, "plainfile");
    s_write_text(file, "x\n", 0644);
    char *dir = s_path(state, "plainfile/allow");
    assert_null(tsr_allow_new(dir));
    zstr_free(&dir);
    zstr_free(&file);
}

#define KEYS_TEST(name) cmocka_unit_test_setup_teardown(name, s_setup, s_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        KEYS_TEST(test_keys_generate_writes_private_secret_and_public),
        KEYS_TEST(test_keys_load_round_trip),
        KEYS_TEST(test_keys_load_keeps_metadata),
        KEYS_TEST(test_keys_load_secret_refuses_loose_mode),
        KEYS_TEST(test_keys_load_rejects_garbage),
        KEYS_TEST(test_keys_load_secret_rejects_public_or_mismatched_file),
        KEYS_TEST(test_keys_load_reads_path_not_secret_suffix),
        KEYS_TEST(test_keys_load_missing_file_is_enoent),
        KEYS_TEST(test_keys_generate_refuses_overwrite),
        KEYS_TEST(test_keys_ensure_generates_once),
        KEYS_TEST(test_allow_empty_dir_has_nothing),
        KEYS_TEST(test_allow_follows_directory_on_reload),
        KEYS_TEST(test_allow_new_fails_when_dir_cannot_exist),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    zsys_shutdown();
    return failed;
}
