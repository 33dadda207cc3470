/*  tsr_keys - CURVE key pairs and allow-lists, as czmq certificate files
    `tessera keygen PATH` writes PATH (secret, mode 0600) and PATH.pub (public).
    A secret file readable by group or others is refused (TSR_EPERM).
    An allow-list is a directory of *.pub certificates (zcertstore).
    Any thread; objects have one owner.                                     */
#ifndef TSR_KEYS_H
#define TSR_KEYS_H

#include "tsr_common.h"

//  Generate a key pair into PATH (secret, 0600) and PATH.pub. Parent directory
//  must exist. Refuses to overwrite (-EEXIST). Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_keys_generate(const char *path);

//  Load PATH as a secret certificate (public + secret key). Checks mode 0600.
//  Returns TSR_OK with *cert_out set (caller destroys), TSR_EPERM, TSR_EKEY or -errno.
TSR_NODISCARD int tsr_keys_load_secret(const char *path, zcert_t **cert_out);

//  Load a public certificate (PATH.pub or any zcert public file).
TSR_NODISCARD int tsr_keys_load_public(const char *path, zcert_t **cert_out);

//  Load PATH, or generate it first if neither PATH nor PATH.pub exists.
TSR_NODISCARD int tsr_keys_ensure(const char *path, zcert_t **cert_out);

//  Short printable id of a Z85 public key: its first 8 characters + NUL into `id`.
void tsr_keys_short_id(const char *public_z85, char *id);

//  A directory of allowed public keys.
typedef struct _tsr_allow_t tsr_allow_t;

//  Create an allow-list over `dir` (created if missing) and load it. NULL if
//  the directory cannot be created (logged).
tsr_allow_t *tsr_allow_new(const char *dir);
void tsr_allow_destroy(tsr_allow_t **self_p);
//  Re-read the directory (SIGHUP). Returns TSR_OK or -errno.
TSR_NODISCARD int tsr_allow_reload(tsr_allow_t *self);
//  Is this Z85 public key (40 chars) allowed? czmq re-reads the directory
//  when it has changed, so this may see files added since the last reload.
bool tsr_allow_has(tsr_allow_t *self, const char *public_z85);
//  Number of distinct keys found at the last new/reload.
size_t tsr_allow_size(tsr_allow_t *self);

#endif
