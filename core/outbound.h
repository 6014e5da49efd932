/*
 * outbound.h - outbound HTTP for plugins (sb_host.outbound_request): calls to
 * hosts that are not Intercom's, only to those listed in the plugin's
 * outbound_hosts (see outbound_hosts.h for the matching rules).
 *
 * What the host guarantees, beyond the SDK header:
 *  - A refused request (host not listed, malformed URL, user or password in
 *    the URL, a scheme other than http/https, a bad method, a body over
 *    4 MiB, more than 64 header lines, a header line without ':', with a
 *    control byte such as CR or LF, or naming Host, Content-Length or
 *    Transfer-Encoding) completes with SB_ERR_NOT_ALLOWED later on the loop
 *    and nothing leaves the machine: no DNS lookup, no connection.
 *  - Redirects are never followed: a 3xx comes back as it is (its Location
 *    through header()), with SB_ERR_SERVER_ERROR like any answer a client
 *    cannot use. Only the URL's own scheme is enabled in libcurl.
 *  - timeout_ms covers the whole request, a wait for a free slot included;
 *    0 means 30 s, and more than 300 s is lowered to 300 s.
 *  - At most 16 requests of a plugin are in flight; up to 1024 more wait in
 *    order, and beyond that a request completes with SB_ERR_RATE_LIMITED.
 *  - A response body over 4 MiB is dropped: SB_ERR_SERVER_ERROR, status kept.
 *  - Status mapping as for Intercom (errors_kind_for_status) except 401:
 *    2xx NONE; 401 and 403 FORBIDDEN (for a vendor API a 401 means the
 *    vendor credentials the plugin sent are wrong, which only the integrator
 *    can fix: not NEEDS_REAUTH, which concerns the Intercom installation);
 *    404 and 410 NOT_FOUND; 429 RATE_LIMITED; other 4xx INVALID_REQUEST;
 *    5xx, 1xx and 3xx SERVER_ERROR; no answer (timeout, refused, reset, DNS,
 *    TLS) NETWORK; a 2xx whose JSON body does not parse SERVER_ERROR. retry_after_s comes from Retry-After (seconds or an HTTP
 *    date) on 429 and 503.
 *  - json is set when the Content-Type is application/json or ends in +json
 *    and the body is one strict JSON value (json_input.h), for any status.
 *  - The host adds User-Agent (the plugin may replace it) and sends no
 *    Content-Type of its own: the plugin names its body's.
 *  - Logs carry the method, host, port, path without the query, status and
 *    duration; never header values, the query or bodies.
 */
#ifndef SB_CORE_OUTBOUND_H
#define SB_CORE_OUTBOUND_H

#include <stddef.h>
#include <switchboard/switchboard.h>

struct server;
struct sb_plugin;
struct outbound;

struct outbound *outbound_new(struct server *srv, char *err, size_t errlen);
/* Cancel everything still in flight (callbacks run with CANCELLED) and free. */
void outbound_free(struct outbound *ob);

/* The SDK services (see switchboard.h). */
sb_request_id outbound_request(struct outbound *ob, struct sb_plugin *p,
                               const sb_outbound_request *req, sb_outbound_cb cb, void *arg);
void outbound_cancel(struct outbound *ob, struct sb_plugin *p, sb_request_id id);
/* Cancel every request of a plugin and run its callbacks now (before its shutdown). */
void outbound_cancel_plugin(struct outbound *ob, struct sb_plugin *p);

#endif
