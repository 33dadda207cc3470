/*  tsr_err - the project's error codes
    One X-macro makes the enum, tsr_strerror() and tsr_err_name(). Other negative
    values are -errno. TSR_OK is 0.                                             */
#ifndef TSR_ERR_H
#define TSR_ERR_H

#define TSR_ERR_MAP(XX)                                                                            \
    XX(PROTO, -1001, "malformed or unexpected protocol message")                                   \
    XX(VERSION, -1002, "unsupported protocol version")                                             \
    XX(TOOBIG, -1003, "message or blob exceeds its size limit")                                    \
    XX(NOTFOUND, -1004, "not found")                                                               \
    XX(CORRUPT, -1005, "content does not match its digest")                                        \
    XX(FULL, -1006, "store is full")                                                               \
    XX(STORE, -1007, "storage error")                                                              \
    XX(ARCHIVE, -1008, "archive error")                                                            \
    XX(UNSAFE, -1009, "unsafe path refused")                                                       \
    XX(CONFIG, -1010, "invalid configuration")                                                     \
    XX(KEY, -1011, "invalid or unreadable key")                                                    \
    XX(PERM, -1012, "insecure file permissions")                                                   \
    XX(SPAWN, -1013, "could not start process")                                                    \
    XX(TIMEOUT, -1014, "timed out")                                                                \
    XX(PARSE, -1015, "could not parse tool output")                                                \
    XX(STATE, -1016, "message not allowed in this state")                                          \
    XX(AUTH, -1017, "authentication refused")                                                      \
    XX(UNREACHABLE, -1018, "peer unreachable")                                                     \
    XX(INVAL, -1019, "invalid argument")                                                           \
    XX(CANCELLED, -1020, "cancelled")                                                              \
    XX(NOAGENT, -1021, "no agent can run this")

typedef enum {
    TSR_OK = 0,
#define TSR_ERR_ENUM(name, code, text) TSR_E##name = (code),
    TSR_ERR_MAP(TSR_ERR_ENUM)
#undef TSR_ERR_ENUM
} tsr_err_t;

//  Human text for a TSR_E* code or a -errno. Never NULL; static storage.
const char *tsr_strerror(int code);

//  Symbolic name ("TSR_ECORRUPT", "ENOENT"); "TSR_OK" for 0. Static storage.
const char *tsr_err_name(int code);

#endif
