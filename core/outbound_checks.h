/*
 * outbound_checks.h - what a plugin's outbound request must be before
 * anything may leave (method, a URL on the allow-list, body size, header
 * lines), and what kind of answer a vendor gave: one rule for the host
 * (outbound.c) and the testing kit. The URL grammar and the allow-list's
 * matching are outbound_hosts.h's.
 */
#ifndef SB_CORE_OUTBOUND_CHECKS_H
#define SB_CORE_OUTBOUND_CHECKS_H

#include "outbound_hosts.h"

#include <stdbool.h>
#include <stddef.h>
#include <switchboard/switchboard.h>

#define OUTBOUND_MAX_REQUEST_BODY (4u << 20)
#define OUTBOUND_MAX_HEADER_LINES 64
#define OUTBOUND_MAX_HEADER_LINE 8192

/* What the checks learnt on the way, for sending the request. */
struct outbound_checked {
    struct outbound_target target;
    bool has_content_type; /* the plugin names the body's Content-Type */
    bool has_expect;       /* and an Expect of its own */
};

/* GET, POST, PUT, PATCH or DELETE. */
bool outbound_method_valid(const char *method);

/*
 * NULL if @p req may leave for one of the @p n_hosts entries of plugin
 * @p plugin's allow-list, else why not (a header line is named by its
 * number only: its value may be a secret). The reason may be written into
 * @p why.
 */
const char *outbound_request_problem(const sb_outbound_request *req,
                                     const struct outbound_host *hosts, size_t n_hosts,
                                     const char *plugin, struct outbound_checked *out, char *why,
                                     size_t why_len);

/* As for Intercom (errors.h), but a vendor's 401 says the plugin's vendor credentials are wrong. */
sb_error_kind outbound_kind_for_status(int status);

/* application/json or any +json type, parameters aside. */
bool outbound_is_json_type(const char *content_type);

#endif
