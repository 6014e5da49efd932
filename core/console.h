/*
 * console.h - the web console's files, compiled into the binary
 * (console_files.h), served at `/` (index.html), `/console/<path>` and
 * `/favicon.ico` (icon.svg) without the admin token: the pages hold no data, the admin API behind
 * them does.
 */
#ifndef SB_CORE_CONSOLE_H
#define SB_CORE_CONSOLE_H

struct http_request;

/* file: the raw path after "/console" ("/app.js"); NULL or empty: index.html. */
void console_handle(struct http_request *req, const char *file);

#endif
