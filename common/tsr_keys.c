/*  tsr_keys - CURVE key pairs and allow-lists, as czmq certificate files
    A key pair is PATH (czmq secret certificate: public + secret key, 0600)
    and PATH.pub (public certificate). An allow-list is a zcertstore over a
    directory. Callers: daemons at startup and on SIGHUP, `tessera keygen`.
    Any thread; tsr_keys_generate changes the process umask briefly.         */
#include "tsr_keys.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  A certificate file is a few hundred bytes; anything far larger is not one
#define TSR_KEYS_FILE_MAX_BYTES (64u * 1024)
//  Z85 text of a 32-byte CURVE key, without NUL
#define TSR_KEYS_Z85_LEN 40

struct _tsr_allow_t {
    char *dir;           //  owned; the directory of *.pub certificates
    zcertstore_t *store; //  owned; czmq reloads it on lookup when `dir` changes
    size_t key_count;    //  distinct keys in `dir` at the last new/reload
};

//  Decode a 40-char Z85 key into `key` (32 bytes). False if it is not one.
static bool
s_decode_key(const char *text, uint8_t *key)
{
    return text && strlen(text) == TSR_KEYS_Z85_LEN && zmq_z85_decode(key, text) != NULL;
}

//  Read a certificate file through one descriptor, so the mode we check is the
//  mode of the bytes we parse. Returns TSR_OK with *config_out, TSR_EPERM,
//  TSR_EKEY or -errno.
static int
s_read_config(const char *path, bool check_private, zconfig_t **config_out)
{
    *config_out = NULL;
    int rc = TSR_OK;
    FILE *file = NULL;
    zchunk_t *chunk = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat info;
    if (fstat(fd, &info) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(info.st_mode) || info.st_size > (off_t)TSR_KEYS_FILE_MAX_BYTES) {
        rc = TSR_EKEY;
        goto out;
    }
    if (check_private && (info.st_mode & 077) != 0) {
        rc = TSR_EPERM;
        goto out;
    }
    file = fdopen(fd, "r");
    if (!file) {
        rc = -errno;
        goto out;
    }
    fd = -1; //  owned by `file` now
    chunk = zchunk_read(file, TSR_KEYS_FILE_MAX_BYTES);
    if (!chunk) {
        rc = ferror(file) ? -EIO : TSR_EKEY;
        goto out;
    }
    *config_out = zconfig_chunk_load(chunk);
    if (!*config_out)
        rc = TSR_EKEY;
out:
    zchunk_destroy(&chunk);
    if (file)
        fclose(file);
    if (fd >= 0)
        close(fd);
    return rc;
}

//  Copy the certificate's /metadata section, as zcert_load does
static void
s_copy_metadata(zconfig_t *config, zcert_t *cert)
{
    zconfig_t *metadata = zconfig_locate(config, "/metadata");
    for (zconfig_t *item = metadata ? zconfig_child(metadata) : NULL; item;
         item = zconfig_next(item)) {
        const char *value = zconfig_value(item);
        zcert_set_meta(cert, zconfig_name(item), "%s", value ? value : "");
    }
}

//  Load a certificate file; with `want_secret`, it must hold a secret key that
//  matches its public key. Parsed here rather than by zcert_load, which would
//  read PATH_secret instead of PATH when such a file exists.
static int
s_load(const char *path, bool want_secret, zcert_t **cert_out)
{
    assert(path);
    assert(cert_out);
    *cert_out = NULL;
    zconfig_t *config = NULL;
    int rc = s_read_config(path, want_secret, &config);
    if (rc != TSR_OK)
        return rc;

    uint8_t public_key[32] = {0};
    uint8_t secret_key[32] = {0};
    const char *public_txt = zconfig_get(config, "/curve/public-key", NULL);
    if (!s_decode_key(public_txt, public_key)) {
        rc = TSR_EKEY;
        goto out;
    }
    if (want_secret) {
        const char *secret_txt = zconfig_get(config, "/curve/secret-key", NULL);
        static const uint8_t zero_key[32] = {0};
        char derived_txt[TSR_KEYS_Z85_LEN + 1];
        if (!s_decode_key(secret_txt, secret_key) || memcmp(secret_key, zero_key, 32) == 0 ||
            zmq_curve_public(derived_txt, secret_txt) != 0 ||
            strcmp(derived_txt, public_txt) != 0) {
            rc = TSR_EKEY; //  no secret, or one that does not belong to the public key
            goto out;
        }
    }
    //  A public load never carries a secret along, even from a secret file
    zcert_t *cert = zcert_new_from(public_key, secret_key);
    if (!cert) {
        rc = TSR_EKEY;
        goto out;
    }
    s_copy_metadata(config, cert);
    *cert_out = cert;
out:
    sodium_memzero(secret_key, sizeof secret_key);
    zconfig_destroy(&config);
    return rc;
}

//  Create an empty file next to `path` (mkstemp: O_EXCL, 0600), then give it
//  `mode`. Returns its name (caller frees) or NULL with errno set.
static char *
s_temp_file(const char *path, mode_t mode)
{
    char *name = zsys_sprintf("%s.tmp-XXXXXX", path);
    assert(name);
    int fd = mkstemp(name);
    if (fd < 0) {
        int error = errno;
        zstr_free(&name);
        errno = error;
        return NULL;
    }
    if (fchmod(fd, mode) != 0) {
        int error = errno;
        close(fd);
        unlink(name);
        zstr_free(&name);
        errno = error;
        return NULL;
    }
    close(fd);
    return name;
}

int
tsr_keys_generate(const char *path)
{
    assert(path);
    int rc = TSR_OK;
    char *public_path = zsys_sprintf("%s.pub", path);
    char *secret_temp = NULL;
    char *public_temp = NULL;
    zcert_t *cert = NULL;
    struct stat info;
    assert(public_path);
    if (lstat(path, &info) == 0 || lstat(public_path, &info) == 0) {
        rc = -EEXIST;
        goto out;
    }
    cert = zcert_new();
    if (!cert) {
        rc = TSR_EKEY; //  libzmq built without CURVE
        goto out;
    }
    //  The secret never sits in a file anyone else may read, not even briefly:
    //  it is written into a file created 0600, under a private umask
    secret_temp = s_temp_file(path, 0600);
    public_temp = secret_temp ? s_temp_file(path, 0644) : NULL;
    if (!public_temp) {
        rc = -errno;
        goto out;
    }
    errno = 0;
    mode_t old_umask = umask(077);
    int secret_rc = zcert_save_secret(cert, secret_temp); //  sets umask itself
    umask(old_umask);
    if (secret_rc != 0 || zcert_save_public(cert, public_temp) != 0) {
        rc = errno ? -errno : -EIO;
        goto out;
    }
    if (stat(secret_temp, &info) != 0) {
        rc = -errno;
        goto out;
    }
    if ((info.st_mode & 07777) != 0600) {
        rc = -EPERM; //  someone else changed it under us
        goto out;
    }
    //  link(), unlike rename(), refuses to replace an existing key
    if (link(secret_temp, path) != 0) {
        rc = -errno;
        goto out;
    }
    if (link(public_temp, public_path) != 0) {
        rc = -errno;
        unlink(path);
        goto out;
    }
out:
    if (secret_temp)
        unlink(secret_temp);
    if (public_temp)
        unlink(public_temp);
    zstr_free(&secret_temp);
    zstr_free(&public_temp);
    zstr_free(&public_path);
    zcert_destroy(&cert);
    return rc;
}

int
tsr_keys_load_secret(const char *path, zcert_t **cert_out)
{
    return s_load(path, true, cert_out);
}

int
tsr_keys_load_public(const char *path, zcert_t **cert_out)
{
    return s_load(path, false, cert_out);
}

int
tsr_keys_ensure(const char *path, zcert_t **cert_out)
{
    assert(path);
    assert(cert_out);
    *cert_out = NULL;
    char *public_path = zsys_sprintf("%s.pub", path);
    assert(public_path);
    struct stat info;
    //  Half a pair (only PATH.pub) is an operator's mistake, not a first start
    bool absent = lstat(path, &info) != 0 && errno == ENOENT && lstat(public_path, &info) != 0 &&
                  errno == ENOENT;
    zstr_free(&public_path);
    if (absent) {
        int rc = tsr_keys_generate(path);
        if (rc != TSR_OK && rc != -EEXIST) //  EEXIST: another process won the race
            return rc;
        if (rc == TSR_OK)
            tsr_log_info("generated key pair path=%s", path);
    }
    return tsr_keys_load_secret(path, cert_out);
}

void
tsr_keys_short_id(const char *public_z85, char *id)
{
    assert(public_z85);
    assert(id);
    snprintf(id, 9, "%.8s", public_z85);
}

//  Count the distinct keys in `dir` the way zcertstore's disk loader reads
//  them: regular files, recursively, not named *_secret, that zcert_load accepts.
static size_t
s_count_keys(const char *dir)
{
    zdir_t *zdir = zdir_new(dir, NULL);
    if (!zdir)
        return 0;
    zhashx_t *keys = zhashx_new(); //  public key -> nothing; a set
    assert(keys);
    zfile_t **files = zdir_flatten(zdir);
    assert(files);
    for (size_t index = 0; files[index]; index++) {
        const char *name = zfile_filename(files[index], NULL);
        size_t length = strlen(name);
        if (!zfile_is_regular(files[index]) ||
            (length >= 7 && strcmp(name + length - 7, "_secret") == 0))
            continue;
        zcert_t *cert = zcert_load(name);
        if (cert)
            zhashx_update(keys, zcert_public_txt(cert), (void *)"");
        zcert_destroy(&cert);
    }
    size_t count = zhashx_size(keys);
    zdir_flatten_free(&files);
    zhashx_destroy(&keys);
    zdir_destroy(&zdir);
    return count;
}

tsr_allow_t *
tsr_allow_new(const char *dir)
{
    assert(dir);
    if (zsys_dir_create("%s", dir) != 0) {
        tsr_log_warn("cannot create allow-list directory dir=%s: %s", dir, strerror(errno));
        return NULL;
    }
    tsr_allow_t *self = (tsr_allow_t *)zmalloc(sizeof(tsr_allow_t));
    assert(self);
    self->dir = strdup(dir);
    assert(self->dir);
    self->store = zcertstore_new(self->dir);
    assert(self->store);
    self->key_count = s_count_keys(self->dir);
    return self;
}

void
tsr_allow_destroy(tsr_allow_t **self_p)
{
    assert(self_p);
    tsr_allow_t *self = *self_p;
    if (self) {
        zcertstore_destroy(&self->store);
        zstr_free(&self->dir);
        free(self);
        *self_p = NULL;
    }
}

int
tsr_allow_reload(tsr_allow_t *self)
{
    assert(self);
    struct stat info;
    if (stat(self->dir, &info) != 0)
        return -errno; //  the current list stays; the caller logs
    if (!S_ISDIR(info.st_mode))
        return -ENOTDIR;
    zcertstore_destroy(&self->store);
    self->store = zcertstore_new(self->dir);
    assert(self->store);
    self->key_count = s_count_keys(self->dir);
    return TSR_OK;
}

bool
tsr_allow_has(tsr_allow_t *self, const char *public_z85)
{
    assert(self);
    if (!public_z85 || strlen(public_z85) != TSR_KEYS_Z85_LEN)
        return false;
    return zcertstore_lookup(self->store, public_z85) != NULL;
}

size_t
tsr_allow_size(tsr_allow_t *self)
{
    assert(self);
    return self->key_count;
}
