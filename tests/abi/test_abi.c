/*
 * Unit tests: core/abi.c against the frozen 1.0 header (sizes_v10.c) - the
 * sizes it records for minor 0, the prefix copies, and the element sizes
 * and array copies of newer minors.
 */
#include "abi.h"
#include "sizes_v10.h"
#include "unit.h"

#include <stdint.h>

static void sizes_match_the_frozen_header(void)
{
    CHECK_INT(abi_struct_size(ABI_DESCRIPTOR, 0), abi_v10_sizes.descriptor);
    CHECK_INT(abi_struct_size(ABI_ROUTE, 0), abi_v10_sizes.route);
    CHECK_INT(abi_struct_size(ABI_SETTING, 0), abi_v10_sizes.setting);
    CHECK_INT(abi_struct_size(ABI_SCHEDULE, 0), abi_v10_sizes.schedule);
    CHECK_INT(abi_struct_size(ABI_INSTALLATION, 0), abi_v10_sizes.installation);
    CHECK_INT(abi_struct_size(ABI_INTERCOM_REQUEST, 0), abi_v10_sizes.intercom_request);
    CHECK_INT(abi_struct_size(ABI_RESULT, 0), abi_v10_sizes.result);
    CHECK_INT(abi_struct_size(ABI_OUTBOUND_REQUEST, 0), 0); /* new in 1.1 */
    /* 1.1 grew these three. */
    CHECK(abi_v10_sizes.route < sizeof(sb_route));
    CHECK(abi_v10_sizes.result < sizeof(sb_result));
    CHECK(abi_v10_sizes.descriptor < sizeof(sb_plugin_descriptor));
}

static void current_and_newer_minors_use_the_host_size(void)
{
    CHECK_INT(abi_struct_size(ABI_ROUTE, SB_ABI_MINOR), sizeof(sb_route));
    CHECK_INT(abi_struct_size(ABI_RESULT, SB_ABI_MINOR), sizeof(sb_result));
    CHECK_INT(abi_struct_size(ABI_OUTBOUND_REQUEST, SB_ABI_MINOR), sizeof(sb_outbound_request));
    CHECK_INT(abi_struct_size(ABI_ROUTE, 9), sizeof(sb_route));
    CHECK_INT(abi_struct_size(ABI_DESCRIPTOR, 65535), sizeof(sb_plugin_descriptor));
    CHECK_STR(abi_struct_name(ABI_INTERCOM_REQUEST), "sb_intercom_request");
}

static void copy_in_reads_only_the_plugins_prefix(void)
{
    /* A 1.0 result followed by bytes that would read as a 1.1 code. */
    unsigned char plugin[sizeof(sb_result) + 64];
    memset(plugin, 'x', sizeof plugin);
    sb_result v10 = {.retry_after_s = 7, .http_status = 404};
    snprintf(v10.message, sizeof v10.message, "gone");
    memcpy(plugin, &v10, abi_v10_sizes.result);
    sb_result host;
    abi_copy_in(&host, sizeof host, plugin, 0, ABI_RESULT);
    CHECK_INT(host.retry_after_s, 7);
    CHECK_INT(host.http_status, 404);
    CHECK_STR(host.message, "gone");
    CHECK_STR(host.code, ""); /* zero, not the plugin's neighbouring bytes */
    CHECK_STR(host.where, "");
    /* A 1.1 plugin's code and where are read. */
    sb_result v11 = {.http_status = 409};
    snprintf(v11.code, sizeof v11.code, "conflict");
    snprintf(v11.where, sizeof v11.where, "flows[2].intents[0].match");
    abi_copy_in(&host, sizeof host, &v11, 1, ABI_RESULT);
    CHECK_STR(host.code, "conflict");
    CHECK_STR(host.where, "flows[2].intents[0].match");
    /* NULL reads as all zero. */
    abi_copy_in(&host, sizeof host, NULL, 1, ABI_RESULT);
    CHECK_INT(host.http_status, 0);
}

static void copy_out_writes_only_the_plugins_prefix(void)
{
    unsigned char plugin[sizeof(sb_route) + 16];
    memset(plugin, 0xA5, sizeof plugin);
    sb_route host = {.method = "GET", .pattern = "/p", .flags = 1, .arg = &host};
    abi_copy_out(plugin, &host, sizeof host, 0, ABI_ROUTE);
    sb_route seen;
    memcpy(&seen, plugin, sizeof seen);
    CHECK_STR(seen.method, "GET");
    CHECK_INT(seen.flags, 1);
    for (size_t i = abi_v10_sizes.route; i < sizeof plugin; i++)
        CHECK_INT(plugin[i], 0xA5);
}

static size_t element_size(uint16_t minor, uint16_t route_size, char *why, size_t why_len)
{
    sb_plugin_descriptor d = {.abi_major = 1, .abi_minor = minor, .route_size = route_size};
    return abi_element_size(&d, ABI_ROUTE, why, why_len);
}

static void element_sizes(void)
{
    char why[256] = "";
    CHECK_INT(element_size(0, 0, why, sizeof why), abi_v10_sizes.route);
    CHECK_INT(element_size(1, 0, why, sizeof why), sizeof(sb_route));
    CHECK_INT(element_size(1, sizeof(sb_route), why, sizeof why), sizeof(sb_route));
    CHECK_INT(element_size(1, sizeof(sb_route) + 8, why, sizeof why), 0);
    CHECK_CONTAINS(why, "but ABI 1.1's are");
    /* A newer minor: the descriptor's size, from the host's up to a sane bound. */
    CHECK_INT(element_size(9, sizeof(sb_route) + 24, why, sizeof why), sizeof(sb_route) + 24);
    CHECK_INT(element_size(9, sizeof(sb_route), why, sizeof why), sizeof(sb_route));
    why[0] = '\0';
    CHECK_INT(element_size(9, 0, why, sizeof why), 0);
    CHECK_CONTAINS(why, "declares sb_route elements of 0 bytes for ABI 1.9");
    CHECK_INT(element_size(9, sizeof(sb_route) - 8, why, sizeof why), 0);
    CHECK_INT(element_size(9, ABI_MAX_ELEMENT_SIZE + 8, why, sizeof why), 0);
}

struct wide_route {
    sb_route base;
    const char *future;
};

static void arrays_are_copied_with_the_plugins_stride(void)
{
    static int marker;
    const struct wide_route wide[] = {
        {{.method = "GET", .pattern = "/a", .flags = SB_ROUTE_PUBLIC, .arg = &marker}, "x"},
        {{.method = "POST", .pattern = "/b/{id}"}, "y"},
        {{.method = NULL}, "terminator"},
    };
    char why[256] = "";
    sb_route *copy = abi_copy_array(wide, sizeof wide[0], ABI_ROUTE, 16, why, sizeof why);
    CHECK(copy != NULL);
    if (copy) {
        CHECK_STR(copy[0].pattern, "/a");
        CHECK(copy[0].arg == &marker);
        CHECK_INT(copy[0].flags, SB_ROUTE_PUBLIC);
        CHECK_STR(copy[1].method, "POST");
        CHECK_STR(copy[1].pattern, "/b/{id}");
        CHECK(copy[2].method == NULL);
    }
    free(copy);
    /* A 1.0-sized stride: the members 1.0 lacked are zero in the copy. */
    unsigned char narrow[3 * sizeof(sb_route)];
    memset(narrow, 0xA5, sizeof narrow);
    size_t stride = abi_v10_sizes.route;
    sb_route r0 = {.method = "GET", .pattern = "/x"}, end = {.method = NULL};
    memcpy(narrow, &r0, stride);
    memcpy(narrow + stride, &end, stride);
    copy = abi_copy_array(narrow, stride, ABI_ROUTE, 16, why, sizeof why);
    CHECK(copy != NULL);
    if (copy) {
        CHECK_STR(copy[0].pattern, "/x");
        CHECK(copy[0].arg == NULL);
        CHECK(copy[1].method == NULL);
    }
    free(copy);
    /* No terminator within the bound. */
    CHECK(abi_copy_array(wide, sizeof wide[0], ABI_ROUTE, 1, why, sizeof why) == NULL);
    CHECK_CONTAINS(why, "more than 1 sb_route entries");
}

int main(void)
{
    RUN(sizes_match_the_frozen_header);
    RUN(current_and_newer_minors_use_the_host_size);
    RUN(copy_in_reads_only_the_plugins_prefix);
    RUN(copy_out_writes_only_the_plugins_prefix);
    RUN(element_sizes);
    RUN(arrays_are_copied_with_the_plugins_stride);
    UNIT_DONE();
}
