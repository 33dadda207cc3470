/*  tsr_yaml - reading one YAML document with libyaml, for tsr_config and tsr_spec
    Owns the parsed document and the first error message. Callers: tsr_config,
    tsr_spec. Any thread; one owner per reader.                            */
#define _GNU_SOURCE   //  asprintf, vasprintf
#include "tsr_yaml.h" //  own header first: proves it self-contained

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Record an error at a 0-based libyaml line and column.
static int
s_error_at(tsr_yaml_t *self, size_t line, size_t column, const char *message)
{
    if (self->error)
        return TSR_ECONFIG;
    int length = asprintf(&self->error, "%s:%zu:%zu: %s", self->name ? self->name : "<yaml>",
                          line + 1, column + 1, message);
    assert(length >= 0); //  out of memory
    return TSR_ECONFIG;
}

//  A reader error (bad encoding) carries a byte offset, not a mark: find
//  the line and column of that byte.
static yaml_mark_t
s_mark_of_offset(const char *text, size_t size, size_t offset)
{
    yaml_mark_t mark = {offset, 0, 0};
    for (size_t index = 0; index < offset && index < size; index++) {
        if (text[index] == '\n') {
            mark.line++;
            mark.column = 0;
        } else
            mark.column++;
    }
    return mark;
}

//  Report a libyaml parse failure. Where libyaml names an unclosed construct
//  (a flow sequence, a quoted scalar, a simple key) its start is where the
//  mistake is, so the error points there and mentions where it was noticed;
//  a block collection spans many lines, so then the problem mark is used.
static int
s_syntax_error(tsr_yaml_t *self, const yaml_parser_t *parser, const char *text, size_t size)
{
    if (parser->error == YAML_MEMORY_ERROR)
        abort(); //  out of memory, as everywhere (STYLE 6)
    const char *problem = parser->problem ? parser->problem : "invalid YAML";
    yaml_mark_t problem_mark = parser->problem_mark;
    if (parser->error == YAML_READER_ERROR)
        problem_mark = s_mark_of_offset(text, size, parser->problem_offset);
    const char *context = parser->context;
    char *message = NULL;
    int length;
    size_t line = problem_mark.line;
    size_t column = problem_mark.column;
    if (context && strncmp(context, "while parsing a block", 21) != 0) {
        length = asprintf(&message, "%s %s (noticed at line %zu, column %zu)", problem, context,
                          problem_mark.line + 1, problem_mark.column + 1);
        line = parser->context_mark.line;
        column = parser->context_mark.column;
    } else if (context)
        length = asprintf(&message, "%s %s started at line %zu, column %zu", problem, context,
                          parser->context_mark.line + 1, parser->context_mark.column + 1);
    else
        length = asprintf(&message, "%s", problem);
    assert(length >= 0);
    s_error_at(self, line, column, message);
    free(message);
    return TSR_ECONFIG;
}

int
tsr_yaml_load(tsr_yaml_t *self, const char *name, const char *text, size_t size)
{
    assert(self);
    assert(text || size == 0);
    tsr_yaml_clear(self);
    self->name = name;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        abort(); //  only fails for memory
    yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), size);

    int rc = TSR_OK;
    if (!yaml_parser_load(&parser, &self->document)) {
        rc = s_syntax_error(self, &parser, text, size);
        goto out;
    }
    self->loaded = true;

    //  A second document would be silently ignored: refuse it
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
        rc = s_syntax_error(self, &parser, text, size);
        goto out;
    }
    yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    if (extra_root)
        rc = s_error_at(self, extra_root->start_mark.line, extra_root->start_mark.column,
                        "only one YAML document is allowed");
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&parser);
    return rc;
}

int
tsr_yaml_load_file(tsr_yaml_t *self, const char *path)
{
    assert(self);
    assert(path);
    tsr_yaml_clear(self);
    self->name = path;

    char *text = NULL;
    int rc = TSR_OK;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    struct stat info;
    if (fstat(fd, &info) < 0) {
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(info.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    if (info.st_size > (off_t)TSR_YAML_MAX_BYTES) {
        rc = -EFBIG;
        goto out;
    }
    //  Read to the end, not to st_size: a pipe or /proc file reports 0
    size_t capacity = (size_t)info.st_size + 1;
    size_t size = 0;
    text = malloc(capacity);
    assert(text);
    while (true) {
        if (size == capacity) {
            if (capacity > TSR_YAML_MAX_BYTES) {
                rc = -EFBIG;
                goto out;
            }
            capacity *= 2;
            text = realloc(text, capacity);
            assert(text);
        }
        ssize_t got = read(fd, text + size, capacity - size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            goto out;
        }
        if (got == 0)
            break;
        size += (size_t)got;
    }
    rc = tsr_yaml_load(self, path, text, size);
out:
    if (rc < 0 && rc != TSR_ECONFIG && !self->error) {
        int length = asprintf(&self->error, "%s: %s", path, strerror(-rc));
        assert(length >= 0);
    }
    free(text);
    if (fd >= 0)
        close(fd);
    return rc;
}

yaml_node_t *
tsr_yaml_root(tsr_yaml_t *self)
{
    assert(self);
    return self->loaded ? yaml_document_get_root_node(&self->document) : NULL;
}

yaml_node_t *
tsr_yaml_node(tsr_yaml_t *self, int index)
{
    assert(self);
    assert(self->loaded);
    return yaml_document_get_node(&self->document, index);
}

int
tsr_yaml_error(tsr_yaml_t *self, const yaml_node_t *node, const char *format, ...)
{
    assert(self);
    char *message = NULL;
    va_list args;
    va_start(args, format);
    int length = vasprintf(&message, format, args);
    va_end(args);
    assert(length >= 0);
    s_error_at(self, node ? node->start_mark.line : 0, node ? node->start_mark.column : 0, message);
    free(message);
    return TSR_ECONFIG;
}

int
tsr_yaml_mapping(tsr_yaml_t *self, const yaml_node_t *node, const char *what)
{
    assert(self);
    assert(node);
    if (node->type != YAML_MAPPING_NODE && !what)
        return tsr_yaml_error(self, node, "the top level must be a mapping");
    if (node->type != YAML_MAPPING_NODE)
        return tsr_yaml_error(self, node, "'%s' must be a mapping", what);
    const yaml_node_pair_t *start = node->data.mapping.pairs.start;
    const yaml_node_pair_t *top = node->data.mapping.pairs.top;
    for (const yaml_node_pair_t *pair = start; pair < top; pair++) {
        const yaml_node_t *key = tsr_yaml_node(self, pair->key);
        const char *text = tsr_yaml_scalar(key);
        if (!text || strlen(text) != key->data.scalar.length)
            return tsr_yaml_error(self, key, "keys must be strings");
        //  libyaml keeps duplicate keys; the later one would win unnoticed
        for (const yaml_node_pair_t *earlier = start; earlier < pair; earlier++) {
            const char *earlier_text = tsr_yaml_scalar(tsr_yaml_node(self, earlier->key));
            if (strcmp(earlier_text, text) == 0)
                return tsr_yaml_error(self, key, "duplicate key '%s'", text);
        }
    }
    return TSR_OK;
}

const char *
tsr_yaml_scalar(const yaml_node_t *node)
{
    if (!node || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)node->data.scalar.value;
}

int
tsr_yaml_string(tsr_yaml_t *self, const yaml_node_t *node, const char *what, char **value_out)
{
    assert(self);
    assert(value_out);
    const char *text = tsr_yaml_scalar(node);
    //  "\0" is legal in a quoted YAML scalar, never in a C string
    if (!text || strlen(text) != node->data.scalar.length)
        return tsr_yaml_error(self, node, "'%s' must be a string", what);
    *value_out = strdup(text);
    assert(*value_out);
    return TSR_OK;
}

int
tsr_yaml_uint(tsr_yaml_t *self, const yaml_node_t *node, const char *what, uint64_t min,
              uint64_t max, uint64_t *value_out)
{
    assert(self);
    assert(value_out);
    assert(min <= max);
    const char *text = tsr_yaml_scalar(node);
    bool valid = text && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && text[0] >= '0' &&
                 text[0] <= '9' && strspn(text, "0123456789") == node->data.scalar.length;
    uint64_t value = 0;
    if (valid) {
        errno = 0;
        unsigned long long parsed = strtoull(text, NULL, 10);
        valid = errno != ERANGE;
        value = (uint64_t)parsed;
    }
    if (valid && value > max)
        return tsr_yaml_error(self, node, "'%s' must be at most %" PRIu64, what, max);
    if (!valid || value < min) {
        if (min == 0)
            return tsr_yaml_error(self, node, "'%s' must be a non-negative integer", what);
        if (min == 1)
            return tsr_yaml_error(self, node, "'%s' must be a positive integer", what);
        return tsr_yaml_error(self, node, "'%s' must be an integer >= %" PRIu64, what, min);
    }
    *value_out = value;
    return TSR_OK;
}

int
tsr_yaml_strings(tsr_yaml_t *self, const yaml_node_t *node, const char *what, zlistx_t *list)
{
    assert(self);
    assert(list);
    if (!node || node->type != YAML_SEQUENCE_NODE)
        return tsr_yaml_error(self, node, "'%s' must be a list of strings", what);
    for (const yaml_node_item_t *item = node->data.sequence.items.start;
         item < node->data.sequence.items.top; item++) {
        char *text = NULL;
        int rc = tsr_yaml_string(self, tsr_yaml_node(self, *item), what, &text);
        if (rc != TSR_OK)
            return rc;
        zlistx_add_end(list, text);
    }
    return TSR_OK;
}

int
tsr_yaml_pairs(tsr_yaml_t *self, const yaml_node_t *node, const char *what, zlistx_t *list)
{
    assert(self);
    assert(list);
    int rc = tsr_yaml_mapping(self, node, what);
    if (rc != TSR_OK)
        return rc;
    for (const yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        const yaml_node_t *key = tsr_yaml_node(self, pair->key);
        const yaml_node_t *value = tsr_yaml_node(self, pair->value);
        const char *key_text = tsr_yaml_scalar(key);
        if (*key_text == '\0' || strchr(key_text, '='))
            return tsr_yaml_error(self, key, "keys of '%s' must be non-empty, without '='", what);
        const char *value_text = tsr_yaml_scalar(value);
        if (!value_text || strlen(value_text) != value->data.scalar.length)
            return tsr_yaml_error(self, value, "'%s.%s' must be a string", what, key_text);
        char *entry = NULL;
        int length = asprintf(&entry, "%s=%s", key_text, value_text);
        assert(length >= 0);
        zlistx_add_end(list, entry);
    }
    return TSR_OK;
}

char *
tsr_yaml_take_error(tsr_yaml_t *self)
{
    assert(self);
    char *error = self->error;
    self->error = NULL;
    return error;
}

void
tsr_yaml_clear(tsr_yaml_t *self)
{
    assert(self);
    if (self->loaded)
        yaml_document_delete(&self->document);
    self->loaded = false;
    free(self->error);
    self->error = NULL;
}
