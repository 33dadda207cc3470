/*  tsr_digest - BLAKE2b-256 content digests (libsodium crypto_generichash)
    A digest is the hash of the content plus its size. Values, any thread.   */
#ifndef TSR_DIGEST_H
#define TSR_DIGEST_H

#include "tsr_common.h"

#define TSR_DIGEST_BYTES 32
#define TSR_DIGEST_HEX_LEN 64 //  hex chars, without NUL
//  "hex/size" text form: 64 hex + '/' + up to 20 digits + NUL
#define TSR_DIGEST_STR_LEN 86

typedef struct {
    uint8_t hash[TSR_DIGEST_BYTES]; //  BLAKE2b-256 of the content
    uint64_t size;                  //  content size, bytes
} tsr_digest_t;

//  Streaming hasher; opaque, one owner.
typedef struct _tsr_hasher_t tsr_hasher_t;

//  Digest of a buffer. Never fails.
void tsr_digest_buffer(const void *data, size_t size, tsr_digest_t *digest_out);

//  Digest of a regular file's content. Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_digest_file(const char *path, tsr_digest_t *digest_out);

//  Digest of everything readable from `fd` until EOF. Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_digest_fd(int fd, tsr_digest_t *digest_out);

tsr_hasher_t *tsr_hasher_new(void);
void tsr_hasher_update(tsr_hasher_t *self, const void *data, size_t size);
//  Final digest; the hasher may not be updated afterwards.
void tsr_hasher_final(tsr_hasher_t *self, tsr_digest_t *digest_out);
void tsr_hasher_destroy(tsr_hasher_t **self_p);

bool tsr_digest_eq(const tsr_digest_t *left, const tsr_digest_t *right);

//  64 lowercase hex chars + NUL into `hex` (TSR_DIGEST_HEX_LEN + 1 bytes).
void tsr_digest_hex(const tsr_digest_t *digest, char *hex);

//  "hex/size" into `text` (TSR_DIGEST_STR_LEN bytes).
void tsr_digest_str(const tsr_digest_t *digest, char *text);

//  Parse "hex/size". Returns TSR_OK or TSR_EINVAL.
TSR_NODISCARD int tsr_digest_parse(const char *text, tsr_digest_t *digest_out);

#endif
