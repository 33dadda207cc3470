/*  Unit tests for tsr_digest: BLAKE2b-256 known answers, text forms, files,
    and the streaming hasher agreeing with the one-shot digest.              */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsr_digest.h"
#include "tsr_testdir.h"

//  BLAKE2b-256 known answers, from /usr/bin/python3
//  hashlib.blake2b(message, digest_size=32).hexdigest()
#define EMPTY_HEX "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
#define ABC_HEX "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"

//  A scratch directory per test
typedef struct {
    char *dir; //  owned (tsr_testdir)
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *fixture = calloc(1, sizeof *fixture);
    assert_non_null(fixture);
    fixture->dir = tsr_testdir_new("test_tsr_digest");
    *state = fixture;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *fixture = *state;
    tsr_testdir_destroy(&fixture->dir);
    free(fixture);
    return 0;
}

//  Deterministic, non-repeating-looking content of `size` bytes
static uint8_t *
s_pattern(size_t size)
{
    uint8_t *bytes = malloc(size ? size : 1);
    assert_non_null(bytes);
    uint32_t state = 2463534242u;
    for (size_t index = 0; index < size; index++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes[index] = (uint8_t)state;
    }
    return bytes;
}

static void
s_write_file(const char *path, const void *bytes, size_t size)
{
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    if (size)
        assert_int_equal(fwrite(bytes, 1, size, file), size);
    assert_int_equal(fclose(file), 0);
}

static void
test_digest_known_answers(void **state)
{
    (void)state;
    tsr_digest_t digest;
    char hex[TSR_DIGEST_HEX_LEN + 1];

    tsr_digest_buffer("", 0, &digest);
    tsr_digest_hex(&digest, hex);
    assert_string_equal(hex, EMPTY_HEX);
    assert_int_equal(digest.size, 0);

    tsr_digest_buffer("abc", 3, &digest);
    tsr_digest_hex(&digest, hex);
    assert_string_equal(hex, ABC_HEX);
    assert_int_equal(digest.size, 3);
}

static void
test_digest_str_parse_round_trip(void **state)
{
    (void)state;
    tsr_digest_t digest;
    tsr_digest_buffer("abc", 3, &digest);
    char text[TSR_DIGEST_STR_LEN];
    tsr_digest_str(&digest, text);
    assert_string_equal(text, ABC_HEX "/3");

    tsr_digest_t parsed;
    memset(&parsed, 0xAA, sizeof parsed);
    assert_int_equal(tsr_digest_parse(text, &parsed), TSR_OK);
    assert_true(tsr_digest_eq(&digest, &parsed));

    //  The largest size fits the text buffer and survives the round trip
    digest.size = UINT64_MAX;
    tsr_digest_str(&digest, text);
    assert_string_equal(text, ABC_HEX "/18446744073709551615");
    assert_int_equal(tsr_digest_parse(text, &parsed), TSR_OK);
    assert_true(tsr_digest_eq(&digest, &parsed));
}

static void
test_digest_parse_rejects_bad_input(void **state)
{
    (void)state;
    static const char *bad_texts[] = {
        "",
        ABC_HEX,                                                              //  no size
        ABC_HEX "/",                                                          //  empty size
        ABC_HEX "3",                                                          //  no separator
        ABC_HEX ":3",                                                         //  wrong separator
        "bddd/3",                                                             //  short hash
        ABC_HEX "00/3",                                                       //  long hash
        "zzdd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319/3", //  not hex
        ABC_HEX "/-3",                                                        //  signed size
        ABC_HEX "/+3",                                                        //  signed size
        ABC_HEX "/ 3",                                                        //  blank
        ABC_HEX "/3 ",                                                        //  trailing blank
        ABC_HEX "/3x",                                                        //  trailing junk
        ABC_HEX "/18446744073709551616",                                      //  UINT64_MAX + 1
        ABC_HEX "/000000000000000000003",                                     //  21 digits
    };
    tsr_digest_t untouched;
    memset(&untouched, 0x5A, sizeof untouched);
    for (size_t index = 0; index < sizeof bad_texts / sizeof bad_texts[0]; index++) {
        tsr_digest_t parsed = untouched;
        assert_int_equal(tsr_digest_parse(bad_texts[index], &parsed), TSR_EINVAL);
        assert_memory_equal(&parsed, &untouched, sizeof parsed); //  output left alone
    }
}

static void
test_digest_eq_compares_hash_and_size(void **state)
{
    (void)state;
    tsr_digest_t abc, abd, abc_other_size;
    tsr_digest_buffer("abc", 3, &abc);
    tsr_digest_buffer("abd", 3, &abd);
    abc_other_size = abc;
    abc_other_size.size = 4;
    assert_true(tsr_digest_eq(&abc, &abc));
    assert_false(tsr_digest_eq(&abc, &abd));
    assert_false(tsr_digest_eq(&abc, &abc_other_size));
}

static void
test_digest_file_equals_buffer_digest(void **state)
{
    fixture_t *fixture = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/content", fixture->dir);
    //  Larger than one read so the loop runs several times, and not a multiple of it
    size_t size = 3 * 64 * 1024 + 12345;
    uint8_t *bytes = s_pattern(size);
    s_write_file(path, bytes, size);

    tsr_digest_t from_buffer, from_file;
    tsr_digest_buffer(bytes, size, &from_buffer);
    assert_int_equal(tsr_digest_file(path, &from_file), TSR_OK);
    assert_true(tsr_digest_eq(&from_buffer, &from_file));
    assert_int_equal(from_file.size, size);

    //  The same through an open descriptor
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    tsr_digest_t from_fd;
    assert_int_equal(tsr_digest_fd(fd, &from_fd), TSR_OK);
    close(fd);
    assert_true(tsr_digest_eq(&from_buffer, &from_fd));

    //  An empty file hashes like the empty buffer
    s_write_file(path, "", 0);
    tsr_digest_t empty;
    assert_int_equal(tsr_digest_file(path, &from_file), TSR_OK);
    tsr_digest_buffer("", 0, &empty);
    assert_true(tsr_digest_eq(&empty, &from_file));

    assert_int_equal(unlink(path), 0);
    free(bytes);
}

static void
test_digest_file_reports_errors(void **state)
{
    fixture_t *fixture = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/absent", fixture->dir);
    tsr_digest_t digest;
    assert_int_equal(tsr_digest_file(path, &digest), -ENOENT);
    //  A directory is not a regular file
    assert_int_equal(tsr_digest_file(fixture->dir, &digest), -EISDIR);
    //  A descriptor that cannot be read
    snprintf(path, sizeof path, "%s/write-only", fixture->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(tsr_digest_fd(fd, &digest), -EBADF);
    close(fd);
    assert_int_equal(unlink(path), 0);
}

static void
test_hasher_in_pieces_equals_one_shot(void **state)
{
    (void)state;
    size_t size = 200000;
    uint8_t *bytes = s_pattern(size);
    tsr_digest_t one_shot;
    tsr_digest_buffer(bytes, size, &one_shot);

    //  Uneven pieces, including empty ones and ones crossing BLAKE2b's 128-byte blocks
    static const size_t piece_sizes[] = {0, 1, 127, 128, 129, 0, 4096, 65536, 3};
    tsr_hasher_t *hasher = tsr_hasher_new();
    assert_non_null(hasher);
    size_t offset = 0;
    for (size_t index = 0; offset < size; index++) {
        size_t piece = piece_sizes[index % (sizeof piece_sizes / sizeof piece_sizes[0])];
        if (piece > size - offset)
            piece = size - offset;
        tsr_hasher_update(hasher, bytes + offset, piece);
        offset += piece;
    }
    tsr_digest_t streamed;
    tsr_hasher_final(hasher, &streamed);
    tsr_hasher_destroy(&hasher);
    assert_null(hasher);
    tsr_hasher_destroy(&hasher); //  NULL-safe

    assert_true(tsr_digest_eq(&one_shot, &streamed));
    assert_int_equal(streamed.size, size);

    //  A hasher fed nothing gives the empty digest
    hasher = tsr_hasher_new();
    tsr_hasher_final(hasher, &streamed);
    tsr_hasher_destroy(&hasher);
    char hex[TSR_DIGEST_HEX_LEN + 1];
    tsr_digest_hex(&streamed, hex);
    assert_string_equal(hex, EMPTY_HEX);
    free(bytes);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digest_known_answers),
        cmocka_unit_test(test_digest_str_parse_round_trip),
        cmocka_unit_test(test_digest_parse_rejects_bad_input),
        cmocka_unit_test(test_digest_eq_compares_hash_and_size),
        cmocka_unit_test_setup_teardown(test_digest_file_equals_buffer_digest, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_digest_file_reports_errors, s_setup, s_teardown),
        cmocka_unit_test(test_hasher_in_pieces_equals_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
