/*
 * sizes_v10.h - sizeof each plugin-allocated struct of ABI 1.0, taken from the
 * frozen 1.0 header by sizes_v10.c (which cannot share a translation unit
 * with the current header: both define the same names).
 */
#ifndef SB_TESTS_ABI_SIZES_V10_H
#define SB_TESTS_ABI_SIZES_V10_H

#include <stddef.h>

struct abi_v10_sizes {
    size_t descriptor, route, setting, schedule, installation, intercom_request, result;
};

extern const struct abi_v10_sizes abi_v10_sizes;

#endif
