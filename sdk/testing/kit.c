/* kit.c - a kit's life: the descriptor checked like the host loads it, start, free. */
#include "kit.h"

#include "abi.h"
#include "route_flags.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The descriptor fields every ABI-1 plugin has, up to and including shutdown. */
#define DESCRIPTOR_MIN_SIZE (offsetof(sb_plugin_descriptor, shutdown) + sizeof(void (*)(void *)))
#define MAX_ARRAY_ELEMENTS 1024
#define DEFAULT_NOW_MS 1800000000000 /* 2027-01-15T08:00:00Z */

struct sbt_kit *kit_of(sb_plugin *self, const char *call)
{
    if (!self || self->magic != KIT_MAGIC) {
        fprintf(stderr, "sbt: %s called with an invalid plugin handle\n", call);
        return NULL;
    }
    return self->kit;
}

sb_result *kit_fresh_result(struct sbt_kit *kit)
{
    memset(&kit->result, 0, sizeof kit->result);
    return &kit->result;
}

json_object *kit_parse(const char *json_text, const char *what)
{
    if (!json_text)
        return NULL;
    enum json_tokener_error jerr;
    json_object *value = json_tokener_parse_verbose(json_text, &jerr);
    if (!value && jerr != json_tokener_success) {
        fprintf(stderr, "sbt: %s is not JSON (%s): %s\n", what, json_tokener_error_desc(jerr),
                json_text);
        abort();
    }
    return value;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool known_method(const char *m)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        if (strcmp(m, methods[i]) == 0)
            return true;
    return false;
}

/* One of the plugin's arrays into a host-layout copy, walked with the plugin's element size. */
static int copy_array(const sb_plugin_descriptor *d, const void *array, enum abi_struct kind,
                      void **out, char *err, size_t errlen)
{
    if (!array)
        return 0;
    char why[200];
    size_t stride = abi_element_size(d, kind, why, sizeof why);
    if (!stride || !(*out = abi_copy_array(array, stride, kind, MAX_ARRAY_ELEMENTS, why, sizeof why)))
        return fail(err, errlen, "%s", why);
    return 0;
}

/* What the host checks before it runs any plugin code but the entry point. */
static int check_descriptor(struct sbt_kit *kit, const sb_plugin_descriptor *d, char *err,
                            size_t errlen)
{
    if (d->abi_major != SB_ABI_MAJOR)
        return fail(err, errlen, "built for SDK ABI %u.%u; the kit runs ABI %d.%d", d->abi_major,
                    d->abi_minor, SB_ABI_MAJOR, SB_ABI_MINOR);
    size_t known = abi_struct_size(ABI_DESCRIPTOR, d->abi_minor);
    if (d->struct_size < DESCRIPTOR_MIN_SIZE
        || (d->abi_minor <= SB_ABI_MINOR && d->struct_size > known)
        || d->struct_size > ABI_MAX_DESCRIPTOR_SIZE)
        return fail(err, errlen, "descriptor is %u bytes, which ABI %u.%u does not allow",
                    d->struct_size, d->abi_major, d->abi_minor);
    memcpy(&kit->desc, d, d->struct_size < sizeof kit->desc ? d->struct_size : sizeof kit->desc);
    d = &kit->desc;
    if (copy_array(d, d->routes, ABI_ROUTE, (void **)&kit->routes, err, errlen)
        || copy_array(d, d->settings, ABI_SETTING, (void **)&kit->settings, err, errlen)
        || copy_array(d, d->schedules, ABI_SCHEDULE, (void **)&kit->schedules, err, errlen))
        return -1;
    if (!d->name || !str_is_token(d->name, 32))
        return fail(err, errlen, "descriptor name is missing or not [a-z0-9_-]{1,32}");
    if (!d->version)
        return fail(err, errlen, "descriptor has no version");
    if (!d->init || !d->shutdown)
        return fail(err, errlen, "required callback %s is NULL", d->init ? "shutdown" : "init");
    if (d->topics && d->topics[0] && !d->on_event)
        return fail(err, errlen, "declares webhook topics but on_event is NULL");
    if (kit->schedules && kit->schedules[0].name && !d->on_job)
        return fail(err, errlen, "declares schedules but on_job is NULL");
    kit->router = router_new();
    for (const sb_route *r = kit->routes; r && r->method; r++) {
        if (!r->pattern || !r->handler)
            return fail(err, errlen, "route %s has no pattern or handler", r->method);
        if (!known_method(r->method))
            return fail(err, errlen, "route %s %s has an unsupported method", r->method, r->pattern);
        if (r->flags & ~ROUTE_KNOWN_FLAGS)
            return fail(err, errlen, "route %s %s has unknown flags 0x%x", r->method, r->pattern,
                        r->flags & ~ROUTE_KNOWN_FLAGS);
        if (route_flags_conflict(r->flags))
            return fail(err, errlen, "route %s %s: %s", r->method, r->pattern,
                        route_flags_conflict(r->flags));
        if (router_add(kit->router, r->method, r->pattern, (void *)r) != 0)
            return fail(err, errlen, "route pattern '%s' is malformed", r->pattern);
    }
    for (const sb_schedule *s = kit->schedules; s && s->name; s++)
        if (!str_is_token(s->name, 64) || s->interval_s == 0)
            return fail(err, errlen, "schedule '%s' has a bad name or interval 0", s->name);
    if (kit_settings_init(kit) != 0)
        return fail(err, errlen, "%s", kit->result.message);
    return 0;
}

static const char *h_public_url(sb_plugin *self)
{
    (void)self;
    return "https://switchboard.test";
}

sbt_kit *sbt_new(const sb_plugin_descriptor *descriptor, char *err, size_t errlen)
{
    if (!descriptor) {
        fail(err, errlen, "no descriptor");
        return NULL;
    }
    struct sbt_kit *kit = xcalloc(1, sizeof *kit);
    kit->handle = (struct sb_plugin){KIT_MAGIC, kit};
    kit->now_ms = DEFAULT_NOW_MS;
    kit->max_attempts = 8;
    kit->product_webhook = true;
    pthread_mutex_init(&kit->post_lock, NULL);
    kit->host = (sb_host){.struct_size = sizeof(sb_host), .abi_major = SB_ABI_MAJOR,
                          .abi_minor = SB_ABI_MINOR};
    kit->host.public_url = h_public_url;
    kit_install_log(&kit->host);
    kit_install_clock(&kit->host);
    kit_install_installations(&kit->host);
    kit_install_store(&kit->host);
    kit_install_jobs(&kit->host);
    kit_install_calls(&kit->host);
    kit_install_http(&kit->host);
    if (check_descriptor(kit, descriptor, err, errlen) != 0) {
        sbt_free(kit);
        return NULL;
    }
    return kit;
}

sbt_kit *sbt_open(const char *so_path, char *err, size_t errlen)
{
    /* As the host loads plugins: every symbol now, none shared with other plugins. */
    void *handle = so_path ? dlopen(so_path, RTLD_NOW | RTLD_LOCAL) : NULL;
    if (!handle) {
        fail(err, errlen, "dlopen failed: %s", so_path ? dlerror() : "no path");
        return NULL;
    }
    sb_entry_fn entry;
    *(void **)&entry = dlsym(handle, SB_ENTRY_SYMBOL);
    const sb_plugin_descriptor *d = entry ? entry() : NULL;
    if (!d) {
        fail(err, errlen, "no entry point %s, or it returned no descriptor", SB_ENTRY_SYMBOL);
        dlclose(handle);
        return NULL;
    }
    struct sbt_kit *kit = sbt_new(d, err, errlen);
    if (!kit) {
        dlclose(handle);
        return NULL;
    }
    kit->dl_handle = handle;
    return kit;
}

static sb_status check_config(sbt_kit *kit, json_object *options)
{
    sb_result *result = kit_fresh_result(kit);
    return kit->desc.check_config ? kit->desc.check_config(options, result) : SB_OK;
}

sb_status sbt_check_config(sbt_kit *kit, const char *options_json)
{
    json_object *options = options_json ? kit_parse(options_json, "options") : json_object_new_object();
    sb_status st = check_config(kit, options);
    json_object_put(options);
    return st;
}

sb_status sbt_start(sbt_kit *kit, const char *options_json)
{
    json_object *options = options_json ? kit_parse(options_json, "options") : json_object_new_object();
    sb_status st = check_config(kit, options);
    if (st == SB_OK)
        st = kit->desc.init(&kit->handle, &kit->host, options, &kit->state, kit_fresh_result(kit));
    json_object_put(options);
    kit->started = st == SB_OK;
    if (!kit->started)
        kit_log(kit, SB_LOG_ERROR, "plugin %s did not start: %s", kit->desc.name,
                kit->result.message);
    return st;
}

void sbt_free(sbt_kit *kit)
{
    if (!kit)
        return;
    /* Like the host: the plugin's calls complete as cancelled and its timers go before its
       shutdown; the clock is cleared again after it, for timers set on the way. */
    kit_calls_cancel(kit);
    kit_clock_free(kit);
    if (kit->started)
        kit->desc.shutdown(kit->state);
    kit_calls_free(kit);
    kit_clock_free(kit);
    kit_jobs_free(kit);
    kit_http_free(kit);
    kit_store_free(kit);
    kit_installations_free(kit);
    router_free(kit->router);
    free(kit->routes);
    free(kit->settings);
    free(kit->schedules);
    kit_log_free(kit);
    pthread_mutex_destroy(&kit->post_lock);
    if (kit->dl_handle)
        dlclose(kit->dl_handle);
    free(kit);
}

sb_plugin *sbt_plugin(sbt_kit *kit)
{
    return &kit->handle;
}

const sb_host *sbt_host(sbt_kit *kit)
{
    return &kit->host;
}

void *sbt_state(sbt_kit *kit)
{
    return kit->state;
}

const sb_result *sbt_result(const sbt_kit *kit)
{
    return &kit->result;
}
