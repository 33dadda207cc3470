/*  tsr_labels - the agent's labels: syntax, platform, tool versions
    Labels are key=value pairs an agent advertises in Hello (os, arch, the
    detected tool versions, plus the operator's --labels) and jobs select on.
    A label set is a zhashx of string keys to string values (tsr_labels_new).
    Pure text handling plus uname(2); any thread.                           */
#ifndef TSR_LABELS_H
#define TSR_LABELS_H

#include "tsr_common.h"

//  Longest key and value accepted, characters.
#define TSR_LABEL_KEY_MAX 64
#define TSR_LABEL_VALUE_MAX 128

//  An empty label set: keys and values are strings, copied in, freed with it.
zhashx_t *tsr_labels_new(void);

//  Parse "k=v,k=v" (the --labels option) into `labels`; a later key replaces
//  an earlier one. Keys are 1..64 of [A-Za-z0-9_.-]; values 0..128 of
//  [A-Za-z0-9_.:/+@-]. Empty text adds nothing. On TSR_EINVAL nothing is
//  added and `error` (may be NULL) says what is wrong.
TSR_NODISCARD int tsr_labels_parse(const char *text, zhashx_t *labels, char *error,
                                   size_t error_size);

//  Is `key` a valid label key (see tsr_labels_parse)?
bool tsr_labels_key_is_valid(const char *key);

//  The first version number ("3.11.2", "1.75.0", from "v18.19.0") in a
//  tool's output. Returns TSR_OK, TSR_EPARSE (none found) or TSR_ETOOBIG.
TSR_NODISCARD int tsr_labels_version(const char *output, char *version, size_t size);

//  Add os (uname sysname, lowercased) and arch (uname machine). Returns
//  TSR_OK or -errno.
TSR_NODISCARD int tsr_labels_add_platform(zhashx_t *labels);

//  Render as "k=v,k=v" sorted by key (caller frees). For logs.
char *tsr_labels_format(zhashx_t *labels);

#endif
