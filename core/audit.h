/* audit.h - the per-installation timeline of what plugins and the host did. */
#ifndef SB_CORE_AUDIT_H
#define SB_CORE_AUDIT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct store;

int audit_append(struct store *st, const char *plugin, int64_t installation, const char *subject,
                 const char *action, const char *detail);
/* Newest first; plugin/subject NULL = all; before_id 0 = from the newest. New array. */
json_object *audit_list(struct store *st, const char *plugin, int64_t installation,
                        const char *subject, int64_t before_id, size_t limit);

#endif
