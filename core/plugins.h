/*
 * plugins.h - loading plugins (dlopen, ABI and descriptor checks) and the
 * registry of running ones. Plugins are never unloaded while the process
 * runs: code of a library with live timers or requests must stay mapped.
 */
#ifndef SB_CORE_PLUGINS_H
#define SB_CORE_PLUGINS_H

#include "config.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <switchboard/switchboard.h>

struct server;
struct router;

#define PLUGIN_MAGIC 0x53425047u /* "SBPG": catches stray pointers passed as sb_plugin* */

/* The host's side of a loaded plugin; plugins see it as the opaque sb_plugin. */
struct sb_plugin {
    uint32_t magic;
    struct server *srv;
    char *name;
    char *path;
    const struct plugin_config *cfg;
    /*
     * Zero-extended copy of the plugin's descriptor. Its routes, settings and
     * schedules point at the host-layout copies below, never at the plugin's
     * own arrays, whose elements may be smaller (older minor) or larger
     * (newer minor) than the host's.
     */
    sb_plugin_descriptor desc;
    sb_route *route_table;       /* owned; NULL when the plugin declares none */
    sb_setting *setting_table;   /* owned */
    sb_schedule *schedule_table; /* owned */
    void *state;               /* what init stored */
    bool running;              /* init succeeded, shutdown not yet called */
    struct router *routes;     /* product-API routes */
    json_object *defaults;     /* effective plugin-wide settings */
    uint64_t callbacks;        /* handler invocations, for metrics */
};

/* A plugin that was configured but refused, kept for the admin API. */
struct plugin_refusal {
    char *name;
    char *path;
    char *reason;
};

struct plugin_registry {
    const sb_host *services; /* what every plugin's init receives */
    struct sb_plugin **items;
    size_t n;
    struct plugin_refusal *refused;
    size_t n_refused;
};

/*
 * Load every enabled plugin of the configuration, handing each the services
 * table (main.c passes host_services). Load failures refuse that plugin with
 * one log line and the rest go on. Errors in the integrator's own
 * configuration (settings or options the plugin's schema rejects) go to the
 * report. With init_plugins false (--check-config), plugins are checked but
 * not started.
 */
struct plugin_registry *plugins_load(struct server *srv, const sb_host *services,
                                     bool init_plugins, struct config_report *report);
/* Shut down running plugins (reverse load order); never dlclose. */
void plugins_shutdown(struct plugin_registry *reg);
void plugins_free(struct plugin_registry *reg);

struct sb_plugin *plugins_find(const struct plugin_registry *reg, const char *name);
/* True when the plugin may take Intercom traffic (client id and secret configured). */
bool plugin_configured(const struct sb_plugin *p);
bool plugin_wants_topic(const struct sb_plugin *p, const char *topic);
/* Descriptor as JSON for the admin API (topics, routes, settings schema, schedules). */
json_object *plugin_describe(const struct sb_plugin *p);

/* Directory searched for <name>.so when a plugin has no explicit path. */
char *plugins_default_dir(const struct config *cfg);

#endif
