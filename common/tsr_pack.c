/*  tsr_pack - deterministic tar+zstd archives and their secure extraction
    Packing walks the tree itself (lstat, sorted paths) and writes pax
    (restricted) entries with zeroed mtime/uid/gid, no user or group names and
    normalised modes (dirs 0755, files 0755 or 0644, symlinks as symlinks), so
    equal content gives byte-identical archives. Unpacking validates every
    entry name itself, joins it under the real path of the destination and lets
    libarchive refuse `..` and writes through symlinks. No chdir: any thread.  */
#include "tsr_pack.h"
#include "tsr_list.h"
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TSR_PACK_CHUNK_BYTES (64 * 1024) //  read and copy buffer

//  Extraction flags: refuse `..` and writes through symlinks, restore modes,
//  never owners. Absolute paths are refused by s_relpath_is_safe before the
//  name is joined under the destination (the joined name is absolute).
#define TSR_PACK_EXTRACT_FLAGS                                                                     \
    (ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_PERM)

//  Is `path` a relative path without ".." components and not empty?
static bool
s_relpath_is_safe(const char *path)
{
    if (!path || !*path || *path == '/')
        return false;
    const char *component = path;
    while (*component) {
        size_t length = strcspn(component, "/");
        if (length == 2 && component[0] == '.' && component[1] == '.')
            return false;
        component += length;
        while (*component == '/')
            component++;
    }
    return true;
}

//  Does `path` name the root itself ("", ".", "./", "././")?
static bool
s_relpath_is_root(const char *path)
{
    for (; *path; path++)
        if (*path != '.' && *path != '/')
            return false;
    return true;
}

//  Add `relpath` to the entry list unless already there.
static void
s_add_relpath(zhashx_t *seen, zlistx_t *relpaths, const char *relpath)
{
    if (zhashx_insert(seen, relpath, (void *)"") == 0)
        zlistx_add_end(relpaths, strdup(relpath));
}

//  Add every entry below directory `rel` of `base` ("" for `base` itself),
//  recursively. Kinds other than files, directories and symlinks are skipped.
static int
s_collect(const char *base, const char *rel, zhashx_t *seen, zlistx_t *relpaths)
{
    char *dir_path = *rel ? zsys_sprintf("%s/%s", base, rel) : strdup(base);
    int rc = TSR_OK;
    DIR *dir = opendir(dir_path);
    if (!dir) {
        rc = -errno;
        goto out;
    }
    struct dirent *child;
    errno = 0;
    while ((child = readdir(dir))) {
        if (streq(child->d_name, ".") || streq(child->d_name, ".."))
            continue;
        char *child_rel = *rel ? zsys_sprintf("%s/%s", rel, child->d_name) : strdup(child->d_name);
        char *child_path = zsys_sprintf("%s/%s", base, child_rel);
        struct stat info;
        if (lstat(child_path, &info) != 0)
            rc = -errno;
        else if (S_ISDIR(info.st_mode)) {
            s_add_relpath(seen, relpaths, child_rel);
            rc = s_collect(base, child_rel, seen, relpaths);
        } else if (S_ISREG(info.st_mode) || S_ISLNK(info.st_mode))
            s_add_relpath(seen, relpaths, child_rel);
        free(child_path);
        free(child_rel);
        if (rc != TSR_OK)
            goto out;
        errno = 0;
    }
    if (errno != 0)
        rc = -errno;
out:
    if (dir)
        closedir(dir);
    free(dir_path);
    return rc;
}

//  Translate a failed libarchive call on a writer of our own archive.
static int
s_from_writer(struct archive *writer)
{
    int error = archive_errno(writer);
    tsr_log_debug("libarchive: %s", archive_error_string(writer));
    return error > 0 ? -error : TSR_EARCHIVE;
}

//  Copy exactly `size` bytes of `fd` into the current archive entry.
static int
s_write_content(struct archive *writer, int fd, int64_t size)
{
    char *buffer = malloc(TSR_PACK_CHUNK_BYTES);
    assert(buffer);
    int rc = TSR_OK;
    while (size > 0) {
        size_t want = size < TSR_PACK_CHUNK_BYTES ? (size_t)size : TSR_PACK_CHUNK_BYTES;
        ssize_t got = read(fd, buffer, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            goto out;
        }
        if (got == 0) { //  shrank while packing: the header already has the size
            rc = -EIO;
            goto out;
        }
        if (archive_write_data(writer, buffer, (size_t)got) < 0) {
            rc = s_from_writer(writer);
            goto out;
        }
        size -= got;
    }
out:
    free(buffer);
    return rc;
}

//  Write one entry `base/rel` with normalised metadata.
static int
s_write_entry(struct archive *writer, const char *base, const char *rel)
{
    char *path = zsys_sprintf("%s/%s", base, rel);
    struct archive_entry *entry = archive_entry_new();
    assert(entry);
    int fd = -1;
    int rc = TSR_OK;
    struct stat info;
    if (lstat(path, &info) != 0) {
        rc = -errno;
        goto out;
    }
    archive_entry_set_pathname(entry, rel);
    archive_entry_set_mtime(entry, 0, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    if (S_ISDIR(info.st_mode)) {
        archive_entry_set_filetype(entry, AE_IFDIR);
        archive_entry_set_perm(entry, 0755);
        archive_entry_set_size(entry, 0);
    } else if (S_ISLNK(info.st_mode)) {
        char target[PATH_MAX];
        ssize_t length = readlink(path, target, sizeof target);
        if (length < 0) {
            rc = -errno;
            goto out;
        }
        if ((size_t)length >= sizeof target) {
            rc = -ENAMETOOLONG;
            goto out;
        }
        target[length] = '\0';
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_perm(entry, 0777);
        archive_entry_set_size(entry, 0);
        archive_entry_set_symlink(entry, target);
    } else if (S_ISREG(info.st_mode)) {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &info) != 0) {
            rc = -errno;
            goto out;
        }
        if (!S_ISREG(info.st_mode)) {
            rc = -EIO; //  replaced by something else while packing
            goto out;
        }
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, (info.st_mode & 0111) ? 0755 : 0644);
        archive_entry_set_size(entry, info.st_size);
    } else
        goto out; //  turned into a socket or fifo since the walk: skip it

    if (archive_write_header(writer, entry) < ARCHIVE_WARN) {
        rc = s_from_writer(writer);
        goto out;
    }
    if (fd >= 0)
        rc = s_write_content(writer, fd, info.st_size);
out:
    if (fd >= 0)
        close(fd);
    archive_entry_free(entry);
    free(path);
    return rc;
}

//  Sort `relpaths` and write them, relative to `base`, into `archive_path`.
static int
s_write_archive(const char *base, zlistx_t *relpaths, const char *archive_path)
{
    tsr_list_sort_strings(relpaths);
    struct archive *writer = archive_write_new();
    assert(writer);
    bool opened = false;
    int rc = TSR_OK;
    if (archive_write_set_format_pax_restricted(writer) != ARCHIVE_OK ||
        archive_write_add_filter_zstd(writer) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(writer, 1) != ARCHIVE_OK) {
        rc = s_from_writer(writer);
        goto out;
    }
    if (archive_write_open_filename(writer, archive_path) != ARCHIVE_OK) {
        rc = s_from_writer(writer);
        goto out;
    }
    opened = true;
    for (const char *rel = zlistx_first(relpaths); rel; rel = zlistx_next(relpaths)) {
        rc = s_write_entry(writer, base, rel);
        if (rc != TSR_OK)
            goto out;
    }
    if (archive_write_close(writer) != ARCHIVE_OK)
        rc = s_from_writer(writer);
out:
    archive_write_free(writer);
    if (rc != TSR_OK && opened)
        unlink(archive_path);
    return rc;
}

//  A list of owned relative paths, sorted bytewise, and its duplicate filter.
static zlistx_t *
s_relpaths_new(void)
{
    zlistx_t *relpaths = zlistx_new();
    assert(relpaths);
    zlistx_set_destructor(relpaths, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_comparator(relpaths, (zlistx_comparator_fn *)strcmp);
    return relpaths;
}

int
tsr_pack_dir(const char *dir, const char *archive_path)
{
    assert(dir);
    assert(archive_path);
    zlistx_t *relpaths = s_relpaths_new();
    zhashx_t *seen = zhashx_new();
    assert(seen);
    int rc = s_collect(dir, "", seen, relpaths);
    if (rc == TSR_OK)
        rc = s_write_archive(dir, relpaths, archive_path);
    zhashx_destroy(&seen);
    zlistx_destroy(&relpaths);
    return rc;
}

//  Add one listed path (and its parent directories, so the archive carries
//  their modes) to the entry list; directories recursively.
static int
s_add_listed(const char *base, const char *listed, zhashx_t *seen, zlistx_t *relpaths)
{
    //  Normalise: drop "./" prefixes and trailing slashes
    while (listed[0] == '.' && listed[1] == '/')
        listed += 2;
    char *rel = strdup(listed);
    size_t length = strlen(rel);
    while (length > 0 && rel[length - 1] == '/')
        rel[--length] = '\0';
    int rc = TSR_OK;
    if (s_relpath_is_root(rel)) {
        rc = s_collect(base, "", seen, relpaths);
        goto out;
    }
    if (!s_relpath_is_safe(rel)) {
        rc = TSR_EINVAL;
        goto out;
    }
    for (char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        char *parent_path = zsys_sprintf("%s/%s", base, rel);
        struct stat info;
        if (lstat(parent_path, &info) != 0)
            rc = -errno;
        else if (!S_ISDIR(info.st_mode))
            rc = -ENOTDIR;
        else
            s_add_relpath(seen, relpaths, rel);
        free(parent_path);
        *slash = '/';
        if (rc != TSR_OK)
            goto out;
    }
    char *path = zsys_sprintf("%s/%s", base, rel);
    struct stat info;
    if (lstat(path, &info) != 0)
        rc = -errno;
    else if (S_ISDIR(info.st_mode)) {
        s_add_relpath(seen, relpaths, rel);
        rc = s_collect(base, rel, seen, relpaths);
    } else if (S_ISREG(info.st_mode) || S_ISLNK(info.st_mode))
        s_add_relpath(seen, relpaths, rel);
    free(path);
out:
    free(rel);
    return rc;
}

int
tsr_pack_paths(const char *base, zlistx_t *relpaths, const char *archive_path)
{
    assert(base);
    assert(relpaths);
    assert(archive_path);
    zlistx_t *entries = s_relpaths_new();
    zhashx_t *seen = zhashx_new();
    assert(seen);
    int rc = TSR_OK;
    for (const char *listed = zlistx_first(relpaths); listed; listed = zlistx_next(relpaths)) {
        rc = s_add_listed(base, listed, seen, entries);
        if (rc != TSR_OK)
            goto out;
    }
    rc = s_write_archive(base, entries, archive_path);
out:
    zhashx_destroy(&seen);
    zlistx_destroy(&entries);
    return rc;
}

//  Translate a failed write to disk: an errno is a disk problem, anything
//  else is libarchive refusing the entry (`..`, a symlink in the path).
static int
s_from_disk(struct archive *disk)
{
    int error = archive_errno(disk);
    tsr_log_debug("libarchive: %s", archive_error_string(disk));
    return error > 0 ? -error : TSR_EUNSAFE;
}

//  Check a read entry and point it under `dest_real`. TSR_EUNSAFE for names
//  that escape, hard links and kinds other than files, directories, symlinks.
static int
s_rebase_entry(struct archive_entry *entry, const char *dest_real)
{
    const char *name = archive_entry_pathname(entry);
    if (!s_relpath_is_safe(name))
        return TSR_EUNSAFE;
    if (archive_entry_hardlink(entry))
        return TSR_EUNSAFE; //  we never write them; a link target can escape
    mode_t kind = archive_entry_filetype(entry);
    if (kind != AE_IFREG && kind != AE_IFDIR && kind != AE_IFLNK)
        return TSR_EUNSAFE;
    char *full = zsys_sprintf("%s/%s", dest_real, name);
    int rc = TSR_OK;
    if (strlen(full) >= PATH_MAX)
        rc = TSR_EUNSAFE; //  libarchive would chdir along such paths
    else {
        archive_entry_copy_pathname(entry, full);
        archive_entry_set_perm(entry, archive_entry_perm(entry) & 0777); //  no setuid
    }
    free(full);
    return rc;
}

//  Copy the current entry's data from `reader` to `disk`.
static int
s_copy_data(struct archive *reader, struct archive *disk)
{
    while (true) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int status = archive_read_data_block(reader, &block, &size, &offset);
        if (status == ARCHIVE_EOF)
            return TSR_OK;
        if (status < ARCHIVE_WARN) {
            tsr_log_debug("libarchive: %s", archive_error_string(reader));
            return TSR_EARCHIVE;
        }
        if (archive_write_data_block(disk, block, size, offset) < ARCHIVE_WARN)
            return s_from_disk(disk);
    }
}

int
tsr_pack_unpack(const char *archive_path, const char *dest_dir)
{
    assert(archive_path);
    assert(dest_dir);
    struct archive *reader = NULL;
    struct archive *disk = NULL;
    int rc = TSR_OK;
    //  Symlinks in the destination itself are not the archive's doing: resolve
    //  them, so libarchive's symlink check applies to the entry's part only
    char *dest_real = realpath(dest_dir, NULL);
    if (!dest_real)
        return -errno;
    int fd = open(archive_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    reader = archive_read_new();
    disk = archive_write_disk_new();
    assert(reader && disk);
    if (archive_read_support_filter_zstd(reader) != ARCHIVE_OK ||
        archive_read_support_format_tar(reader) != ARCHIVE_OK ||
        archive_write_disk_set_options(disk, TSR_PACK_EXTRACT_FLAGS) != ARCHIVE_OK) {
        rc = TSR_EARCHIVE;
        goto out;
    }
    if (archive_read_open_fd(reader, fd, TSR_PACK_CHUNK_BYTES) != ARCHIVE_OK) {
        tsr_log_debug("libarchive: %s", archive_error_string(reader));
        rc = TSR_EARCHIVE;
        goto out;
    }
    while (true) {
        struct archive_entry *entry;
        int status = archive_read_next_header(reader, &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status < ARCHIVE_WARN) {
            tsr_log_debug("libarchive: %s", archive_error_string(reader));
            rc = TSR_EARCHIVE;
            goto out;
        }
        const char *name = archive_entry_pathname(entry);
        if (name && s_relpath_is_root(name) && archive_entry_filetype(entry) == AE_IFDIR)
            continue; //  "./": the destination itself
        rc = s_rebase_entry(entry, dest_real);
        if (rc != TSR_OK)
            goto out;
        if (archive_write_header(disk, entry) < ARCHIVE_WARN) {
            rc = s_from_disk(disk);
            goto out;
        }
        rc = s_copy_data(reader, disk);
        if (rc != TSR_OK)
            goto out;
        if (archive_write_finish_entry(disk) < ARCHIVE_WARN) {
            rc = s_from_disk(disk);
            goto out;
        }
    }
    //  Applies deferred directory modes
    if (archive_write_close(disk) < ARCHIVE_WARN)
        rc = s_from_disk(disk);
out:
    if (disk)
        archive_write_free(disk);
    if (reader)
        archive_read_free(reader);
    if (fd >= 0)
        close(fd);
    free(dest_real);
    return rc;
}
