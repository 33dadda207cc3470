/*  tsr_common - project-wide definitions every module includes
    Version checks of the libraries we build on, attributes, the exit codes. */
#ifndef TSR_COMMON_H
#define TSR_COMMON_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if CZMQ_VERSION < CZMQ_MAKE_VERSION(4, 2, 0)
#error "Tessera needs czmq >= 4.2"
#endif
#if ZMQ_VERSION < ZMQ_MAKE_VERSION(4, 3, 0)
#error "Tessera needs libzmq >= 4.3"
#endif

#define TSR_VERSION "0.1.0"
#define TSR_PROTOCOL_VERSION 1

#define TSR_NODISCARD __attribute__((warn_unused_result))

//  Exit codes shared by every binary (DESIGN "User contract").
typedef enum {
    TSR_EXIT_OK = 0,     //  passed
    TSR_EXIT_FAILED = 1, //  tests failed or a gate failed
    TSR_EXIT_CONFIG = 2, //  usage or configuration error
    TSR_EXIT_INFRA = 3,  //  no agent, auth refused, coordinator unreachable
} tsr_exit_t;

#include "tsr_err.h"
#include "tsr_log.h"

#endif
