/* config.h - the configuration: libconfig files, validated, with file:line errors. */
#ifndef SB_CORE_CONFIG_H
#define SB_CORE_CONFIG_H

#include "log.h"
#include "option_lines.h"
#include "outbound_hosts.h"
#include "util.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

enum region { REGION_US = 0, REGION_EU = 1, REGION_AU = 2, REGION_COUNT };
const char *region_name(enum region r);
bool region_parse(const char *name, enum region *out);

/* plugins.<name>.product: where product_event() deliveries go (product_events.h). */
struct product_config {
    char *webhook_url;            /* NULL: no product webhook configured */
    unsigned char *webhook_key;   /* the decoded whsec_ secret, never logged */
    size_t webhook_key_len;
    int max_attempts;             /* per delivery: its own budget, see set_defaults */
    int timeout_s;                /* per attempt */
};

struct plugin_config {
    char *name;
    bool enabled;
    char *path;            /* explicit .so path, resolved; NULL: <plugin_dir>/<name>.so */
    char *client_id;       /* NULL: not configured for Intercom */
    char *client_secret;   /* never logged */
    char *api_key;         /* key for /api/<name>/..., never logged; NULL: product API closed */
    json_object *settings; /* defaults for installations, as written */
    json_object *settings_lines; /* setting name -> line, for errors */
    json_object *options;  /* the free-form "options" group, for the plugin's init */
    struct option_lines *option_lines; /* where each element of options was written; NULL: none */
    struct product_config product;
    /* The allow-list of outbound_request (outbound_hosts.h); none: no outbound HTTP. */
    struct outbound_host *outbound_hosts;
    size_t n_outbound_hosts;
    char *file;            /* where the plugin's group was written */
    int line;
};

struct config {
    char *path; /* the file read, or the virtual path of the embedded default */
    bool embedded;

    /* server */
    char *listen_host;
    int listen_port;
    char *public_url;
    int64_t max_body_bytes;
    int max_connections;
    int header_timeout_s;
    int body_timeout_s;
    int keepalive_timeout_s;
    int canvas_deadline_ms;
    int api_deadline_ms;

    /* log */
    enum log_level log_level;
    bool access_log;

    /* storage */
    char *storage_driver; /* "sqlite" (the default) or "postgresql" */
    char *db_path;        /* SQLite's file */
    char *storage_url;    /* PostgreSQL's connection string: a secret, shown only redacted */
    char *storage_node;   /* NULL: cluster.c names the node <hostname>-<port> */
    int storage_lease_s;  /* how long a node's claim on a job lasts (PostgreSQL) */
    int redelivery_window; /* notifications remembered to recognize redeliveries (SQLite) */
    int job_retention_days;
    int event_retention_days;

    /* security */
    char *key_file;
    char *admin_token_file;
    char *admin_token_env;
    int oauth_state_ttl_s;

    /* intercom */
    char *intercom_version;
    char *oauth_url;
    char *token_url;
    char *api_url[REGION_COUNT];
    char *appstore_redirect_url; /* NULL: plain pages after install */
    int request_timeout_s;
    int request_max_attempts;
    int request_retry_base_ms;  /* first retry after about this long, doubling up to the cap */
    int request_retry_cap_ms;
    int max_in_flight;
    int max_in_flight_per_installation;

    /* jobs */
    int job_max_attempts;
    int job_max_in_flight;
    int job_backoff_base_s;
    int job_backoff_cap_s;
    int job_pending_timeout_s;

    char *plugin_dir; /* NULL: next to the executable, then the install location */

    struct plugin_config *plugins;
    size_t n_plugins;
};

/* Errors and warnings, each "file:line: text", collected rather than stopping at the first. */
struct config_report {
    struct buf errors;
    struct buf warnings;
    int n_errors;
    int n_warnings;
};
void config_report_init(struct config_report *r);
void config_report_free(struct config_report *r);
void config_error(struct config_report *r, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void config_warning(struct config_report *r, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Log each warning as a log line of its own (the log turns newlines into spaces). */
void config_log_warnings(const struct config_report *r);

/*
 * Load from a file, or from the embedded default when path is NULL (relative
 * paths then resolve as if the file were ./etc/switchboard.conf). Returns
 * NULL when r has errors.
 */
struct config *config_load(const char *path, struct config_report *r);
void config_free(struct config *cfg);

/* "host:port" -> parts; false if malformed. */
bool config_parse_listen(const char *text, char **host, int *port);

/* The storage group as store_open_with takes it (pointing into cfg). */
struct store_options;
void config_store_options(const struct config *cfg, struct store_options *out);

const struct plugin_config *config_plugin(const struct config *cfg, const char *name);

/* The embedded copy of etc/switchboard.conf (generated at build time). */
extern const char default_config_text[];
/*
 * Where its lines came from, since its @includes are pasted in: from line
 * first_line of the text on, lines are file's (NULL: the main file) from
 * file_line on. In order; ends with first_line 0.
 */
struct embedded_source {
    unsigned first_line;
    const char *file;
    unsigned file_line;
};
extern const struct embedded_source default_config_sources[];

#endif
