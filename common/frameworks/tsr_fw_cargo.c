#include "tsr_fw_cargo.h"
const tsr_framework_t tsr_fw_cargo_entry = {.name = "cargo"};
