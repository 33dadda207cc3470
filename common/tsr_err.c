/*  tsr_err - names and texts of the project's error codes                  */
#define _GNU_SOURCE //  strerrorname_np
#include "tsr_err.h"
#include <string.h>

const char *
tsr_strerror(int code)
{
    switch (code) {
    case TSR_OK:
        return "success";
#define TSR_ERR_TEXT(name, value, text)                                                            \
    case TSR_E##name:                                                                              \
        return text;
        TSR_ERR_MAP(TSR_ERR_TEXT)
#undef TSR_ERR_TEXT
    default:
        return code < 0 ? strerror(-code) : "unknown error";
    }
}

const char *
tsr_err_name(int code)
{
    switch (code) {
    case TSR_OK:
        return "TSR_OK";
#define TSR_ERR_NAME(name, value, text)                                                            \
    case TSR_E##name:                                                                              \
        return "TSR_E" #name;
        TSR_ERR_MAP(TSR_ERR_NAME)
#undef TSR_ERR_NAME
    default:
        if (code < 0 && strerrorname_np(-code))
            return strerrorname_np(-code);
        return "EUNKNOWN";
    }
}
