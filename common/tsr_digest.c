/*  tsr_digest - BLAKE2b-256 content digests over libsodium crypto_generichash
    The only place that hashes content (STYLE 10). A digest is the 32-byte
    unkeyed BLAKE2b-256 of the bytes plus their count; the text form is
    "<64 lowercase hex>/<decimal size>". libsodium is initialised once per
    process, on first use, through pthread_once. Values and hashers may be used
    from any thread; one hasher belongs to one thread at a time.               */
#include "tsr_digest.h" //  own header first: proves it self-contained
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Bytes read per read(2) when hashing a file or descriptor
#define TSR_DIGEST_READ_BYTES (64 * 1024)

//  Longest decimal uint64 (18446744073709551615)
#define TSR_DIGEST_SIZE_DIGITS 20

_Static_assert(TSR_DIGEST_BYTES == crypto_generichash_BYTES, "BLAKE2b-256 is 32 bytes");
_Static_assert(TSR_DIGEST_STR_LEN == TSR_DIGEST_HEX_LEN + 1 + TSR_DIGEST_SIZE_DIGITS + 1,
               "hex + '/' + size + NUL");

struct _tsr_hasher_t {
    crypto_generichash_state state; //  libsodium BLAKE2b state (64-byte aligned)
    uint64_t size;                  //  bytes hashed so far
    bool is_final;                  //  tsr_hasher_final was called; no more updates
};

static pthread_once_t s_sodium_once = PTHREAD_ONCE_INIT;

//  sodium_init only fails when the OS cannot supply randomness; we cannot hash
//  anything trustworthy then, so treat it like OOM and abort.
static void
s_sodium_init_once(void)
{
    if (sodium_init() < 0) {
        tsr_log_error("libsodium failed to initialise");
        abort();
    }
}

static void
s_sodium_init(void)
{
    int rc = pthread_once(&s_sodium_once, s_sodium_init_once);
    assert(rc == 0);
    (void)rc;
}

void
tsr_digest_buffer(const void *data, size_t size, tsr_digest_t *digest_out)
{
    assert(data || size == 0);
    assert(digest_out);
    s_sodium_init();
    //  One-shot BLAKE2b cannot fail for a valid output length and no key
    int rc = crypto_generichash(digest_out->hash, sizeof digest_out->hash, data, size, NULL, 0);
    assert(rc == 0);
    (void)rc;
    digest_out->size = size;
}

int
tsr_digest_file(const char *path, tsr_digest_t *digest_out)
{
    assert(path);
    assert(digest_out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc;
    struct stat file_stat;
    if (fstat(fd, &file_stat) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(file_stat.st_mode)) {
        rc = S_ISDIR(file_stat.st_mode) ? -EISDIR : -EINVAL;
        goto out;
    }
    rc = tsr_digest_fd(fd, digest_out);
out:
    close(fd);
    return rc;
}

int
tsr_digest_fd(int fd, tsr_digest_t *digest_out)
{
    assert(fd >= 0);
    assert(digest_out);
    int rc = TSR_OK;
    tsr_hasher_t *hasher = tsr_hasher_new();
    uint8_t *buffer = malloc(TSR_DIGEST_READ_BYTES);
    assert(buffer);
    while (true) {
        ssize_t got = read(fd, buffer, TSR_DIGEST_READ_BYTES);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            goto out;
        }
        if (got == 0)
            break;
        tsr_hasher_update(hasher, buffer, (size_t)got);
    }
    tsr_hasher_final(hasher, digest_out);
out:
    free(buffer);
    tsr_hasher_destroy(&hasher);
    return rc;
}

tsr_hasher_t *
tsr_hasher_new(void)
{
    s_sodium_init();
    //  crypto_generichash_state wants 64-byte alignment, more than malloc gives
    tsr_hasher_t *self = aligned_alloc(_Alignof(tsr_hasher_t), sizeof(tsr_hasher_t));
    if (!self)
        abort(); //  OOM, as zmalloc
    memset(self, 0, sizeof *self);
    int rc = crypto_generichash_init(&self->state, NULL, 0, TSR_DIGEST_BYTES);
    assert(rc == 0);
    (void)rc;
    return self;
}

void
tsr_hasher_update(tsr_hasher_t *self, const void *data, size_t size)
{
    assert(self);
    assert(!self->is_final);
    assert(data || size == 0);
    if (size == 0)
        return;
    int rc = crypto_generichash_update(&self->state, data, size);
    assert(rc == 0);
    (void)rc;
    self->size += size;
}

void
tsr_hasher_final(tsr_hasher_t *self, tsr_digest_t *digest_out)
{
    assert(self);
    assert(!self->is_final);
    assert(digest_out);
    int rc = crypto_generichash_final(&self->state, digest_out->hash, sizeof digest_out->hash);
    assert(rc == 0);
    (void)rc;
    digest_out->size = self->size;
    self->is_final = true;
}

void
tsr_hasher_destroy(tsr_hasher_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        sodium_memzero(*self_p, sizeof **self_p);
        free(*self_p);
        *self_p = NULL;
    }
}

bool
tsr_digest_eq(const tsr_digest_t *left, const tsr_digest_t *right)
{
    assert(left);
    assert(right);
    return left->size == right->size && memcmp(left->hash, right->hash, TSR_DIGEST_BYTES) == 0;
}

void
tsr_digest_hex(const tsr_digest_t *digest, char *hex)
{
    assert(digest);
    assert(hex);
    sodium_bin2hex(hex, TSR_DIGEST_HEX_LEN + 1, digest->hash, TSR_DIGEST_BYTES);
}

void
tsr_digest_str(const tsr_digest_t *digest, char *text)
{
    assert(digest);
    assert(text);
    tsr_digest_hex(digest, text);
    snprintf(text + TSR_DIGEST_HEX_LEN, TSR_DIGEST_STR_LEN - TSR_DIGEST_HEX_LEN, "/%" PRIu64,
             digest->size);
}

int
tsr_digest_parse(const char *text, tsr_digest_t *digest_out)
{
    assert(text);
    assert(digest_out);
    //  Exactly 64 hex digits, '/', then 1 to 20 decimal digits and nothing else
    size_t text_len = strnlen(text, TSR_DIGEST_STR_LEN);
    if (text_len < TSR_DIGEST_HEX_LEN + 2 || text_len >= TSR_DIGEST_STR_LEN)
        return TSR_EINVAL;
    if (text[TSR_DIGEST_HEX_LEN] != '/')
        return TSR_EINVAL;
    tsr_digest_t parsed;
    size_t hash_len = 0;
    const char *hex_end = NULL;
    if (sodium_hex2bin(parsed.hash, sizeof parsed.hash, text, TSR_DIGEST_HEX_LEN, NULL, &hash_len,
                       &hex_end) != 0 ||
        hash_len != TSR_DIGEST_BYTES || hex_end != text + TSR_DIGEST_HEX_LEN)
        return TSR_EINVAL;
    const char *size_text = text + TSR_DIGEST_HEX_LEN + 1;
    //  strtoull would accept a sign and leading blanks; a size is digits only
    for (const char *cursor = size_text; *cursor; cursor++)
        if (*cursor < '0' || *cursor > '9')
            return TSR_EINVAL;
    errno = 0;
    char *size_end = NULL;
    unsigned long long size = strtoull(size_text, &size_end, 10);
    if (errno == ERANGE || size_end == size_text || *size_end != '\0')
        return TSR_EINVAL;
    parsed.size = (uint64_t)size;
    *digest_out = parsed;
    return TSR_OK;
}
