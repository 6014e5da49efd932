/*
 * plugin_kit.h - the bundled plugins' own policy, compiled into each one
 * (plugins share no code at run time): allocation that aborts on exhaustion
 * (the host's policy, see the top-level README), NULL-safe string equality,
 * a conversation's address in Intercom's inbox, and a product-API refusal in one call (the SDK's sb_result_fail leaves
 * http_status to the caller). Everything else they share comes from the
 * SDK, so this includes <switchboard/helpers.h> for them.
 *
 * No host calls here, so plugins' unit tests link it directly.
 */
#ifndef PLUGIN_KIT_H
#define PLUGIN_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <switchboard/helpers.h>
#include <switchboard/switchboard.h>

#if defined(__GNUC__) || defined(__clang__)
#define PK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PK_PRINTF(fmt, args)
#endif

#define PK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation: never NULL; exhaustion aborts ---- */

void *pk_xcalloc(size_t n, size_t size);
void *pk_xrealloc(void *p, size_t size);
char *pk_xstrdup(const char *s);
char *pk_xstrndup(const char *s, size_t n);
char *pk_xasprintf(const char *fmt, ...) PK_PRINTF(1, 2);
/** @p p, made elsewhere (the SDK helpers answer NULL when out of memory); NULL aborts. */
void *pk_xchecked(void *p);

/* ---- strings ---- */

/** Equal strings; NULL equals only NULL. */
bool pk_str_eq(const char *a, const char *b);

/* ---- Intercom ---- */

/** A conversation's page in the Intercom inbox of @p region's web app (US when unknown). */
char *pk_conversation_link(const char *region, const char *workspace_id,
                           const char *conversation_id);

/* ---- product-API errors ---- */

/**
 * A route's refusal: FAIL with @p http_status, @p code and the message, which
 * the host answers as {"error":{"status","code","message","request_id"}}.
 * Returns SB_FAIL, for `return pk_refuse(...)`.
 */
sb_status pk_refuse(sb_result *result, int http_status, const char *code, const char *fmt, ...)
    PK_PRINTF(4, 5);

#endif
