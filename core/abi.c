/*
 * abi.c - the size of every plugin-allocated struct at each minor of ABI 1.
 *
 * A struct's size at an older minor is where its last member of that minor
 * ends, rounded up to the struct's alignment: the array stride a plugin built
 * then used. tests/abi checks each one against the frozen 1.0 header.
 * A new minor appends one column to sizes[] below.
 */
#include "abi.h"

#include "util.h"

#include <stdalign.h>
#include <stdio.h>
#include <string.h>

#define ROUND_UP(n, to) (((n) + (to) - 1) / (to) * (to))
/* sizeof a version of TYPE that ended with MEMBER. */
#define SIZE_ENDING_AT(type, member)                                                          \
    ROUND_UP(offsetof(type, member) + sizeof(((type *)0)->member), alignof(type))

static const size_t sizes[ABI_STRUCT_COUNT][SB_ABI_MINOR + 1] = {
    /* 1.2 appended a host service only: every plugin-allocated struct is as in 1.1. */
    [ABI_DESCRIPTOR] = {SIZE_ENDING_AT(sb_plugin_descriptor, canvas), sizeof(sb_plugin_descriptor),
                        sizeof(sb_plugin_descriptor)},
    [ABI_ROUTE] = {SIZE_ENDING_AT(sb_route, flags), sizeof(sb_route), sizeof(sb_route)},
    [ABI_SETTING] = {sizeof(sb_setting), sizeof(sb_setting), sizeof(sb_setting)},
    [ABI_SCHEDULE] = {sizeof(sb_schedule), sizeof(sb_schedule), sizeof(sb_schedule)},
    [ABI_INSTALLATION] = {sizeof(sb_installation), sizeof(sb_installation),
                          sizeof(sb_installation)},
    [ABI_INTERCOM_REQUEST] = {sizeof(sb_intercom_request), sizeof(sb_intercom_request),
                              sizeof(sb_intercom_request)},
    [ABI_RESULT] = {SIZE_ENDING_AT(sb_result, message), sizeof(sb_result), sizeof(sb_result)},
    [ABI_OUTBOUND_REQUEST] = {0, sizeof(sb_outbound_request), sizeof(sb_outbound_request)},
};

static const char *const names[ABI_STRUCT_COUNT] = {
    [ABI_DESCRIPTOR] = "sb_plugin_descriptor",
    [ABI_ROUTE] = "sb_route",
    [ABI_SETTING] = "sb_setting",
    [ABI_SCHEDULE] = "sb_schedule",
    [ABI_INSTALLATION] = "sb_installation",
    [ABI_INTERCOM_REQUEST] = "sb_intercom_request",
    [ABI_RESULT] = "sb_result",
    [ABI_OUTBOUND_REQUEST] = "sb_outbound_request",
};

/* abi_copy_array finds the terminator through the first member of each element. */
_Static_assert(offsetof(sb_route, method) == 0, "sb_route starts with method");
_Static_assert(offsetof(sb_setting, name) == 0, "sb_setting starts with name");
_Static_assert(offsetof(sb_schedule, name) == 0, "sb_schedule starts with name");

const char *abi_struct_name(enum abi_struct kind)
{
    return (unsigned)kind < ABI_STRUCT_COUNT ? names[kind] : "?";
}

size_t abi_struct_size(enum abi_struct kind, unsigned minor)
{
    if ((unsigned)kind >= ABI_STRUCT_COUNT)
        return 0;
    return sizes[kind][minor > SB_ABI_MINOR ? SB_ABI_MINOR : minor];
}

void abi_copy_in(void *dst, size_t dst_size, const void *src, unsigned plugin_minor,
                 enum abi_struct kind)
{
    memset(dst, 0, dst_size);
    if (!src)
        return;
    size_t n = abi_struct_size(kind, plugin_minor);
    memcpy(dst, src, n < dst_size ? n : dst_size);
}

void abi_copy_out(void *dst, const void *src, size_t src_size, unsigned plugin_minor,
                  enum abi_struct kind)
{
    size_t n = abi_struct_size(kind, plugin_minor);
    memcpy(dst, src, n < src_size ? n : src_size);
}

static uint16_t declared_element_size(const sb_plugin_descriptor *desc, enum abi_struct kind)
{
    switch (kind) {
    case ABI_ROUTE: return desc->route_size;
    case ABI_SETTING: return desc->setting_size;
    case ABI_SCHEDULE: return desc->schedule_size;
    default: return 0;
    }
}

size_t abi_element_size(const sb_plugin_descriptor *desc, enum abi_struct kind, char *why,
                        size_t why_len)
{
    size_t known = abi_struct_size(kind, desc->abi_minor);
    size_t declared = declared_element_size(desc, kind);
    const char *name = abi_struct_name(kind);
    if (desc->abi_minor <= SB_ABI_MINOR) {
        /* Minor 0 has no sizes; a 1.1 descriptor written without SB_DESCRIPTOR_HEADER has 0. */
        if (declared != 0 && declared != known) {
            snprintf(why, why_len, "declares %s elements of %zu bytes, but ABI 1.%u's are %zu",
                     name, declared, desc->abi_minor, known);
            return 0;
        }
        return known;
    }
    /* A newer minor's elements may have grown: only the descriptor knows their stride. */
    if (declared < known || declared > ABI_MAX_ELEMENT_SIZE) {
        snprintf(why, why_len,
                 "declares %s elements of %zu bytes for ABI 1.%u; they must be %zu to %u bytes",
                 name, declared, desc->abi_minor, known, ABI_MAX_ELEMENT_SIZE);
        return 0;
    }
    return declared;
}

void *abi_copy_array(const void *plugin_array, size_t stride, enum abi_struct kind,
                     size_t max_elements, char *why, size_t why_len)
{
    size_t host_size = abi_struct_size(kind, SB_ABI_MINOR);
    size_t n = 0;
    const char *element = plugin_array;
    for (;; n++, element += stride) {
        const char *first;
        memcpy(&first, element, sizeof first);
        if (!first)
            break;
        if (n == max_elements) {
            snprintf(why, why_len, "more than %zu %s entries (is the {NULL} terminator missing?)",
                     max_elements, abi_struct_name(kind));
            return NULL;
        }
    }
    char *copy = xcalloc(n + 1, host_size);
    size_t take = stride < host_size ? stride : host_size;
    for (size_t i = 0; i < n; i++)
        memcpy(copy + i * host_size, (const char *)plugin_array + i * stride, take);
    return copy;
}
