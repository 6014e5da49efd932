/*
 * server_harness.h - the real server (startup.c), booted once in the fuzz
 * process: configuration in a temporary folder, SQLite store, the test
 * plugin testplug with credentials and one active installation, and every
 * Intercom URL pointed at a closed loopback port so nothing leaves the
 * machine. Requests reach it through http_server_adopt (exchange.h).
 */
#ifndef SB_FUZZ_SERVER_HARNESS_H
#define SB_FUZZ_SERVER_HARNESS_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUZZ_PLUGIN "testplug"
#define FUZZ_WORKSPACE "ws_fuzz"      /* the installed workspace (app_id, workspace_id) */
#define FUZZ_CLIENT_SECRET "fuzz-client-secret"
#define FUZZ_API_KEY "fuzz-api-key"
#define FUZZ_ADMIN_TOKEN "fuzz-admin-token-4f1c2a"

/* Boot the server unless it is up (LLVMFuzzerInitialize calls this, after fuzz_log_init). */
void fuzz_server_boot(void);

/*
 * Send one complete request, run the server until it has answered and
 * closed, check that the answer is well-formed HTTP and return the status
 * of its final response (0 when there was none). response may be NULL.
 */
int fuzz_server_request(const void *request, size_t len, struct buf *response);

/* Append s to b with the bytes a request target cannot hold (controls, space, DEL, '#', 8-bit) as %XX. */
void fuzz_append_target(struct buf *b, const uint8_t *s, size_t len);

/*
 * Input "METHOD PATH\nBODY" (no space in the first line: GET of that path)
 * as a request under prefix, with the given extra header lines, the body
 * as JSON with its Content-Length. Used by the admin and product-API targets.
 */
void fuzz_line_request(struct buf *out, const uint8_t *data, size_t size, const char *prefix,
                       const char *extra_headers);

/*
 * Whether a body is one JSON value (an object, if object is set) as RFC 8259
 * has it (json-c's strict mode) with nothing after it but whitespace and no
 * NUL anywhere: what a body from outside must be before anything but a 4xx
 * answers it.
 */
bool fuzz_strict_json(const uint8_t *data, size_t size, bool object);

/* The BODY part of a "METHOD PATH\nBODY" input (see fuzz_line_request). */
const uint8_t *fuzz_line_body(const uint8_t *data, size_t size, size_t *body_len);

/* Append the hex HMAC of data under the plugin's client_secret (md: EVP_sha1() or EVP_sha256()). */
void fuzz_append_signature(struct buf *b, const void *md, const uint8_t *data, size_t size);

/* Abort with the input's status unless status is one of the allowed ones (0-terminated list). */
void fuzz_expect_status(int status, const int *allowed, const char *what);

#endif
