#ifndef TSR_FW_CARGO_H
#define TSR_FW_CARGO_H
#include "tsr_framework.h"
extern const tsr_framework_t tsr_fw_cargo_entry;
#endif
