/*
 * sd_usage_api.h - the usage mapping through the product API (PUT and GET
 * /usage_mapping) and what the status shows about it.
 */
#ifndef SD_USAGE_API_H
#define SD_USAGE_API_H

#include "sd_plugin.h"

/** PUT /usage_mapping: validate (422 names the entry at fault) and store; the next syncs use it. */
sb_status sd_route_usage_mapping_put(void *state, const sb_http_request *req, sb_result *result);
/** GET /usage_mapping: the stored mapping ({"mappings": [], "updated_at": null} when none). */
sb_status sd_route_usage_mapping_get(void *state, const sb_http_request *req, sb_result *result);

/**
 * For the status: {"mappings": n, "unmatched": {event name: count}, "unmatched_more": bool},
 * the unmatched names in name order, at most SD_UNMATCHED_SHOWN of them.
 */
json_object *sd_usage_status(struct sd_plugin *sd, sb_installation_id inst);
#define SD_UNMATCHED_SHOWN 100

#endif
