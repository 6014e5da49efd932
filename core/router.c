/* router.c - segment-wise pattern matching; routes are few, so a list is fastest to read. */
#include "router.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SEGMENTS 32

struct route {
    char *method;
    char *pattern;
    char *segments[MAX_SEGMENTS];
    int n_segments;
    bool rest; /* ends in "*" */
    void *data;
};

struct router {
    struct route *routes;
    size_t n, cap;
};

struct router *router_new(void)
{
    return xcalloc(1, sizeof(struct router));
}

void router_free(struct router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->routes[i].method);
        free(r->routes[i].pattern);
        for (int j = 0; j < r->routes[i].n_segments; j++)
            free(r->routes[i].segments[j]);
    }
    free(r->routes);
    free(r);
}

/* Split a path into segments (pointers into the copy); -1 if too deep. */
static int split(char *copy, char **segs)
{
    int n = 0;
    for (char *save = NULL, *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == MAX_SEGMENTS)
            return -1;
        segs[n++] = s;
    }
    return n;
}

int router_add(struct router *r, const char *method, const char *pattern, void *data)
{
    if (pattern[0] != '/')
        return -1;
    struct route rt = {0};
    char *copy = xstrdup(pattern);
    char *segs[MAX_SEGMENTS];
    int n = split(copy, segs);
    int params = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);
        bool capture = segs[i][0] == '{';
        if ((capture && (len < 3 || segs[i][len - 1] != '}')) || (strcmp(segs[i], "*") == 0 && i != n - 1)
            || (capture && ++params > ROUTER_MAX_PARAMS - 1)) {
            free(copy);
            return -1;
        }
    }
    if (n < 0) {
        free(copy);
        return -1;
    }
    rt.rest = n > 0 && strcmp(segs[n - 1], "*") == 0;
    rt.n_segments = rt.rest ? n - 1 : n;
    for (int i = 0; i < rt.n_segments; i++)
        rt.segments[i] = xstrdup(segs[i]);
    free(copy);
    rt.method = xstrdup(method);
    rt.pattern = xstrdup(pattern);
    rt.data = data;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->routes = xrealloc(r->routes, r->cap * sizeof *r->routes);
    }
    r->routes[r->n++] = rt;
    return 0;
}

static bool method_matches(const char *route_method, const char *method)
{
    return strcmp(route_method, "*") == 0 || strcmp(route_method, method) == 0
           || (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Match the segments; on success fill m's params. */
static bool path_matches(const struct route *rt, char **segs, int n, const char *rest,
                         struct route_match *m)
{
    if (n < rt->n_segments || (!rt->rest && n != rt->n_segments))
        return false;
    for (int i = 0; i < rt->n_segments; i++)
        if (rt->segments[i][0] != '{' && strcmp(rt->segments[i], segs[i]) != 0)
            return false;
    m->n_params = 0;
    for (int i = 0; i < rt->n_segments; i++) {
        if (rt->segments[i][0] != '{')
            continue;
        m->names[m->n_params] = rt->segments[i];
        m->values[m->n_params++] = xstrdup(segs[i]);
    }
    if (rt->rest) {
        m->names[m->n_params] = "*";
        m->values[m->n_params++] = xstrdup(rest);
    }
    return true;
}

/* Where the rest ("*") of a path begins after `skip` segments. */
static const char *rest_after(const char *path, int skip)
{
    const char *p = path;
    for (int i = 0; i < skip; i++) {
        while (*p == '/')
            p++;
        while (*p && *p != '/')
            p++;
    }
    return p;
}

enum router_result router_match(const struct router *r, const char *method, const char *path,
                                struct route_match *m, char **allowed)
{
    memset(m, 0, sizeof *m);
    if (allowed)
        *allowed = NULL;
    char *copy = xstrdup(path);
    char *segs[MAX_SEGMENTS];
    int n = split(copy, segs);
    if (n < 0) {
        free(copy);
        return ROUTE_BAD_PATH;
    }
    for (int i = 0; i < n; i++) {
        if (!url_decode(segs[i], false)) {
            free(copy);
            return ROUTE_BAD_PATH;
        }
    }
    struct buf methods;
    buf_init(&methods);
    enum router_result result = ROUTE_NO_PATH;
    for (size_t i = 0; i < r->n; i++) {
        const struct route *rt = &r->routes[i];
        struct route_match trial = {0};
        if (!path_matches(rt, segs, n, rest_after(path, rt->n_segments), &trial))
            continue;
        if (method_matches(rt->method, method)) {
            router_match_free(m);
            *m = trial;
            m->data = rt->data;
            m->pattern = rt->pattern;
            result = ROUTE_FOUND;
            break;
        }
        router_match_free(&trial);
        if (!strstr(methods.data ? methods.data : "", rt->method)) {
            if (methods.len)
                buf_puts(&methods, ", ");
            buf_puts(&methods, rt->method);
        }
        result = ROUTE_NO_METHOD;
    }
    free(copy);
    if (result == ROUTE_NO_METHOD && allowed)
        *allowed = buf_steal(&methods);
    buf_free(&methods);
    return result;
}

void router_match_free(struct route_match *m)
{
    for (int i = 0; i < m->n_params; i++)
        free(m->values[i]);
    m->n_params = 0;
}

const char *route_param(const struct route_match *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++) {
        const char *n = m->names[i];
        size_t len = strlen(name);
        if (n[0] == '{' && strncmp(n + 1, name, len) == 0 && n[len + 1] == '}' && !n[len + 2])
            return m->values[i];
        if (strcmp(n, name) == 0)
            return m->values[i];
    }
    return NULL;
}
