#include "tsr_fw_npm.h"
const tsr_framework_t tsr_fw_npm_entry = {.name = "npm"};
