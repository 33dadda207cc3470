/*  tsr_framework - the adapter registry and the results of a shard
    tsr_framework_find maps a framework name to its adapter (one file each,
    tsr_fw_<name>.c). tsr_results_t is the list of parsed test results an
    adapter fills: ordered as reported, indexed by id for lookups. One owner;
    any thread.                                                               */
#include "tsr_framework.h"
#include "tsr_fw_cargo.h"
#include "tsr_fw_io.h"
#include "tsr_fw_command.h"
#include "tsr_fw_npm.h"
#include "tsr_fw_pytest.h"
#include <string.h>

//  Longest failure text kept per result (tessera.proto TestResult.message)
#define TSR_RESULT_MESSAGE_MAX 4096

struct _tsr_results_t {
    zlistx_t *items;     //  owned, of tsr_test_result_t *, in the order added
    zhashx_t *by_id;     //  borrowed items (owner: items): id -> first result with it
    size_t cursor_index; //  index of the item under the list's cursor, when valid
    bool cursor_valid;   //  false until tsr_results_at positions the cursor
};

static const tsr_framework_t *const s_frameworks[] = {
    &tsr_fw_pytest_entry,
    &tsr_fw_cargo_entry,
    &tsr_fw_npm_entry,
    &tsr_fw_command_entry,
};

const tsr_framework_t *
tsr_framework_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t index = 0; index < sizeof s_frameworks / sizeof s_frameworks[0]; index++)
        if (streq(s_frameworks[index]->name, name))
            return s_frameworks[index];
    return NULL;
}

static void
s_result_destroy(void **item_p)
{
    tsr_test_result_t *result = *item_p;
    if (result) {
        free(result->id);
        free(result->message);
        free(result);
        *item_p = NULL;
    }
}

tsr_results_t *
tsr_results_new(void)
{
    tsr_results_t *self = (tsr_results_t *)zmalloc(sizeof *self);
    self->items = zlistx_new();
    zlistx_set_destructor(self->items, s_result_destroy);
    self->by_id = zhashx_new();
    return self;
}

void
tsr_results_destroy(tsr_results_t **self_p)
{
    assert(self_p);
    tsr_results_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->by_id);
    zlistx_destroy(&self->items);
    free(self);
    *self_p = NULL;
}

//  A copy of `text` cut to at most TSR_RESULT_MESSAGE_MAX bytes, at a UTF-8
//  character boundary so the message stays valid for protobuf strings.
static char *
s_bounded_copy(const char *text)
{
    size_t length = strlen(text);
    if (length > TSR_RESULT_MESSAGE_MAX) {
        length = TSR_RESULT_MESSAGE_MAX;
        //  Back up over continuation bytes (10xxxxxx) to a lead byte
        while (length > 0 && ((unsigned char)text[length] & 0xC0) == 0x80)
            length--;
    }
    char *copy = (char *)zmalloc(length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

void
tsr_results_add(tsr_results_t *self, const char *id, Tessera__Outcome outcome, uint64_t duration_ms,
                const char *message)
{
    assert(self);
    assert(id);
    tsr_test_result_t *result = (tsr_test_result_t *)zmalloc(sizeof *result);
    result->id = strdup(id);
    assert(result->id);
    result->outcome = outcome;
    result->duration_ms = duration_ms;
    result->message = message ? s_bounded_copy(message) : NULL;
    zlistx_add_end(self->items, result);
    self->cursor_valid = false;
    //  The first result of an id wins lookups (zhashx_insert keeps it)
    zhashx_insert(self->by_id, result->id, result);
}

size_t
tsr_results_size(tsr_results_t *self)
{
    assert(self);
    return zlistx_size(self->items);
}

const tsr_test_result_t *
tsr_results_at(tsr_results_t *self, size_t index)
{
    assert(self);
    assert(index < zlistx_size(self->items));
    //  Callers iterate in order: continue from the cursor when we can, so a
    //  loop over all results stays linear
    void *result;
    size_t position;
    if (self->cursor_valid && self->cursor_index <= index) {
        result = zlistx_item(self->items);
        position = self->cursor_index;
    } else {
        result = zlistx_first(self->items);
        position = 0;
    }
    for (; position < index; position++)
        result = zlistx_next(self->items);
    self->cursor_index = index;
    self->cursor_valid = true;
    return (const tsr_test_result_t *)result;
}

const tsr_test_result_t *
tsr_results_find(tsr_results_t *self, const char *id)
{
    assert(self);
    assert(id);
    return (const tsr_test_result_t *)zhashx_lookup(self->by_id, id);
}

//  Largest steal file we read (a shard's ids; 16 MiB is far beyond any)
#define TSR_STEAL_FILE_MAX (16u << 20)

int
tsr_framework_steal_read(const char *steal_dir, const char *name, zlistx_t *ids)
{
    assert(steal_dir);
    assert(name);
    assert(ids);
    char *path = zsys_sprintf("%s/%s", steal_dir, name);
    assert(path);
    char *text = NULL;
    int rc = tsr_fw_file_read(path, TSR_STEAL_FILE_MAX, &text);
    zstr_free(&path);
    if (rc != TSR_OK)
        return rc;
    //  All or nothing: check every line first
    size_t length = strlen(text);
    if (length > 0 && text[length - 1] != '\n')
        rc = TSR_EPARSE;
    for (const char *line = text; rc == TSR_OK && *line; line = strchr(line, '\n') + 1)
        if (*line == '\n')
            rc = TSR_EPARSE;
    for (char *line = text; rc == TSR_OK && *line;) {
        char *end = strchr(line, '\n');
        *end = '\0';
        zlistx_add_end(ids, line);
        line = end + 1;
    }
    free(text);
    return rc;
}
