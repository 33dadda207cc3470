#ifndef TSR_FW_NPM_H
#define TSR_FW_NPM_H
#include "tsr_framework.h"
extern const tsr_framework_t tsr_fw_npm_entry;
#endif
