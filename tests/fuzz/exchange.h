/*
 * exchange.h - what every fuzz target does with the real connection code:
 * hand one end of a socketpair to an http_server as if accepted, write the
 * request bytes (optionally in two writes), half-close, run the event loop
 * until the server has answered and closed, and check the answer's framing.
 */
#ifndef SB_FUZZ_EXCHANGE_H
#define SB_FUZZ_EXCHANGE_H

#include "http.h"
#include "util.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Send data (split into two writes at split, when 0 < split < len) and
 * collect everything the server sends back into response. Aborts when the
 * server still holds the connection after a few seconds (a hang is a bug).
 */
void fuzz_exchange(struct event_base *base, struct http_server *srv, const void *data, size_t len,
                   size_t split, struct buf *response);

/*
 * Every byte sent back must be a sequence of whole HTTP/1.1 responses:
 * status line, CRLF-terminated header lines, Content-Length on every final
 * answer, and that many body bytes (none after a HEAD). Aborts otherwise,
 * printing the response.
 */
void fuzz_check_responses(const struct buf *response);

/* The status of the first final (non-1xx) response, or 0 when there is none. */
int fuzz_first_status(const struct buf *response);

#endif
