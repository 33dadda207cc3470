/*  tsr_fw_command - the plain-command "framework"
    No test ids: listing gives none, and a run runs the user's command once
    and reports one result with id "" (PASSED on exit code 0, FAILED on
    another, CRASHED when killed by a signal),
    timed by the wall clock. Sharding of a plain command (TSR_SHARD_INDEX /
    TSR_SHARD_COUNT) is the agent's business, through its environment.      */
#ifndef TSR_FW_COMMAND_H
#define TSR_FW_COMMAND_H

#include "tsr_framework.h"

extern const tsr_framework_t tsr_fw_command_entry;

#endif
