/*  tsr_yaml - reading one YAML document with libyaml, for tsr_config and tsr_spec
    Loads a whole document (libyaml's document API, so every node keeps its
    start mark), reads scalars as strings or bounded integers, and formats
    errors as "NAME:LINE:COL: message" (1-based) at a node. The first error
    is kept in the reader; later ones are dropped. Internal to tsr_common:
    only tsr_config.c and tsr_spec.c include this header. Any thread; one
    owner per reader.                                                        */
#ifndef TSR_YAML_H
#define TSR_YAML_H

#include "tsr_common.h"
#include <yaml.h>

typedef struct {
    const char *name;         //  borrowed (owner: caller): path or name shown in errors
    yaml_document_t document; //  owned; valid while `loaded`
    bool loaded;              //  document holds a parsed (maybe empty) document
    char *error;              //  owned; first error, "NAME:LINE:COL: message", or NULL
} tsr_yaml_t;

//  Largest file tsr_yaml_load_file reads; configuration, not data.
#define TSR_YAML_MAX_BYTES (4u * 1024 * 1024)

//  Parse `text` (`size` bytes) as exactly one YAML document; `name` (borrowed
//  for the reader's life) prefixes errors. An empty text is an empty document
//  (tsr_yaml_root gives NULL). Returns TSR_OK or TSR_ECONFIG with self->error
//  set: a syntax error is reported at libyaml's mark, with libyaml's text.
TSR_NODISCARD int tsr_yaml_load(tsr_yaml_t *self, const char *name, const char *text, size_t size);

//  Read `path` (at most TSR_YAML_MAX_BYTES) and tsr_yaml_load it, named by
//  its path. Returns TSR_OK, TSR_ECONFIG, or -errno if unreadable (also
//  -EFBIG if too large), with self->error set on every failure.
TSR_NODISCARD int tsr_yaml_load_file(tsr_yaml_t *self, const char *path);

//  The root node, or NULL for an empty document (or before a load).
yaml_node_t *tsr_yaml_root(tsr_yaml_t *self);

//  Node `index` of the loaded document (from a pair or sequence item).
yaml_node_t *tsr_yaml_node(tsr_yaml_t *self, int index);

//  Record "NAME:LINE:COL: <formatted>" at `node` (NULL: 1:1) unless an
//  error is already recorded. Returns TSR_ECONFIG, to return in turn.
int tsr_yaml_error(tsr_yaml_t *self, const yaml_node_t *node, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

//  Check that `node` is a mapping whose keys are distinct scalars. `what`
//  names the node in errors ("'env' must be a mapping"); NULL for the top
//  level. Returns TSR_OK or TSR_ECONFIG (at the offending node: "duplicate
//  key 'timeout'").
TSR_NODISCARD int tsr_yaml_mapping(tsr_yaml_t *self, const yaml_node_t *node, const char *what);

//  The text of scalar `node` (borrowed from the document), or NULL if it is
//  not a scalar.
const char *tsr_yaml_scalar(const yaml_node_t *node);

//  Read scalar `node` as a string; *value_out is the caller's (strdup).
//  Returns TSR_OK or TSR_ECONFIG ("'what' must be a string": not a scalar
//  or containing NUL).
TSR_NODISCARD int tsr_yaml_string(tsr_yaml_t *self, const yaml_node_t *node, const char *what,
                                  char **value_out);

//  Read a plain decimal scalar in [min, max]. Returns TSR_OK or
//  TSR_ECONFIG ("'what' must be a non-negative integer", "a positive
//  integer", "an integer >= MIN", or "at most MAX").
TSR_NODISCARD int tsr_yaml_uint(tsr_yaml_t *self, const yaml_node_t *node, const char *what,
                                uint64_t min, uint64_t max, uint64_t *value_out);

//  Append the scalars of sequence `node` to `list` as strdup'd strings (the
//  list must free its items: give it a destructor, no duplicator). Returns
//  TSR_OK or TSR_ECONFIG ("'what' must be a list of strings").
TSR_NODISCARD int tsr_yaml_strings(tsr_yaml_t *self, const yaml_node_t *node, const char *what,
                                   zlistx_t *list);

//  Append the pairs of mapping `node` (scalar keys and values) to `list` as
//  strdup'd "KEY=VALUE" strings, in file order (list as for
//  tsr_yaml_strings). Keys must be non-empty and without '='. Returns TSR_OK
//  or TSR_ECONFIG.
TSR_NODISCARD int tsr_yaml_pairs(tsr_yaml_t *self, const yaml_node_t *node, const char *what,
                                 zlistx_t *list);

//  Hand the recorded error to the caller (NULL if none); the reader forgets it.
char *tsr_yaml_take_error(tsr_yaml_t *self);

//  Free the document and the error; the reader may be loaded again.
void tsr_yaml_clear(tsr_yaml_t *self);

#endif
