/*
 * abi.h - how large each struct a plugin allocates was at every ABI minor,
 * so the host reads and writes only what the plugin's own minor has (the
 * versioning rule at the top of switchboard.h). Every host call that takes a
 * plugin-owned struct goes through abi_copy_in() or abi_copy_out().
 */
#ifndef SB_CORE_ABI_H
#define SB_CORE_ABI_H

#include <stddef.h>
#include <switchboard/switchboard.h>

/* The structs that plugins allocate and the host reads or fills. */
enum abi_struct {
    ABI_DESCRIPTOR,
    ABI_ROUTE,
    ABI_SETTING,
    ABI_SCHEDULE,
    ABI_INSTALLATION,
    ABI_INTERCOM_REQUEST,
    ABI_RESULT,
    ABI_OUTBOUND_REQUEST,
    ABI_STRUCT_COUNT
};

/* Largest array element a plugin of a newer minor may declare; more is a broken descriptor. */
#define ABI_MAX_ELEMENT_SIZE 1024u
/* Largest descriptor a plugin of a newer minor may declare. */
#define ABI_MAX_DESCRIPTOR_SIZE 4096u

/* The struct's SDK name, e.g. "sb_route", for messages. */
const char *abi_struct_name(enum abi_struct kind);

/*
 * sizeof the struct at ABI 1.@p minor: 0 when it did not exist yet; for a
 * minor newer than the host's, the host's size (the prefix the host knows).
 */
size_t abi_struct_size(enum abi_struct kind, unsigned minor);

/*
 * Read a struct the plugin owns into the host's @p dst (@p dst_size bytes,
 * normally sizeof *dst): zeroed, then as much of @p src as the plugin's
 * minor has. Members the plugin predates read as zero. @p src may be NULL
 * (dst is then all zero).
 */
void abi_copy_in(void *dst, size_t dst_size, const void *src, unsigned plugin_minor,
                 enum abi_struct kind);

/* Fill a struct the plugin owns from the host's @p src, no further than the plugin's minor has. */
void abi_copy_out(void *dst, const void *src, size_t src_size, unsigned plugin_minor,
                  enum abi_struct kind);

/*
 * The element size of the plugin's route, setting or schedule array: its
 * minor's size, or for a minor newer than the host's the size recorded in the
 * descriptor (route_size, setting_size, schedule_size). Returns 0 and writes
 * the reason to @p why when the descriptor's size is missing, too small,
 * absurd, or contradicts the minor.
 */
size_t abi_element_size(const sb_plugin_descriptor *desc, enum abi_struct kind, char *why,
                        size_t why_len);

/*
 * Copy a {NULL}-terminated plugin array (routes, settings or schedules: each
 * starts with a const char * that is NULL in the terminator) into a new
 * host-layout array, terminator included: every element zeroed, then
 * min(@p stride, host size) bytes. Returns NULL with a reason in @p why when
 * it holds more than @p max_elements entries. The caller frees the result.
 */
void *abi_copy_array(const void *plugin_array, size_t stride, enum abi_struct kind,
                     size_t max_elements, char *why, size_t why_len);

#endif
