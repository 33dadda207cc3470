/*  tsr_tree - Merkle trees of directories, and .gitignore-style excludes
    A scan hashes a directory bottom-up: each directory becomes a protobuf
    `Tessera__Tree` blob (entries sorted bytewise by name, packed by protobuf-c,
    which is deterministic for equal structs) whose digest its parent records.
    The scanned tree keeps each distinct blob once: files by path (read again
    on demand), Tree nodes as bytes. Walking and materialising read Tree blobs
    back from a CAS and trust nothing in them: names are checked before use.
    Not thread-safe; one owner.                                               */
#include "tsr_tree.h"
#include "tsr_list.h"
#include "tessera.pb-c.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Deeper Tree nesting is treated as corrupt (a path would exceed PATH_MAX
//  long before); bounds the recursion on blobs from the wire.
#define TSR_TREE_MAX_DEPTH 1024

//  ---------------------------------------------------------------- ignore

//  One parsed pattern line
typedef struct {
    char **components; //  owned; the pattern split at '/', e.g. {"a", "**", "b"}
    size_t count;      //  number of components, at least 1
    bool negate;       //  `!pattern`: re-includes what it matches
    bool dir_only;     //  `pattern/`: matches directories only
    bool anchored;     //  had a leading or inner '/': matched from the root,
                       //  else `components[0]` is matched against basenames
} s_pattern_t;

struct _tsr_ignore_t {
    zlistx_t *patterns; //  owned s_pattern_t *, in file order (last match wins)
};

//  Split `text` (modified in place) at '/' into its non-empty components
//  other than "."; *components_out is malloc'd and points into `text`.
static size_t
s_split_path(char *text, char ***components_out)
{
    size_t count = 0;
    size_t capacity = 8;
    char **components = malloc(capacity * sizeof *components);
    assert(components);
    char *cursor = text;
    while (*cursor) {
        while (*cursor == '/')
            *cursor++ = '\0';
        if (!*cursor)
            break;
        char *start = cursor;
        cursor += strcspn(cursor, "/");
        if (*cursor)
            *cursor++ = '\0';
        if (streq(start, "."))
            continue;
        if (count == capacity) {
            capacity *= 2;
            components = realloc(components, capacity * sizeof *components);
            assert(components);
        }
        components[count++] = start;
    }
    *components_out = components;
    return count;
}

static void
s_pattern_destroy(s_pattern_t **self_p)
{
    assert(self_p);
    s_pattern_t *self = *self_p;
    if (self) {
        for (size_t index = 0; index < self->count; index++)
            free(self->components[index]);
        free(self->components);
        free(self);
        *self_p = NULL;
    }
}

tsr_ignore_t *
tsr_ignore_new(void)
{
    tsr_ignore_t *self = calloc(1, sizeof *self);
    assert(self);
    self->patterns = zlistx_new();
    assert(self->patterns);
    zlistx_set_destructor(self->patterns, (zlistx_destructor_fn *)s_pattern_destroy);
    return self;
}

void
tsr_ignore_destroy(tsr_ignore_t **self_p)
{
    assert(self_p);
    tsr_ignore_t *self = *self_p;
    if (self) {
        zlistx_destroy(&self->patterns);
        free(self);
        *self_p = NULL;
    }
}

void
tsr_ignore_add(tsr_ignore_t *self, const char *pattern)
{
    assert(self);
    assert(pattern);
    char *line = strdup(pattern);
    assert(line);
    //  Trailing newline and unescaped trailing spaces are not part of it
    size_t length = strlen(line);
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r' ||
                          (line[length - 1] == ' ' && (length < 2 || line[length - 2] != '\\'))))
        line[--length] = '\0';
    char *text = line;
    s_pattern_t pattern_parsed = {0};
    if (*text == '\0' || *text == '#')
        goto out;
    if (*text == '!') {
        pattern_parsed.negate = true;
        text++;
    }
    length = strlen(text);
    if (length > 0 && text[length - 1] == '/') {
        pattern_parsed.dir_only = true;
        while (length > 0 && text[length - 1] == '/')
            text[--length] = '\0';
    }
    pattern_parsed.anchored = strchr(text, '/') != NULL;
    char **components;
    size_t count = s_split_path(text, &components);
    if (count > 0) {
        s_pattern_t *stored = malloc(sizeof *stored);
        assert(stored);
        *stored = pattern_parsed;
        stored->count = count;
        stored->components = malloc(count * sizeof *stored->components);
        assert(stored->components);
        for (size_t index = 0; index < count; index++) {
            stored->components[index] = strdup(components[index]);
            assert(stored->components[index]);
        }
        zlistx_add_end(self->patterns, stored);
    }
    free(components);
out:
    free(line);
}

int
tsr_ignore_load(tsr_ignore_t *self, const char *path)
{
    assert(self);
    assert(path);
    FILE *file = fopen(path, "r");
    if (!file)
        return -errno;
    char *line = NULL;
    size_t capacity = 0;
    errno = 0;
    while (getline(&line, &capacity, file) >= 0)
        tsr_ignore_add(self, line);
    int rc = ferror(file) ? -EIO : TSR_OK;
    free(line);
    fclose(file);
    return rc;
}

//  Do pattern components match path components? "**" matches any number of
//  components, a trailing "**" at least one (`dir/**` is what is inside dir).
static bool
s_match_components(char *const *pattern, size_t pattern_count, char *const *path, size_t path_count)
{
    if (pattern_count == 0)
        return path_count == 0;
    if (streq(pattern[0], "**")) {
        if (pattern_count == 1)
            return path_count > 0;
        for (size_t skip = 0; skip <= path_count; skip++)
            if (s_match_components(pattern + 1, pattern_count - 1, path + skip, path_count - skip))
                return true;
        return false;
    }
    if (path_count == 0 || fnmatch(pattern[0], path[0], FNM_PATHNAME) != 0)
        return false;
    return s_match_components(pattern + 1, pattern_count - 1, path + 1, path_count - 1);
}

//  Is the path made of `path[0..count)` excluded, its ancestors aside?
static bool
s_ignore_match_one(const tsr_ignore_t *self, char *const *path, size_t count, bool is_dir)
{
    bool excluded = false;
    for (s_pattern_t *pattern = zlistx_first(self->patterns); pattern;
         pattern = zlistx_next(self->patterns)) {
        if (pattern->dir_only && !is_dir)
            continue;
        bool matched;
        if (pattern->anchored)
            matched = s_match_components(pattern->components, pattern->count, path, count);
        else
            matched = fnmatch(pattern->components[0], path[count - 1], FNM_PATHNAME) == 0;
        if (matched)
            excluded = !pattern->negate;
    }
    return excluded;
}

//  As tsr_ignore_match; with `check_ancestors` false the caller knows that no
//  ancestor directory is excluded (the scan never enters excluded ones).
static bool
s_ignore_match(const tsr_ignore_t *self, const char *relpath, bool is_dir, bool check_ancestors)
{
    char *text = strdup(relpath);
    assert(text);
    char **path;
    size_t count = s_split_path(text, &path);
    bool excluded = false;
    if (count == 0)
        goto out; //  the root itself is never excluded
    //  As in git, nothing inside an excluded directory can be re-included
    if (check_ancestors)
        for (size_t depth = 1; depth < count && !excluded; depth++)
            excluded = s_ignore_match_one(self, path, depth, true);
    if (!excluded)
        excluded = s_ignore_match_one(self, path, count, is_dir);
out:
    free(path);
    free(text);
    return excluded;
}

bool
tsr_ignore_match(const tsr_ignore_t *self, const char *relpath, bool is_dir)
{
    assert(self);
    assert(relpath);
    return s_ignore_match(self, relpath, is_dir, true);
}

//  ---------------------------------------------------------------- tree

//  One distinct blob of a scanned tree
typedef struct {
    tsr_digest_t digest; //  its content digest
    char *path;          //  owned; a file's path, read on demand; NULL for Tree nodes
    uint8_t *bytes;      //  owned; a Tree node's packed bytes (digest.size of them)
} s_blob_t;

struct _tsr_tree_t {
    tsr_digest_t root; //  root Tree digest; valid when `scanned`
    bool scanned;      //  the last tsr_tree_scan succeeded
    s_blob_t **blobs;  //  owned array of owned blobs, in scan order (root last)
    size_t count;      //  blobs in use
    size_t capacity;   //  blobs allocated
    zhashx_t *by_key;  //  "hex/size" -> s_blob_t * borrowed from `blobs`
};

//  Hash key of a digest: its text form, into `key` (TSR_DIGEST_STR_LEN bytes)
static const char *
s_key(const tsr_digest_t *digest, char *key)
{
    tsr_digest_str(digest, key);
    return key;
}

static void
s_blob_destroy(s_blob_t **self_p)
{
    s_blob_t *self = *self_p;
    if (self) {
        free(self->path);
        free(self->bytes);
        free(self);
        *self_p = NULL;
    }
}

//  Forget every blob (before a new scan and at destruction)
static void
s_tree_reset(tsr_tree_t *self)
{
    zhashx_purge(self->by_key);
    for (size_t index = 0; index < self->count; index++)
        s_blob_destroy(&self->blobs[index]);
    self->count = 0;
    self->scanned = false;
}

tsr_tree_t *
tsr_tree_new(void)
{
    tsr_tree_t *self = calloc(1, sizeof *self);
    assert(self);
    self->by_key = zhashx_new();
    assert(self->by_key);
    return self;
}

void
tsr_tree_destroy(tsr_tree_t **self_p)
{
    assert(self_p);
    tsr_tree_t *self = *self_p;
    if (self) {
        s_tree_reset(self);
        zhashx_destroy(&self->by_key);
        free(self->blobs);
        free(self);
        *self_p = NULL;
    }
}

//  Record a blob unless an identical one is known; takes `path` or `bytes`.
static void
s_tree_add_blob(tsr_tree_t *self, const tsr_digest_t *digest, char **path_p, uint8_t **bytes_p)
{
    char key[TSR_DIGEST_STR_LEN];
    if (zhashx_lookup(self->by_key, s_key(digest, key)))
        return; //  a duplicate: the caller frees what it still owns
    s_blob_t *blob = calloc(1, sizeof *blob);
    assert(blob);
    blob->digest = *digest;
    if (path_p) {
        blob->path = *path_p;
        *path_p = NULL;
    }
    if (bytes_p) {
        blob->bytes = *bytes_p;
        *bytes_p = NULL;
    }
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 64;
        self->blobs = realloc(self->blobs, self->capacity * sizeof *self->blobs);
        assert(self->blobs);
    }
    self->blobs[self->count++] = blob;
    zhashx_insert(self->by_key, key, blob);
}

//  One entry being built for a Tree node, with the storage it points to
typedef struct {
    Tessera__TreeEntry entry;       //  points into the fields below and the name list
    Tessera__Digest digest;         //  entry.digest, for files and directories
    uint8_t hash[TSR_DIGEST_BYTES]; //  digest.hash.data
    char *target;                   //  owned; entry.target for symlinks
} s_entry_t;

//  Fill a protobuf digest from ours; it points into `entry_data`.
static void
s_entry_set_digest(s_entry_t *entry_data, const tsr_digest_t *digest)
{
    tessera__digest__init(&entry_data->digest);
    memcpy(entry_data->hash, digest->hash, TSR_DIGEST_BYTES);
    entry_data->digest.hash.data = entry_data->hash;
    entry_data->digest.hash.len = TSR_DIGEST_BYTES;
    entry_data->digest.size = digest->size;
    entry_data->entry.digest = &entry_data->digest;
}

//  Hash a regular file: its digest and its normalised mode
static int
s_scan_file(const char *path, tsr_digest_t *digest_out, uint32_t *mode_out)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat info;
    int rc = fstat(fd, &info) == 0 ? TSR_OK : -errno;
    if (rc == TSR_OK && !S_ISREG(info.st_mode))
        rc = -EIO; //  replaced since the lstat
    if (rc == TSR_OK)
        rc = tsr_digest_fd(fd, digest_out);
    if (rc == TSR_OK)
        *mode_out = (info.st_mode & 0111) ? 0755 : 0644;
    close(fd);
    return rc;
}

//  A symlink's target, malloc'd into *target_out
static int
s_scan_symlink(const char *path, char **target_out)
{
    char *target = malloc(PATH_MAX);
    assert(target);
    ssize_t length = readlink(path, target, PATH_MAX);
    if (length < 0 || length >= PATH_MAX) {
        int rc = length < 0 ? -errno : -ENAMETOOLONG;
        free(target);
        return rc;
    }
    target[length] = '\0';
    *target_out = target;
    return TSR_OK;
}

//  The names in directory `path` other than "." and "..", sorted bytewise
static int
s_list_dir(const char *path, zlistx_t **names_out)
{
    DIR *dir = opendir(path);
    if (!dir)
        return -errno;
    zlistx_t *names = zlistx_new();
    assert(names);
    zlistx_set_destructor(names, (zlistx_destructor_fn *)zstr_free);
    struct dirent *child;
    errno = 0;
    while ((child = readdir(dir))) {
        if (!streq(child->d_name, ".") && !streq(child->d_name, ".."))
            zlistx_add_end(names, strdup(child->d_name));
        errno = 0;
    }
    int rc = errno ? -errno : TSR_OK;
    closedir(dir);
    tsr_list_sort_strings(names); //  bytewise, as the Tree format requires
    if (rc == TSR_OK)
        *names_out = names;
    else
        zlistx_destroy(&names);
    return rc;
}

//  Pack the Tree made of `entries` and record it as a blob.
static void
s_tree_add_node(tsr_tree_t *self, s_entry_t *entries, size_t count, tsr_digest_t *digest_out)
{
    Tessera__TreeEntry **pointers = calloc(count ? count : 1, sizeof *pointers);
    assert(pointers);
    for (size_t index = 0; index < count; index++)
        pointers[index] = &entries[index].entry;
    Tessera__Tree node = TESSERA__TREE__INIT;
    node.n_entries = count;
    node.entries = pointers;
    size_t size = tessera__tree__get_packed_size(&node);
    uint8_t *bytes = malloc(size ? size : 1); //  an empty directory packs to 0 bytes
    assert(bytes);
    size_t packed = tessera__tree__pack(&node, bytes);
    assert(packed == size);
    tsr_digest_buffer(bytes, size, digest_out);
    s_tree_add_blob(self, digest_out, NULL, &bytes);
    free(bytes);
    free(pointers);
}

//  Hash directory `path` (`rel` from the root, "" for the root) into a Tree
//  blob, recursively; its digest into *digest_out.
static int
s_scan_dir(tsr_tree_t *self, const char *path, const char *rel, const tsr_ignore_t *ignore,
           int depth, tsr_digest_t *digest_out)
{
    if (depth > TSR_TREE_MAX_DEPTH)
        return -ELOOP;
    zlistx_t *names = NULL;
    int rc = s_list_dir(path, &names);
    if (rc != TSR_OK)
        return rc;
    size_t capacity = zlistx_size(names);
    s_entry_t *entries = calloc(capacity ? capacity : 1, sizeof *entries);
    assert(entries);
    size_t count = 0;
    for (char *name = zlistx_first(names); name; name = zlistx_next(names)) {
        if (streq(name, ".git"))
            continue; //  never part of a workspace
        char *child_path = zsys_sprintf("%s/%s", path, name);
        char *child_rel = *rel ? zsys_sprintf("%s/%s", rel, name) : strdup(name);
        struct stat info;
        s_entry_t *entry_data = &entries[count];
        tessera__tree_entry__init(&entry_data->entry);
        entry_data->entry.name = name; //  borrowed from `names`, alive until packed
        bool keep = false;
        if (lstat(child_path, &info) != 0)
            rc = errno == ENOENT ? TSR_OK : -errno; //  deleted since readdir: skip
        else if (S_ISREG(info.st_mode) || S_ISDIR(info.st_mode) || S_ISLNK(info.st_mode))
            keep = !ignore || !s_ignore_match(ignore, child_rel, S_ISDIR(info.st_mode), false);
        if (rc == TSR_OK && keep) {
            tsr_digest_t digest;
            if (S_ISREG(info.st_mode)) {
                entry_data->entry.kind = TESSERA__TREE_ENTRY__KIND__FILE;
                rc = s_scan_file(child_path, &digest, &entry_data->entry.mode);
                if (rc == TSR_OK) {
                    s_entry_set_digest(entry_data, &digest);
                    s_tree_add_blob(self, &digest, &child_path, NULL);
                }
            } else if (S_ISDIR(info.st_mode)) {
                entry_data->entry.kind = TESSERA__TREE_ENTRY__KIND__DIR;
                entry_data->entry.mode = 0755;
                rc = s_scan_dir(self, child_path, child_rel, ignore, depth + 1, &digest);
                if (rc == TSR_OK)
                    s_entry_set_digest(entry_data, &digest);
            } else {
                entry_data->entry.kind = TESSERA__TREE_ENTRY__KIND__SYMLINK;
                rc = s_scan_symlink(child_path, &entry_data->target);
                if (rc == TSR_OK)
                    entry_data->entry.target = entry_data->target;
            }
            if (rc == TSR_OK)
                count++;
            else
                free(entry_data->target);
        }
        free(child_path); //  NULL if the blob took it
        free(child_rel);
        if (rc != TSR_OK)
            goto out;
    }
    s_tree_add_node(self, entries, count, digest_out);
out:
    for (size_t index = 0; index < count; index++)
        free(entries[index].target);
    free(entries);
    zlistx_destroy(&names);
    return rc;
}

int
tsr_tree_scan(tsr_tree_t *self, const char *dir, const tsr_ignore_t *ignore)
{
    assert(self);
    assert(dir);
    s_tree_reset(self);
    //  Files are read again later (tsr_tree_read, tsr_tree_store): remember
    //  them by absolute path, immune to a later chdir
    char *root_path = realpath(dir, NULL);
    if (!root_path)
        return -errno;
    struct stat info;
    int rc = stat(root_path, &info) == 0 ? TSR_OK : -errno;
    if (rc == TSR_OK && !S_ISDIR(info.st_mode))
        rc = -ENOTDIR;
    if (rc == TSR_OK)
        rc = s_scan_dir(self, root_path, "", ignore, 0, &self->root);
    if (rc == TSR_OK)
        self->scanned = true;
    else
        s_tree_reset(self);
    free(root_path);
    return rc;
}

const tsr_digest_t *
tsr_tree_root(tsr_tree_t *self)
{
    assert(self);
    return self->scanned ? &self->root : NULL;
}

size_t
tsr_tree_blob_count(tsr_tree_t *self)
{
    assert(self);
    return self->count;
}

const tsr_digest_t *
tsr_tree_blob_digest(tsr_tree_t *self, size_t index)
{
    assert(self);
    assert(index < self->count);
    return &self->blobs[index]->digest;
}

//  Read from a file that must still have the size it was hashed at
static int
s_read_file(const s_blob_t *blob, uint64_t offset, void *buffer, size_t length, size_t *read_out)
{
    int fd = open(blob->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = TSR_OK;
    struct stat info;
    if (fstat(fd, &info) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(info.st_mode) || (uint64_t)info.st_size != blob->digest.size) {
        rc = TSR_ECORRUPT;
        goto out;
    }
    size_t done = 0;
    while (done < length && offset + done < blob->digest.size) {
        ssize_t got = pread(fd, (char *)buffer + done, length - done, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            goto out;
        }
        if (got == 0) {
            rc = TSR_ECORRUPT; //  shrank under us
            goto out;
        }
        done += (size_t)got;
    }
    *read_out = done;
out:
    close(fd);
    return rc;
}

int
tsr_tree_read(tsr_tree_t *self, const tsr_digest_t *digest, uint64_t offset, void *buffer,
              size_t length, size_t *read_out)
{
    assert(self);
    assert(digest);
    assert(buffer || length == 0);
    assert(read_out);
    *read_out = 0;
    char key[TSR_DIGEST_STR_LEN];
    const s_blob_t *blob = zhashx_lookup(self->by_key, s_key(digest, key));
    if (!blob)
        return TSR_ENOTFOUND;
    if (blob->path)
        return s_read_file(blob, offset, buffer, length, read_out);
    if (offset < blob->digest.size) {
        uint64_t available = blob->digest.size - offset;
        size_t count = available < length ? (size_t)available : length;
        memcpy(buffer, blob->bytes + offset, count);
        *read_out = count;
    }
    return TSR_OK;
}

int
tsr_tree_store(tsr_tree_t *self, tsr_cas_t *cas)
{
    assert(self);
    assert(cas);
    for (size_t index = 0; index < self->count; index++) {
        const s_blob_t *blob = self->blobs[index];
        if (tsr_cas_has(cas, &blob->digest))
            continue;
        int rc = blob->path
                     ? tsr_cas_put_file(cas, blob->path, &blob->digest, NULL)
                     : tsr_cas_put(cas, &blob->digest, blob->bytes, (size_t)blob->digest.size);
        if (rc != TSR_OK)
            return rc;
    }
    return TSR_OK;
}

//  Fetch and parse a stored Tree blob (verified against its digest).
//  Free *node_out with tessera__tree__free_unpacked.
static int
s_load_node(tsr_cas_t *cas, const tsr_digest_t *digest, Tessera__Tree **node_out)
{
    void *bytes = NULL;
    size_t size = 0;
    int rc = tsr_cas_get(cas, digest, true, &bytes, &size);
    if (rc != TSR_OK)
        return rc;
    Tessera__Tree *node = tessera__tree__unpack(NULL, size, bytes);
    free(bytes);
    if (!node)
        return TSR_ECORRUPT;
    *node_out = node;
    return TSR_OK;
}

//  Our digest from an entry's; TSR_ECORRUPT if absent or malformed.
static int
s_entry_digest(const Tessera__TreeEntry *entry, tsr_digest_t *digest_out)
{
    if (!entry->digest || entry->digest->hash.len != TSR_DIGEST_BYTES)
        return TSR_ECORRUPT;
    memcpy(digest_out->hash, entry->digest->hash.data, TSR_DIGEST_BYTES);
    digest_out->size = entry->digest->size;
    return TSR_OK;
}

//  Append a copy of `digest` to `missing` unless already visited
static void
s_list_missing(zhashx_t *visited, zlistx_t *missing, const tsr_digest_t *digest)
{
    char key[TSR_DIGEST_STR_LEN];
    if (zhashx_insert(visited, s_key(digest, key), (void *)"") != 0)
        return;
    tsr_digest_t *copy = malloc(sizeof *copy);
    assert(copy);
    *copy = *digest;
    zlistx_add_end(missing, copy);
}

static int
s_walk_missing(tsr_cas_t *cas, const tsr_digest_t *digest, zhashx_t *visited, zlistx_t *missing,
               int depth)
{
    if (depth > TSR_TREE_MAX_DEPTH)
        return TSR_ECORRUPT;
    if (!tsr_cas_has(cas, digest)) {
        s_list_missing(visited, missing, digest);
        return TSR_OK;
    }
    char key[TSR_DIGEST_STR_LEN];
    if (zhashx_insert(visited, s_key(digest, key), (void *)"") != 0)
        return TSR_OK; //  an identical subtree was walked already
    Tessera__Tree *node = NULL;
    int rc = s_load_node(cas, digest, &node);
    if (rc == TSR_ENOTFOUND) { //  evicted since tsr_cas_has
        zhashx_delete(visited, key);
        s_list_missing(visited, missing, digest);
        return TSR_OK;
    }
    if (rc != TSR_OK)
        return rc;
    for (size_t index = 0; index < node->n_entries && rc == TSR_OK; index++) {
        const Tessera__TreeEntry *entry = node->entries[index];
        tsr_digest_t child;
        switch (entry->kind) {
        case TESSERA__TREE_ENTRY__KIND__FILE:
            rc = s_entry_digest(entry, &child);
            if (rc == TSR_OK && !tsr_cas_has(cas, &child))
                s_list_missing(visited, missing, &child);
            break;
        case TESSERA__TREE_ENTRY__KIND__DIR:
            rc = s_entry_digest(entry, &child);
            if (rc == TSR_OK)
                rc = s_walk_missing(cas, &child, visited, missing, depth + 1);
            break;
        case TESSERA__TREE_ENTRY__KIND__SYMLINK:
            break;
        default:
            rc = TSR_ECORRUPT;
            break;
        }
    }
    tessera__tree__free_unpacked(node, NULL);
    return rc;
}

int
tsr_tree_missing(tsr_cas_t *cas, const tsr_digest_t *root, zlistx_t *missing)
{
    assert(cas);
    assert(root);
    assert(missing);
    zhashx_t *visited = zhashx_new();
    assert(visited);
    int rc = s_walk_missing(cas, root, visited, missing, 0);
    zhashx_destroy(&visited);
    return rc;
}

//  Is `name` a single, ordinary path component?
static bool
s_name_is_safe(const char *name)
{
    return name && *name && !streq(name, ".") && !streq(name, "..") && !strchr(name, '/');
}

//  Check a Tree node before anything of it is written: safe names (else
//  TSR_EUNSAFE), strictly sorted (no duplicates), known kinds (else TSR_ECORRUPT).
static int
s_check_node(const Tessera__Tree *node)
{
    for (size_t index = 0; index < node->n_entries; index++) {
        const Tessera__TreeEntry *entry = node->entries[index];
        if (!s_name_is_safe(entry->name))
            return TSR_EUNSAFE;
        if (index > 0 && strcmp(node->entries[index - 1]->name, entry->name) >= 0)
            return TSR_ECORRUPT;
        if (entry->kind != TESSERA__TREE_ENTRY__KIND__FILE &&
            entry->kind != TESSERA__TREE_ENTRY__KIND__DIR &&
            entry->kind != TESSERA__TREE_ENTRY__KIND__SYMLINK)
            return TSR_ECORRUPT;
        if (entry->kind == TESSERA__TREE_ENTRY__KIND__SYMLINK &&
            (!entry->target || !*entry->target))
            return TSR_ECORRUPT;
    }
    return TSR_OK;
}

//  How files written get their times (tsr_stamps)
typedef struct {
    tsr_stamps_t *stamps; //  NULL: no stamping
    const char *place;    //  first part of each key
    size_t root_length;   //  bytes of "ROOT/" to cut from a path for its key
} s_stamping_t;

//  Create the entries of Tree `digest` inside the existing directory `dir`
static int
s_materialise_node(tsr_cas_t *cas, const tsr_digest_t *digest, const char *dir, int depth,
                   const s_stamping_t *stamping)
{
    if (depth > TSR_TREE_MAX_DEPTH)
        return TSR_ECORRUPT;
    Tessera__Tree *node = NULL;
    int rc = s_load_node(cas, digest, &node);
    if (rc != TSR_OK)
        return rc;
    rc = s_check_node(node);
    for (size_t index = 0; index < node->n_entries && rc == TSR_OK; index++) {
        const Tessera__TreeEntry *entry = node->entries[index];
        char *path = zsys_sprintf("%s/%s", dir, entry->name);
        tsr_digest_t child;
        if (entry->kind == TESSERA__TREE_ENTRY__KIND__FILE) {
            rc = s_entry_digest(entry, &child);
            if (rc == TSR_OK)
                rc = tsr_cas_write_file(cas, &child, path, (entry->mode & 0111) ? 0755 : 0644);
            if (rc == TSR_OK && stamping->stamps) {
                char *key = zsys_sprintf("%s\n%s", stamping->place, path + stamping->root_length);
                rc = tsr_stamps_apply(stamping->stamps, key, path, &child);
                free(key);
            }
        } else if (entry->kind == TESSERA__TREE_ENTRY__KIND__DIR) {
            rc = s_entry_digest(entry, &child);
            if (rc == TSR_OK && mkdir(path, 0755) != 0)
                rc = -errno;
            if (rc == TSR_OK)
                rc = s_materialise_node(cas, &child, path, depth + 1, stamping);
        } else if (symlink(entry->target, path) != 0)
            rc = -errno;
        free(path);
    }
    tessera__tree__free_unpacked(node, NULL);
    return rc;
}

int
tsr_tree_materialise(tsr_cas_t *cas, const tsr_digest_t *root, const char *dir)
{
    return tsr_tree_materialise_stamped(cas, root, dir, NULL, NULL);
}

int
tsr_tree_materialise_stamped(tsr_cas_t *cas, const tsr_digest_t *root, const char *dir,
                             tsr_stamps_t *stamps, const char *place)
{
    assert(cas);
    assert(root);
    assert(dir);
    if (mkdir(dir, 0755) != 0) {
        if (errno != EEXIST)
            return -errno;
        zlistx_t *names = NULL;
        int rc = s_list_dir(dir, &names);
        if (rc != TSR_OK)
            return rc;
        bool empty = zlistx_size(names) == 0;
        zlistx_destroy(&names);
        if (!empty)
            return -ENOTEMPTY;
    }
    s_stamping_t stamping = {stamps, place ? place : "", strlen(dir) + 1};
    return s_materialise_node(cas, root, dir, 0, &stamping);
}
