/*
 * router.h - method + path pattern matching, shared by the server's own
 * routes and every plugin's product-API routes.
 *
 * Patterns are '/'-separated segments: literals, {name} captures (one
 * segment, percent-decoded), and a final "*" that captures the rest.
 */
#ifndef SB_CORE_ROUTER_H
#define SB_CORE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_PARAMS 8

struct route_match {
    void *data;              /* what router_add was given */
    const char *pattern;
    int n_params;
    const char *names[ROUTER_MAX_PARAMS];
    char *values[ROUTER_MAX_PARAMS]; /* owned by the match: router_match_free */
};

struct router;

struct router *router_new(void);
void router_free(struct router *r);
/* Returns -1 if the pattern is malformed. method "*" matches any method. */
int router_add(struct router *r, const char *method, const char *pattern, void *data);

enum router_result { ROUTE_FOUND = 0, ROUTE_NO_PATH = 404, ROUTE_NO_METHOD = 405,
                     ROUTE_BAD_PATH = 400 };
/* HEAD matches GET routes. On ROUTE_NO_METHOD, *allowed lists the methods (caller frees). */
enum router_result router_match(const struct router *r, const char *method, const char *path,
                                struct route_match *m, char **allowed);
void router_match_free(struct route_match *m);
const char *route_param(const struct route_match *m, const char *name);

#endif
