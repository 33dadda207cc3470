/*  tsr_labels - label syntax (--labels), version numbers in tool output,
    platform labels from uname(2).                                          */
#include "tsr_labels.h"
#include "tsr_list.h"
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <string.h>
#include <sys/utsname.h>

zhashx_t *
tsr_labels_new(void)
{
    zhashx_t *labels = zhashx_new();
    zhashx_set_destructor(labels, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_duplicator(labels, (zhashx_duplicator_fn *)strdup);
    return labels;
}

static bool
s_is_key_char(char letter)
{
    return isalnum((unsigned char)letter) || letter == '_' || letter == '.' || letter == '-';
}

static bool
s_is_value_char(char letter)
{
    return s_is_key_char(letter) || letter == ':' || letter == '/' || letter == '+' ||
           letter == '@';
}

bool
tsr_labels_key_is_valid(const char *key)
{
    size_t length = key ? strlen(key) : 0;
    if (length == 0 || length > TSR_LABEL_KEY_MAX)
        return false;
    for (size_t index = 0; index < length; index++)
        if (!s_is_key_char(key[index]))
            return false;
    return true;
}

static bool
s_value_is_valid(const char *value)
{
    size_t length = strlen(value);
    if (length > TSR_LABEL_VALUE_MAX)
        return false;
    for (size_t index = 0; index < length; index++)
        if (!s_is_value_char(value[index]))
            return false;
    return true;
}

int
tsr_labels_parse(const char *text, zhashx_t *labels, char *error, size_t error_size)
{
    assert(labels);
    if (error && error_size)
        error[0] = 0;
    if (!text || !*text)
        return TSR_OK;
    zhashx_t *parsed = tsr_labels_new();
    char *copy = strdup(text);
    assert(copy);
    int rc = TSR_OK;
    char *cursor = copy;
    while (cursor) {
        char *item = cursor;
        char *comma = strchr(cursor, ',');
        if (comma)
            *comma = 0;
        cursor = comma ? comma + 1 : NULL;
        char *equals = strchr(item, '=');
        if (!equals) {
            if (error)
                snprintf(error, error_size, "label '%s' is not key=value", item);
            rc = TSR_EINVAL;
            goto out;
        }
        *equals = 0;
        const char *value = equals + 1;
        if (!tsr_labels_key_is_valid(item)) {
            if (error)
                snprintf(error, error_size,
                         "label key '%s' must be 1-%d characters of A-Z a-z 0-9 _ . -", item,
                         TSR_LABEL_KEY_MAX);
            rc = TSR_EINVAL;
            goto out;
        }
        if (!s_value_is_valid(value)) {
            if (error)
                snprintf(error, error_size,
                         "label '%s' value '%s' must be 0-%d characters of A-Z a-z 0-9 "
                         "_ . - : / + @",
                         item, value, TSR_LABEL_VALUE_MAX);
            rc = TSR_EINVAL;
            goto out;
        }
        zhashx_update(parsed, item, (void *)value);
    }
    for (const char *value = (const char *)zhashx_first(parsed); value;
         value = (const char *)zhashx_next(parsed))
        zhashx_update(labels, zhashx_cursor(parsed), (void *)value);
out:
    free(copy);
    zhashx_destroy(&parsed);
    return rc;
}

int
tsr_labels_version(const char *output, char *version, size_t size)
{
    assert(version && size > 0);
    version[0] = 0;
    if (!output)
        return TSR_EPARSE;
    regex_t pattern;
    int rc = regcomp(&pattern, "[0-9]+(\\.[0-9]+)+", REG_EXTENDED);
    assert(rc == 0);
    regmatch_t match;
    if (regexec(&pattern, output, 1, &match, 0) != 0) {
        rc = TSR_EPARSE;
        goto out;
    }
    size_t length = (size_t)(match.rm_eo - match.rm_so);
    if (length + 1 > size) {
        rc = TSR_ETOOBIG;
        goto out;
    }
    memcpy(version, output + match.rm_so, length);
    version[length] = 0;
    rc = TSR_OK;
out:
    regfree(&pattern);
    return rc;
}

int
tsr_labels_add_platform(zhashx_t *labels)
{
    assert(labels);
    struct utsname names;
    if (uname(&names) != 0)
        return -errno;
    for (char *letter = names.sysname; *letter; letter++)
        *letter = (char)tolower((unsigned char)*letter);
    zhashx_update(labels, "os", names.sysname);
    zhashx_update(labels, "arch", names.machine);
    return TSR_OK;
}

char *
tsr_labels_format(zhashx_t *labels)
{
    assert(labels);
    zlistx_t *keys = zhashx_keys(labels);
    tsr_list_sort_strings(keys);
    char *text = strdup("");
    for (const char *key = (const char *)zlistx_first(keys); key;
         key = (const char *)zlistx_next(keys)) {
        char *longer = zsys_sprintf("%s%s%s=%s", text, *text ? "," : "", key,
                                    (const char *)zhashx_lookup(labels, key));
        free(text);
        text = longer;
    }
    zlistx_destroy(&keys);
    return text;
}
