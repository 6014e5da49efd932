/* sizes_v10.c - compiled against tests/abi/switchboard-1.0 only: see sizes_v10.h. */
#include "sizes_v10.h"

#include <switchboard/switchboard.h>

#if SB_ABI_MINOR != 0
#error "sizes_v10.c must be built against the frozen 1.0 header"
#endif

const struct abi_v10_sizes abi_v10_sizes = {
    .descriptor = sizeof(sb_plugin_descriptor),
    .route = sizeof(sb_route),
    .setting = sizeof(sb_setting),
    .schedule = sizeof(sb_schedule),
    .installation = sizeof(sb_installation),
    .intercom_request = sizeof(sb_intercom_request),
    .result = sizeof(sb_result),
};
