/*
 * plugins.c - finding, checking, starting and stopping plugins.
 *
 * Every check that can refuse a plugin runs before any of its code other
 * than the entry point: file, dlopen(RTLD_NOW | RTLD_LOCAL), entry symbol,
 * ABI version, descriptor size, required callbacks, routes and settings
 * schema, duplicate names. A refusal is one log line; the server carries on
 * with the others (unless --strict-plugins).
 */
#include "plugins.h"

#include "abi.h"
#include "host.h"
#include "intercom.h"
#include "outbound.h"
#include "log.h"
#include "route_flags.h"
#include "router.h"
#include "server.h"
#include "settings.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The descriptor fields every ABI-1 plugin has, up to and including shutdown. */
#define DESCRIPTOR_MIN_SIZE (offsetof(sb_plugin_descriptor, shutdown) + sizeof(void (*)(void *)))
/* More routes, settings or schedules than this means a missing {NULL} terminator. */
#define MAX_ARRAY_ELEMENTS 1024

#ifndef SWITCHBOARD_PLUGIN_INSTALL_DIR
#define SWITCHBOARD_PLUGIN_INSTALL_DIR "/usr/local/lib/switchboard/plugins"
#endif
#ifndef SWITCHBOARD_PLUGIN_RELATIVE_DIR
#define SWITCHBOARD_PLUGIN_RELATIVE_DIR "../lib/switchboard/plugins"
#endif

char *plugins_default_dir(const struct config *cfg)
{
    if (cfg->plugin_dir)
        return xstrdup(cfg->plugin_dir);
    /*
     * A build tree keeps plugins/ beside the binary; an installation keeps
     * them in <prefix>/<libdir>/switchboard/plugins, found relative to the
     * binary so a relocated install works too.
     */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            const char *candidates[] = {"plugins", SWITCHBOARD_PLUGIN_RELATIVE_DIR};
            for (size_t i = 0; i < ARRAY_LEN(candidates); i++) {
                char *dir = xasprintf("%s/%s", exe, candidates[i]);
                if (access(dir, R_OK | X_OK) == 0)
                    return dir;
                free(dir);
            }
        }
    }
    return xstrdup(SWITCHBOARD_PLUGIN_INSTALL_DIR);
}

static void refuse(struct plugin_registry *reg, const char *name, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void refuse(struct plugin_registry *reg, const char *name, const char *path,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *reason = xvasprintf(fmt, ap);
    va_end(ap);
    log_error("plugins", "refused plugin '%s' (%s): %s", name, path, reason);
    reg->refused = xrealloc(reg->refused, (reg->n_refused + 1) * sizeof *reg->refused);
    reg->refused[reg->n_refused].name = xstrdup(name);
    reg->refused[reg->n_refused].path = xstrdup(path);
    reg->refused[reg->n_refused].reason = reason;
    reg->n_refused++;
}

struct sb_plugin *plugins_find(const struct plugin_registry *reg, const char *name)
{
    if (!reg || !name)
        return NULL;
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->items[i]->name, name) == 0)
            return reg->items[i];
    return NULL;
}

bool plugin_configured(const struct sb_plugin *p)
{
    return p->cfg && p->cfg->client_id && p->cfg->client_secret;
}

bool plugin_wants_topic(const struct sb_plugin *p, const char *topic)
{
    for (const char *const *t = p->desc.topics; t && *t; t++)
        if (strcmp(*t, topic) == 0 || strcmp(*t, "*") == 0)
            return true;
    return false;
}

/* Checks on the copied descriptor; returns a reason or NULL. */
static char *descriptor_problem(const sb_plugin_descriptor *d, const char *configured_name)
{
    if (!d->name || !str_is_token(d->name, 32))
        return xstrdup("descriptor name is missing or not [a-z0-9_-]{1,32}");
    if (strcmp(d->name, configured_name) != 0)
        return xasprintf("descriptor name '%s' does not match the configured name", d->name);
    if (!d->version)
        return xstrdup("descriptor has no version");
    if (!d->init)
        return xstrdup("required callback init is NULL");
    if (!d->shutdown)
        return xstrdup("required callback shutdown is NULL");
    if (d->topics && d->topics[0] && !d->on_event)
        return xstrdup("declares webhook topics but on_event is NULL");
    if (d->schedules && d->schedules[0].name && !d->on_job)
        return xstrdup("declares schedules but on_job is NULL");
    for (const sb_route *r = d->routes; r && r->method; r++) {
        if (!r->pattern || !r->handler)
            return xasprintf("route %s has no pattern or handler", r->method);
        if (r->flags & ~ROUTE_KNOWN_FLAGS)
            return xasprintf("route %s %s has flags 0x%x this host does not know (ABI %d.%d)",
                             r->method, r->pattern, r->flags & ~ROUTE_KNOWN_FLAGS, SB_ABI_MAJOR,
                             SB_ABI_MINOR);
        const char *conflict = route_flags_conflict(r->flags);
        if (conflict)
            return xasprintf("route %s %s: %s", r->method, r->pattern, conflict);
        if (strcmp(r->method, "GET") && strcmp(r->method, "POST") && strcmp(r->method, "PUT")
            && strcmp(r->method, "DELETE") && strcmp(r->method, "PATCH"))
            return xasprintf("route %s %s has an unsupported method", r->method, r->pattern);
    }
    for (const sb_schedule *s = d->schedules; s && s->name; s++) {
        if (!str_is_token(s->name, 64))
            return xasprintf("schedule name '%s' is not [a-z0-9_-]", s->name);
        if (s->interval_s == 0)
            return xasprintf("schedule '%s' has interval 0", s->name);
        const sb_setting *setting = s->interval_setting
                                        ? settings_find(d->settings, s->interval_setting)
                                        : NULL;
        if (s->interval_setting && (!setting || setting->type != SB_SETTING_INT))
            return xasprintf("schedule '%s' names '%s', which is not an int setting", s->name,
                             s->interval_setting);
    }
    struct buf err;
    buf_init(&err);
    if (!settings_schema_valid(d->settings, &err))
        return buf_steal(&err);
    buf_free(&err);
    return NULL;
}

/* The descriptor's size must fit its minor; returns a reason or NULL. */
static char *descriptor_size_problem(const sb_plugin_descriptor *d)
{
    if (d->struct_size < DESCRIPTOR_MIN_SIZE)
        return xasprintf("descriptor is %u bytes, too small for ABI %d", d->struct_size,
                         SB_ABI_MAJOR);
    size_t known = abi_struct_size(ABI_DESCRIPTOR, d->abi_minor);
    if (d->abi_minor <= SB_ABI_MINOR && d->struct_size > known)
        return xasprintf("descriptor is %u bytes, larger than the %zu of ABI %u.%u it declares",
                         d->struct_size, known, d->abi_major, d->abi_minor);
    if (d->abi_minor > SB_ABI_MINOR
        && (d->struct_size < known || d->struct_size > ABI_MAX_DESCRIPTOR_SIZE))
        return xasprintf("descriptor of ABI %u.%u is %u bytes; it must be %zu to %u bytes",
                         d->abi_major, d->abi_minor, d->struct_size, known,
                         ABI_MAX_DESCRIPTOR_SIZE);
    return NULL;
}

/*
 * Copy one of the plugin's arrays into host layout (see struct sb_plugin).
 * Returns 0, or -1 with the reason in why.
 */
static int copy_array(const sb_plugin_descriptor *d, const void *plugin_array,
                      enum abi_struct kind, void **table, char *why, size_t why_len)
{
    *table = NULL;
    if (!plugin_array)
        return 0;
    size_t stride = abi_element_size(d, kind, why, why_len);
    if (!stride)
        return -1;
    *table = abi_copy_array(plugin_array, stride, kind, MAX_ARRAY_ELEMENTS, why, why_len);
    return *table ? 0 : -1;
}

/* Replace desc's routes, settings and schedules by host-layout copies; returns a reason or NULL. */
static char *copy_arrays(struct sb_plugin *p)
{
    char why[256];
    void *routes, *settings, *schedules;
    if (copy_array(&p->desc, p->desc.routes, ABI_ROUTE, &routes, why, sizeof why) != 0)
        return xstrdup(why);
    p->route_table = routes;
    if (copy_array(&p->desc, p->desc.settings, ABI_SETTING, &settings, why, sizeof why) != 0)
        return xstrdup(why);
    p->setting_table = settings;
    if (copy_array(&p->desc, p->desc.schedules, ABI_SCHEDULE, &schedules, why, sizeof why) != 0)
        return xstrdup(why);
    p->schedule_table = schedules;
    p->desc.routes = p->route_table;
    p->desc.settings = p->setting_table;
    p->desc.schedules = p->schedule_table;
    return NULL;
}

static void free_arrays(struct sb_plugin *p)
{
    free(p->route_table);
    free(p->setting_table);
    free(p->schedule_table);
}

struct line_report {
    struct config_report *report;
    const struct plugin_config *pc;
};

static void report_setting(void *arg, const char *key, const char *message)
{
    struct line_report *lr = arg;
    json_object *line = NULL;
    json_object_object_get_ex(lr->pc->settings_lines, key, &line);
    config_error(lr->report, lr->pc->file, line ? json_object_get_int(line) : lr->pc->line,
                 "plugins.%s.settings.%s: %s", lr->pc->name, key, message);
}

_Static_assert(sizeof(((sb_result *)0)->where) == OPTION_PATH_MAX,
               "option_lines keeps paths as long as sb_result.where");

/*
 * check_config's refusal, at the file and line of the element it names in
 * result->where (its nearest recorded parent, else the plugin's group). The
 * plugin's strings are read no further than their arrays, and a byte that is
 * not printable ASCII in the path shows as '?'.
 */
static void report_options(struct config_report *report, const struct plugin_config *pc,
                           const sb_result *result)
{
    char where[OPTION_PATH_MAX];
    size_t n = strnlen(result->where, sizeof result->where - 1);
    for (size_t i = 0; i < n; i++)
        where[i] = result->where[i] >= 0x20 && result->where[i] < 0x7f ? result->where[i] : '?';
    where[n] = '\0';
    const char *file = pc->file;
    int line = pc->line;
    if (n)
        option_lines_find(pc->option_lines, where, &file, &line);
    const char *message = result->message;
    int message_len = (int)strnlen(message, sizeof result->message);
    if (!message_len) {
        message = "rejected by the plugin";
        message_len = (int)strlen(message);
    }
    config_error(report, file, line, "plugins.%s.options%s%s: %.*s", pc->name, n ? "." : "", where,
                 message_len, message);
}

/* dlopen and check one plugin; returns it (not yet started) or NULL after a refusal. */
static struct sb_plugin *load_one(struct server *srv, struct plugin_registry *reg,
                                  const struct plugin_config *pc, const char *dir,
                                  struct config_report *report)
{
    char *path = pc->path ? xstrdup(pc->path) : xasprintf("%s/%s.so", dir, pc->name);
    if (!strchr(path, '/')) {
        /* dlopen would search the library path for a bare name, never the current folder. */
        char *here = xasprintf("./%s", path);
        free(path);
        path = here;
    }
    struct sb_plugin *p = NULL;
    if (access(path, R_OK) != 0) {
        refuse(reg, pc->name, path, "cannot read the file: %s", strerror(errno));
        goto out;
    }
    if (plugins_find(reg, pc->name)) {
        refuse(reg, pc->name, path, "a plugin with this name is already loaded");
        goto out;
    }
    dlerror();
    /* LOCAL: a plugin's own libraries never resolve another plugin's symbols. */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *e = dlerror();
        refuse(reg, pc->name, path, "dlopen failed: %s", e ? e : "unknown error");
        goto out;
    }
    sb_entry_fn entry;
    *(void **)&entry = dlsym(handle, SB_ENTRY_SYMBOL);
    if (!entry) {
        refuse(reg, pc->name, path, "no entry point %s (build it with SB_PLUGIN_ENTRY)",
               SB_ENTRY_SYMBOL);
        goto out;
    }
    const sb_plugin_descriptor *d = entry();
    if (!d) {
        refuse(reg, pc->name, path, "the entry point returned no descriptor");
        goto out;
    }
    if (d->abi_major != SB_ABI_MAJOR) {
        refuse(reg, pc->name, path, "built for SDK ABI %u.%u; this host runs ABI %d.%d (rebuild it)",
               d->abi_major, d->abi_minor, SB_ABI_MAJOR, SB_ABI_MINOR);
        goto out;
    }
    /*
     * A newer minor of the same major loads too. (The first design refused it;
     * that made SB_HOST_HAS always true and left a plugin author no way to
     * ship one binary that uses a new service where it exists.) Its
     * descriptor and arrays may have grown: the host reads the prefix it
     * knows, and the plugin tests for anything newer itself.
     */
    char *problem = descriptor_size_problem(d);
    if (problem) {
        refuse(reg, pc->name, path, "%s", problem);
        free(problem);
        goto out;
    }
    p = xcalloc(1, sizeof *p);
    p->magic = PLUGIN_MAGIC;
    p->srv = srv;
    p->cfg = pc;
    /* Fields the plugin predates stay zero: older plugins keep loading as the struct grows. */
    memcpy(&p->desc, d, d->struct_size < sizeof p->desc ? d->struct_size : sizeof p->desc);
    problem = copy_arrays(p);
    if (!problem)
        problem = descriptor_problem(&p->desc, pc->name);
    if (problem) {
        refuse(reg, pc->name, path, "%s", problem);
        free(problem);
        free_arrays(p);
        free(p);
        p = NULL;
        goto out;
    }
    p->name = xstrdup(pc->name);
    p->path = path;
    path = NULL;
    p->routes = router_new();
    for (const sb_route *r = p->desc.routes; r && r->method; r++) {
        if (router_add(p->routes, r->method, r->pattern, (void *)r) != 0) {
            refuse(reg, pc->name, p->path, "route pattern '%s' is malformed", r->pattern);
            router_free(p->routes);
            free_arrays(p);
            free(p->name);
            free(p->path);
            free(p);
            p = NULL;
            goto out;
        }
    }
    /* The integrator's settings defaults must fit the schema: a config error, not a refusal. */
    json_object *schema_defaults = settings_schema_defaults(p->desc.settings);
    struct line_report lr = {report, pc};
    settings_validate(p->desc.settings, pc->settings, schema_defaults, &p->defaults,
                      report_setting, &lr);
    json_object_put(schema_defaults);
    if (!p->defaults)
        p->defaults = settings_schema_defaults(p->desc.settings);
    if (p->desc.check_config) {
        sb_result result = {0};
        if (p->desc.check_config(pc->options, &result) != SB_OK)
            report_options(report, pc, &result);
    }
    if (!plugin_configured(p))
        config_warning(report, pc->file, pc->line,
                       "plugin '%s' has no client_id/client_secret: it loads, but its Intercom "
                       "routes answer 503 until they are set",
                       pc->name);
out:
    free(path);
    return p;
}

static bool start_one(struct plugin_registry *reg, struct sb_plugin *p)
{
    sb_result result = {0};
    void *state = NULL;
    sb_status st = p->desc.init(p, reg->services, p->cfg->options, &state, &result);
    if (st != SB_OK) {
        refuse(reg, p->name, p->path, "init failed: %s",
               result.message[0] ? result.message : "(no message)");
        return false;
    }
    p->state = state;
    p->running = true;
    log_info("plugins", "loaded %s %s from %s%s", p->name, p->desc.version, p->path,
             plugin_configured(p) ? "" : " (not configured for Intercom)");
    return true;
}

static void plugin_free(struct sb_plugin *p)
{
    router_free(p->routes);
    free_arrays(p);
    json_object_put(p->defaults);
    free(p->name);
    free(p->path);
    free(p);
}

struct plugin_registry *plugins_load(struct server *srv, const sb_host *services,
                                     bool init_plugins, struct config_report *report)
{
    struct plugin_registry *reg = xcalloc(1, sizeof *reg);
    reg->services = services;
    char *dir = plugins_default_dir(srv->cfg);
    for (size_t i = 0; i < srv->cfg->n_plugins; i++) {
        const struct plugin_config *pc = &srv->cfg->plugins[i];
        if (!pc->enabled) {
            log_info("plugins", "plugin %s is disabled in the configuration", pc->name);
            continue;
        }
        struct sb_plugin *p = load_one(srv, reg, pc, dir, report);
        if (!p)
            continue;
        if (init_plugins && !start_one(reg, p)) {
            /* Undo what init may have started; the library itself stays mapped. */
            host_cancel_timers(p);
            if (srv->intercom)
                intercom_cancel_plugin(srv->intercom, p);
            if (srv->outbound)
                outbound_cancel_plugin(srv->outbound, p);
            plugin_free(p);
            continue;
        }
        reg->items = xrealloc(reg->items, (reg->n + 1) * sizeof *reg->items);
        reg->items[reg->n++] = p;
    }
    free(dir);
    return reg;
}

void plugins_shutdown(struct plugin_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = reg->n; i-- > 0;) {
        struct sb_plugin *p = reg->items[i];
        if (!p->running)
            continue;
        /* Nothing of the host may call into the plugin after shutdown starts. */
        host_cancel_timers(p);
        if (p->srv->intercom)
            intercom_cancel_plugin(p->srv->intercom, p);
        if (p->srv->outbound)
            outbound_cancel_plugin(p->srv->outbound, p);
        p->desc.shutdown(p->state);
        p->running = false;
        log_info("plugins", "plugin %s shut down", p->name);
    }
}

void plugins_free(struct plugin_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        plugin_free(reg->items[i]);
    free(reg->items);
    for (size_t i = 0; i < reg->n_refused; i++) {
        free(reg->refused[i].name);
        free(reg->refused[i].path);
        free(reg->refused[i].reason);
    }
    free(reg->refused);
    free(reg);
}

json_object *plugin_describe(const struct sb_plugin *p)
{
    const sb_plugin_descriptor *d = &p->desc;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "version", json_object_new_string(d->version));
    json_object_object_add(o, "description",
                           d->description ? json_object_new_string(d->description) : NULL);
    json_object_object_add(o, "path", json_object_new_string(p->path));
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
    json_object_object_add(o, "abi", json_object_new_string(abi));
    json_object_object_add(o, "state", json_object_new_string(p->running ? "running" : "stopped"));
    json_object_object_add(o, "configured", json_object_new_boolean(plugin_configured(p)));
    /* What plugin_configured lacks, by the configuration keys an integrator sets. */
    json_object *missing = json_object_new_array();
    if (!p->cfg || !p->cfg->client_id)
        json_object_array_add(missing, json_object_new_string("client_id"));
    if (!p->cfg || !p->cfg->client_secret)
        json_object_array_add(missing, json_object_new_string("client_secret"));
    json_object_object_add(o, "missing", missing);
    json_object_object_add(o, "product_api",
                           json_object_new_boolean(p->cfg && p->cfg->api_key != NULL));
    json_object *topics = json_object_new_array();
    for (const char *const *t = d->topics; t && *t; t++)
        json_object_array_add(topics, json_object_new_string(*t));
    json_object_object_add(o, "topics", topics);
    json_object *routes = json_object_new_array();
    for (const sb_route *r = d->routes; r && r->method; r++) {
        json_object *ro = json_object_new_object();
        json_object_object_add(ro, "method", json_object_new_string(r->method));
        char *full = xasprintf("/api/%s%s", p->name, r->pattern);
        json_object_object_add(ro, "path", json_object_new_string(full));
        free(full);
        json_object_object_add(ro, "public", json_object_new_boolean(r->flags & SB_ROUTE_PUBLIC));
        const char *need = route_installation_need(r->flags);
        json_object_object_add(ro, "installation", need ? json_object_new_string(need) : NULL);
        json_object_array_add(routes, ro);
    }
    json_object_object_add(o, "routes", routes);
    json_object_object_add(o, "settings", settings_schema_json(d->settings));
    json_object *schedules = json_object_new_array();
    for (const sb_schedule *s = d->schedules; s && s->name; s++) {
        json_object *so = json_object_new_object();
        json_object_object_add(so, "name", json_object_new_string(s->name));
        json_object_object_add(so, "interval_s", json_object_new_int64(s->interval_s));
        json_object_object_add(so, "interval_setting", s->interval_setting
                                                           ? json_object_new_string(s->interval_setting)
                                                           : NULL);
        json_object_array_add(schedules, so);
    }
    json_object_object_add(o, "schedules", schedules);
    json_object_object_add(o, "canvas", json_object_new_boolean(d->canvas != NULL));
    json_object_object_add(o, "callbacks", json_object_new_int64((int64_t)p->callbacks));
    return o;
}
