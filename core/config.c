/*
 * config.c - reads the libconfig files into struct config.
 *
 * Every group is described by a table of the keys it accepts; anything else
 * is an error naming the file and line, so a typo never silently falls back
 * to a default. Relative paths resolve against the folder of the file that
 * names them.
 */
#include "config.h"

#include "crypto.h"
#include "standard_webhooks.h"
#include "store/storage_url.h"
#include "store/store.h"

#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const region_names[REGION_COUNT] = {"US", "EU", "AU"};

const char *region_name(enum region r)
{
    return (unsigned)r < REGION_COUNT ? region_names[r] : "US";
}

bool region_parse(const char *name, enum region *out)
{
    for (int i = 0; i < REGION_COUNT; i++) {
        if (str_eq_nocase(name, region_names[i])) {
            *out = (enum region)i;
            return true;
        }
    }
    return false;
}

/* ---- report ---- */

void config_report_init(struct config_report *r)
{
    buf_init(&r->errors);
    buf_init(&r->warnings);
    r->n_errors = r->n_warnings = 0;
}

void config_report_free(struct config_report *r)
{
    buf_free(&r->errors);
    buf_free(&r->warnings);
}

static void report_add(struct buf *b, const char *file, int line, const char *fmt, va_list ap)
{
    if (line > 0)
        buf_printf(b, "%s:%d: ", file ? file : "(config)", line);
    else
        buf_printf(b, "%s: ", file ? file : "(config)");
    char *msg = xvasprintf(fmt, ap);
    buf_puts(b, msg);
    buf_putc(b, '\n');
    free(msg);
}

void config_error(struct config_report *r, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_add(&r->errors, file, line, fmt, ap);
    va_end(ap);
    r->n_errors++;
}

void config_warning(struct config_report *r, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_add(&r->warnings, file, line, fmt, ap);
    va_end(ap);
    r->n_warnings++;
}

void config_log_warnings(const struct config_report *r)
{
    /* report_add ends every entry with a newline. */
    for (const char *w = r->warnings.len ? r->warnings.data : ""; *w;) {
        const char *end = strchr(w, '\n');
        size_t len = end ? (size_t)(end - w) : strlen(w);
        log_warn("config", "%.*s", (int)len, w);
        w += len + (end != NULL);
    }
}

/* ---- key tables ---- */

enum key_kind { KEY_STRING, KEY_PATH, KEY_INT, KEY_INT64, KEY_BOOL, KEY_GROUP_SKIP };

struct key_spec {
    const char *name;
    enum key_kind kind;
    size_t offset;     /* into struct config */
    int64_t min, max;  /* KEY_INT bounds */
};

#define STR(n, f) {n, KEY_STRING, offsetof(struct config, f), 0, 0}
#define PATH(n, f) {n, KEY_PATH, offsetof(struct config, f), 0, 0}
#define INT(n, f, lo, hi) {n, KEY_INT, offsetof(struct config, f), lo, hi}
#define BOOL(n, f) {n, KEY_BOOL, offsetof(struct config, f), 0, 0}
#define SKIP(n) {n, KEY_GROUP_SKIP, 0, 0, 0}

static const struct key_spec server_keys[] = {
    {"listen", KEY_STRING, 0, 0, 0}, /* handled below: needs host:port parsing */
    STR("public_url", public_url),
    {"max_body_bytes", KEY_INT64, offsetof(struct config, max_body_bytes), 1024, 64 << 20},
    INT("max_connections", max_connections, 1, 1000000),
    INT("header_timeout_s", header_timeout_s, 1, 3600),
    INT("body_timeout_s", body_timeout_s, 1, 3600),
    INT("keepalive_timeout_s", keepalive_timeout_s, 1, 3600),
    INT("canvas_deadline_ms", canvas_deadline_ms, 100, 60000),
    INT("api_deadline_ms", api_deadline_ms, 100, 600000),
    {NULL, 0, 0, 0, 0},
};

static const struct key_spec log_keys[] = {
    {"level", KEY_STRING, 0, 0, 0}, /* handled below */
    BOOL("access", access_log),
    {NULL, 0, 0, 0, 0},
};

static const struct key_spec storage_keys[] = {
    STR("driver", storage_driver), /* checked in parse_storage */
    PATH("path", db_path),
    SKIP("url"), SKIP("url_file"), SKIP("url_env"), /* a secret: parse_storage */
    STR("node", storage_node),
    INT("lease_s", storage_lease_s, 5, 3600),
    INT("redelivery_window", redelivery_window, 1024, 4194304), /* 48 bytes each */
    INT("job_retention_days", job_retention_days, 1, 3650),
    INT("event_retention_days", event_retention_days, 1, 3650),
    {NULL, 0, 0, 0, 0},
};

static const struct key_spec security_keys[] = {
    PATH("key_file", key_file),
    PATH("admin_token_file", admin_token_file),
    STR("admin_token_env", admin_token_env),
    INT("oauth_state_ttl_s", oauth_state_ttl_s, 1, 86400),
    {NULL, 0, 0, 0, 0},
};

static const struct key_spec intercom_keys[] = {
    STR("version", intercom_version),
    STR("oauth_url", oauth_url),
    STR("token_url", token_url),
    SKIP("api_url"),
    STR("appstore_redirect_url", appstore_redirect_url),
    INT("request_timeout_s", request_timeout_s, 1, 600),
    INT("max_attempts", request_max_attempts, 1, 20),
    INT("retry_base_ms", request_retry_base_ms, 1, 60000),
    INT("retry_cap_ms", request_retry_cap_ms, 1, 3600000),
    INT("max_in_flight", max_in_flight, 1, 10000),
    INT("max_in_flight_per_installation", max_in_flight_per_installation, 1, 1000),
    {NULL, 0, 0, 0, 0},
};

static const struct key_spec jobs_keys[] = {
    INT("max_attempts", job_max_attempts, 1, 1000),
    INT("max_in_flight", job_max_in_flight, 1, 100000),
    INT("backoff_base_s", job_backoff_base_s, 1, 86400),
    INT("backoff_cap_s", job_backoff_cap_s, 1, 7 * 86400),
    INT("pending_timeout_s", job_pending_timeout_s, 1, 7 * 86400),
    {NULL, 0, 0, 0, 0},
};

/*
 * Where settings were written. libconfig (1.5) names an @included file as
 * written in the @include line, although it opened it relative to the
 * include folder (the main file's folder); every setting is located here by
 * the name the file can be opened with from the current folder, so messages
 * point at it and relative paths in it resolve against its own folder.
 */
struct sources {
    const char *main_file;   /* cfg->path: the file read, or the embedded default's virtual path */
    char *include_dir;       /* what libconfig prefixes to @include names; NULL: none */
    char *cwd;               /* to make resolved paths absolute; NULL if unknown */
    struct source_name {
        const char *raw;     /* libconfig's name (stable while the config_t lives) */
        char *shown;
    } *names;
    size_t n_names;
};

static void sources_free(struct sources *src)
{
    free(src->include_dir);
    free(src->cwd);
    for (size_t i = 0; i < src->n_names; i++)
        free(src->names[i].shown);
    free(src->names);
}

static const char *src_file_named(struct sources *src, const char *raw);

/* The part of the embedded default that holds its line `line`. */
static const struct embedded_source *embedded_part(unsigned line)
{
    const struct embedded_source *part = &default_config_sources[0];
    for (const struct embedded_source *e = part; e->first_line; e++)
        if (e->first_line <= line)
            part = e;
    return part;
}

/* A line number of the embedded default, as a line of the file it came from. */
static int embedded_line(unsigned line)
{
    const struct embedded_source *part = embedded_part(line);
    return (int)(part->file_line + (line - part->first_line));
}

static const char *src_file(const config_setting_t *s, struct sources *src)
{
    const char *raw = config_setting_source_file(s);
    /* NULL: the embedded default, read from a string; its includes were pasted in. */
    if (!raw)
        raw = embedded_part(config_setting_source_line(s))->file;
    if (!raw || strcmp(raw, src->main_file) == 0)
        return src->main_file;
    return src_file_named(src, raw);
}

/* How a file libconfig names `raw` is shown (and opened) from the current folder. */
static const char *src_file_named(struct sources *src, const char *raw)
{
    for (size_t i = 0; i < src->n_names; i++)
        if (src->names[i].raw == raw)
            return src->names[i].shown;
    src->names = xrealloc(src->names, (src->n_names + 1) * sizeof *src->names);
    struct source_name *name = &src->names[src->n_names++];
    name->raw = raw;
    name->shown = src->include_dir ? xasprintf("%s/%s", src->include_dir, raw) : xstrdup(raw);
    return name->shown;
}

/*
 * A path-valued setting written in @p file: relative to the file's folder,
 * and absolute even when that folder is "." (a bare file name), so that
 * dlopen never searches the library path for it and a later chdir changes
 * nothing.
 */
static char *resolve_path(const struct sources *src, const char *file, const char *value)
{
    if (value[0] == '/' || file[0] == '/' || !src->cwd)
        return path_relative_to(file, value);
    char *absolute_file = xasprintf("%s/%s", src->cwd, file);
    char *path = path_relative_to(absolute_file, value);
    free(absolute_file);
    return path;
}

static int src_line(const config_setting_t *s)
{
    unsigned line = config_setting_source_line(s);
    return config_setting_source_file(s) ? (int)line : embedded_line(line);
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP: return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return "an integer";
    case CONFIG_TYPE_FLOAT: return "a number";
    case CONFIG_TYPE_STRING: return "a string";
    case CONFIG_TYPE_BOOL: return "true or false";
    case CONFIG_TYPE_ARRAY: return "an array";
    case CONFIG_TYPE_LIST: return "a list";
    default: return "nothing";
    }
}

static void replace_string(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

static const struct key_spec *find_key(const struct key_spec *specs, const char *name)
{
    for (; specs->name; specs++)
        if (strcmp(specs->name, name) == 0)
            return specs;
    return NULL;
}

/* Apply one setting by its spec. Specs with offset 0 only check the type here. */
static void apply_key(struct config *cfg, const struct key_spec *spec, const config_setting_t *s,
                      const char *group, struct config_report *r, struct sources *src)
{
    const char *file = src_file(s, src);
    int line = src_line(s);
    int type = config_setting_type(s);
    switch (spec->kind) {
    case KEY_STRING:
    case KEY_PATH:
        if (type != CONFIG_TYPE_STRING) {
            config_error(r, file, line, "%s.%s must be a string, not %s", group, spec->name,
                         type_name(type));
            return;
        }
        if (!*config_setting_get_string(s)) {
            /* An empty path would silently become the file's folder; an empty name means nothing. */
            config_error(r, file, line, "%s.%s is empty", group, spec->name);
            return;
        }
        if (spec->offset) {
            const char *v = config_setting_get_string(s);
            char *value = spec->kind == KEY_PATH ? resolve_path(src, file, v) : xstrdup(v);
            replace_string((char **)((char *)cfg + spec->offset), value);
        }
        return;
    case KEY_INT:
    case KEY_INT64: {
        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
            config_error(r, file, line, "%s.%s must be an integer, not %s", group, spec->name,
                         type_name(type));
            return;
        }
        long long v = config_setting_get_int64(s);
        if (v < spec->min || v > spec->max) {
            config_error(r, file, line, "%s.%s = %lld is out of range [%lld, %lld]", group,
                         spec->name, v, (long long)spec->min, (long long)spec->max);
            return;
        }
        if (spec->kind == KEY_INT64)
            *(int64_t *)((char *)cfg + spec->offset) = v;
        else
            *(int *)((char *)cfg + spec->offset) = (int)v;
        return;
    }
    case KEY_BOOL:
        if (type != CONFIG_TYPE_BOOL) {
            config_error(r, file, line, "%s.%s must be true or false, not %s", group, spec->name,
                         type_name(type));
            return;
        }
        *(bool *)((char *)cfg + spec->offset) = config_setting_get_bool(s) != 0;
        return;
    case KEY_GROUP_SKIP:
        return;
    }
}

/* Walk a group: unknown keys are errors; known ones are applied. */
static void parse_group(struct config *cfg, const config_setting_t *group, const char *name,
                        const struct key_spec *specs, struct config_report *r,
                        struct sources *src)
{
    if (!config_setting_is_group(group)) {
        config_error(r, src_file(group, src), src_line(group),
                     "'%s' must be a group { ... }", name);
        return;
    }
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const struct key_spec *spec = find_key(specs, config_setting_name(s));
        if (!spec) {
            config_error(r, src_file(s, src), src_line(s), "unknown key '%s' in '%s'",
                         config_setting_name(s), name);
            continue;
        }
        apply_key(cfg, spec, s, name, r, src);
    }
}

static const char *member_string(const config_setting_t *group, const char *name)
{
    const config_setting_t *s = group ? config_setting_get_member(group, name) : NULL;
    return s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
}

/* ---- libconfig -> JSON (plugin settings and options) ---- */

static json_object *setting_to_json(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return json_object_new_int64(config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return json_object_new_double(config_setting_get_float(s));
    case CONFIG_TYPE_BOOL:
        return json_object_new_boolean(config_setting_get_bool(s));
    case CONFIG_TYPE_STRING:
        return json_object_new_string(config_setting_get_string(s));
    case CONFIG_TYPE_GROUP: {
        json_object *obj = json_object_new_object();
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            json_object_object_add(obj, config_setting_name(e), setting_to_json(e));
        }
        return obj;
    }
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        json_object *arr = json_object_new_array();
        int n = config_setting_length(s);
        for (int i = 0; i < n; i++)
            json_object_array_add(arr, setting_to_json(config_setting_get_elem(s, (unsigned)i)));
        return arr;
    }
    default:
        return NULL;
    }
}

/*
 * Record where each element under @p s (the options group, then its members
 * and elements) was written, by its path below the group: "rules[1].name".
 * Elements libconfig gives no line (scalars inside an array) and paths past
 * OPTION_PATH_MAX are left out; lookups fall back to their parent.
 */
static void record_option_lines(struct option_lines *lines, const config_setting_t *s,
                                char path[OPTION_PATH_MAX], size_t len, struct sources *src)
{
    if (config_setting_source_line(s))
        option_lines_add(lines, path, src_file(s, src), src_line(s));
    if (!config_setting_is_aggregate(s))
        return;
    bool group = config_setting_is_group(s);
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        int step = group ? snprintf(path + len, OPTION_PATH_MAX - len, "%s%s", len ? "." : "",
                                    config_setting_name(e))
                         : snprintf(path + len, OPTION_PATH_MAX - len, "[%d]", i);
        if (step > 0 && (size_t)step < OPTION_PATH_MAX - len)
            record_option_lines(lines, e, path, len + (size_t)step, src);
        path[len] = '\0';
    }
}

/* ---- secrets: inline, from a file, or from the environment ---- */

/*
 * A secret `name` of the group named `group` may be given as name = "...",
 * name_file = "path" or name_env = "VARIABLE" (exactly one). With
 * owner_only, a file that group or others can read is refused. Returns true
 * if the key belongs to the secret (whatever its validity).
 */
static bool parse_secret(const config_setting_t *s, const char *group, const char *name,
                         bool owner_only, char **out, struct sources *src,
                         struct config_report *r)
{
    const char *key = config_setting_name(s);
    size_t n = strlen(name);
    if (strncmp(key, name, n) != 0)
        return false;
    const char *suffix = key + n;
    if (*suffix && strcmp(suffix, "_file") != 0 && strcmp(suffix, "_env") != 0)
        return false;
    const char *file = src_file(s, src);
    int line = src_line(s);
    if (config_setting_type(s) != CONFIG_TYPE_STRING) {
        config_error(r, file, line, "%s must be a string", key);
        return true;
    }
    if (*out) {
        config_error(r, file, line, "%s given twice (use one of %s, %s_file, %s_env)", name, name,
                     name, name);
        return true;
    }
    const char *v = config_setting_get_string(s);
    if (!*v) {
        /* Like a _file that holds nothing or an _env that is unset: no secret is not a secret. */
        config_error(r, file, line, "%s.%s is empty", group, key);
        return true;
    }
    if (!*suffix) {
        *out = xstrdup(v);
    } else if (strcmp(suffix, "_env") == 0) {
        const char *env = getenv(v);
        if (!env || !*env)
            config_error(r, file, line, "%s: environment variable %s is %s", key, v,
                         env ? "empty" : "not set");
        else
            *out = xstrdup(env);
    } else {
        char *path = resolve_path(src, file, v), *text, err[PATH_MAX + 64];
        unsigned mode;
        if (secret_file_read(path, &text, &mode, err, sizeof err) != 0) {
            config_error(r, file, line, "%s: %s", key, err);
        } else if (owner_only && (mode & 077)) {
            config_error(r, file, line,
                         "%s: %s is readable by group or others (mode %03o); use chmod 600", key,
                         path, mode);
            OPENSSL_cleanse(text, strlen(text));
            free(text);
        } else {
            *out = text;
        }
        free(path);
    }
    return true;
}

/* ---- plugins ---- */

/*
 * Product deliveries get their own attempt budget, sized so that with the
 * default job backoff (2 s doubling to 1 h, jitter halving at worst) the last
 * attempt comes 4.5 to 9 hours after the first: a receiver down for hours
 * loses nothing. An integrator who shortens jobs.backoff_cap_s shortens that.
 */
#define PRODUCT_DEFAULT_MAX_ATTEMPTS 20
#define PRODUCT_DEFAULT_TIMEOUT_S 15

/* An http(s) URL with a host, and no credentials, spaces or fragment in it. */
static const char *product_url_problem(const char *url)
{
    const char *rest = str_starts_with(url, "https://") ? url + 8
                       : str_starts_with(url, "http://") ? url + 7
                                                         : NULL;
    if (!rest)
        return "must start with https:// (or http://)";
    size_t authority = strcspn(rest, "/?#");
    if (authority == 0)
        return "has no host";
    if (memchr(rest, '@', authority))
        return "must not carry credentials (the secret signs every delivery)";
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '#')
            return "must not contain spaces, control characters or a fragment";
    return NULL;
}

static bool loopback_url(const char *url)
{
    const char *host = strstr(url, "://") + 3;
    return str_starts_with(host, "127.") || str_starts_with(host, "localhost")
           || str_starts_with(host, "[::1]");
}

static void parse_product(struct plugin_config *pc, const config_setting_t *g,
                          struct sources *src, struct config_report *r)
{
    const char *file = src_file(g, src);
    int line = src_line(g);
    if (!config_setting_is_group(g)) {
        config_error(r, file, line, "plugins.%s.product must be a group { ... }", pc->name);
        return;
    }
    struct product_config *prod = &pc->product;
    char *label = xasprintf("%s.product", pc->name), *secret = NULL;
    char *group = xasprintf("plugins.%s", label);
    const char *secret_file = file;
    int secret_line = line;
    bool url_given = false;
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(s);
        const char *sfile = src_file(s, src);
        int sline = src_line(s);
        if (parse_secret(s, group, "webhook_secret", false, &secret, src, r)) {
            secret_file = sfile;
            secret_line = sline;
            continue;
        }
        if (strcmp(key, "webhook_url") == 0) {
            url_given = true;
            const char *url = config_setting_type(s) == CONFIG_TYPE_STRING
                                  ? config_setting_get_string(s)
                                  : NULL;
            const char *problem = url ? product_url_problem(url) : "must be a string";
            if (problem) {
                config_error(r, sfile, sline, "plugins.%s.webhook_url %s", label, problem);
                continue;
            }
            replace_string(&prod->webhook_url, xstrdup(url));
            if (!str_starts_with(url, "https://") && !loopback_url(url))
                config_warning(r, sfile, sline,
                               "plugins.%s.webhook_url is not https: events travel unencrypted",
                               label);
        } else if (strcmp(key, "max_attempts") == 0 || strcmp(key, "timeout_s") == 0) {
            bool attempts = key[0] == 'm';
            int64_t hi = attempts ? 1000 : 120;
            if (config_setting_type(s) != CONFIG_TYPE_INT) {
                config_error(r, sfile, sline, "plugins.%s.%s must be an integer", label, key);
                continue;
            }
            int64_t v = config_setting_get_int64(s);
            if (v < 1 || v > hi)
                config_error(r, sfile, sline, "plugins.%s.%s must be between 1 and %lld", label,
                             key, (long long)hi);
            else if (attempts)
                prod->max_attempts = (int)v;
            else
                prod->timeout_s = (int)v;
        } else {
            config_error(r, sfile, sline, "unknown key '%s' in plugins.%s", key, label);
        }
    }
    bool has_secret = secret != NULL;
    if (secret) {
        unsigned char key[SW_SECRET_MAX_BYTES];
        long len = sw_secret_decode(secret, key);
        if (len < 0) {
            config_error(r, secret_file, secret_line,
                         "plugins.%s.webhook_secret is not a Standard Webhooks secret "
                         "(whsec_ followed by the base64 of %d to %d bytes)",
                         label, SW_SECRET_MIN_BYTES, SW_SECRET_MAX_BYTES);
        } else {
            free(prod->webhook_key);
            prod->webhook_key = xmalloc((size_t)len);
            memcpy(prod->webhook_key, key, (size_t)len);
            prod->webhook_key_len = (size_t)len;
        }
        OPENSSL_cleanse(key, sizeof key);
        OPENSSL_cleanse(secret, strlen(secret));
        free(secret);
    }
    if (url_given && !has_secret)
        config_error(r, file, line, "plugins.%s has a webhook_url but no webhook_secret "
                     "(or webhook_secret_file / webhook_secret_env)", label);
    if (!url_given && has_secret)
        config_error(r, file, line, "plugins.%s has a webhook secret but no webhook_url", label);
    free(group);
    free(label);
}

/* outbound_hosts = [ "api.vendor.com", "http://127.0.0.1:*", ... ]: each entry checked. */
static void parse_outbound_hosts(struct plugin_config *pc, const config_setting_t *s,
                                 struct sources *src, struct config_report *r)
{
    const char *file = src_file(s, src);
    int line = src_line(s);
    if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
        config_error(r, file, line, "plugins.%s.outbound_hosts must be a list of hosts [ ... ]",
                     pc->name);
        return;
    }
    int n = config_setting_length(s);
    free(pc->outbound_hosts);
    pc->outbound_hosts = xcalloc((size_t)n + 1, sizeof *pc->outbound_hosts);
    pc->n_outbound_hosts = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_type(e) == CONFIG_TYPE_STRING
                               ? config_setting_get_string(e)
                               : NULL;
        int eline = config_setting_source_line(e) ? src_line(e) : line;
        char why[160];
        if (!text)
            config_error(r, file, eline, "plugins.%s.outbound_hosts[%d] must be a string",
                         pc->name, i);
        else if (!outbound_host_parse(text, &pc->outbound_hosts[pc->n_outbound_hosts], why,
                                      sizeof why))
            config_error(r, file, eline, "plugins.%s.outbound_hosts[%d] \"%s\": %s", pc->name,
                         i, text, why);
        else
            pc->n_outbound_hosts++;
    }
}

static void parse_plugin(struct plugin_config *pc, const config_setting_t *g,
                         struct sources *src, struct config_report *r)
{
    const char *file = src_file(g, src);
    pc->name = xstrdup(config_setting_name(g));
    pc->file = xstrdup(file);
    pc->line = src_line(g);
    pc->enabled = true;
    pc->settings = json_object_new_object();
    pc->settings_lines = json_object_new_object();
    pc->options = json_object_new_object();
    pc->product.max_attempts = PRODUCT_DEFAULT_MAX_ATTEMPTS;
    pc->product.timeout_s = PRODUCT_DEFAULT_TIMEOUT_S;
    if (!str_is_token(pc->name, 32))
        config_error(r, file, pc->line, "plugin name '%s' must be [a-z0-9_-], at most 32 chars",
                     pc->name);
    if (!config_setting_is_group(g)) {
        config_error(r, file, pc->line, "plugins.%s must be a group { ... }", pc->name);
        return;
    }
    char *group = xasprintf("plugins.%s", pc->name);
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(s);
        int type = config_setting_type(s);
        const char *sfile = src_file(s, src);
        int line = src_line(s);
        if (parse_secret(s, group, "client_secret", false, &pc->client_secret, src, r)
            || parse_secret(s, group, "api_key", false, &pc->api_key, src, r))
            continue;
        if (strcmp(key, "enabled") == 0) {
            if (type != CONFIG_TYPE_BOOL)
                config_error(r, sfile, line, "plugins.%s.enabled must be true or false", pc->name);
            else
                pc->enabled = config_setting_get_bool(s) != 0;
        } else if (strcmp(key, "path") == 0 || strcmp(key, "client_id") == 0) {
            if (type != CONFIG_TYPE_STRING) {
                config_error(r, sfile, line, "plugins.%s.%s must be a string", pc->name, key);
                continue;
            }
            const char *v = config_setting_get_string(s);
            if (!*v)
                config_error(r, sfile, line, "plugins.%s.%s is empty", pc->name, key);
            else if (key[0] == 'p')
                replace_string(&pc->path, resolve_path(src, sfile, v));
            else
                replace_string(&pc->client_id, xstrdup(v));
        } else if (strcmp(key, "product") == 0) {
            parse_product(pc, s, src, r);
        } else if (strcmp(key, "outbound_hosts") == 0) {
            parse_outbound_hosts(pc, s, src, r);
        } else if (strcmp(key, "settings") == 0 || strcmp(key, "options") == 0) {
            if (type != CONFIG_TYPE_GROUP) {
                config_error(r, sfile, line, "plugins.%s.%s must be a group { ... }", pc->name,
                             key);
                continue;
            }
            json_object *obj = setting_to_json(s);
            if (key[0] == 's') {
                json_object_put(pc->settings);
                pc->settings = obj;
                int m = config_setting_length(s);
                for (int j = 0; j < m; j++) {
                    const config_setting_t *e = config_setting_get_elem(s, (unsigned)j);
                    json_object_object_add(pc->settings_lines, config_setting_name(e),
                                           json_object_new_int(src_line(e)));
                }
            } else {
                json_object_put(pc->options);
                pc->options = obj;
                option_lines_free(pc->option_lines);
                pc->option_lines = option_lines_new();
                char path[OPTION_PATH_MAX] = "";
                record_option_lines(pc->option_lines, s, path, 0, src);
            }
        } else {
            config_error(r, sfile, line, "unknown key '%s' in plugins.%s", key, pc->name);
        }
    }
    free(group);
    if (pc->client_secret && !pc->client_id)
        config_error(r, file, pc->line, "plugins.%s has a client secret but no client_id",
                     pc->name);
}

static void parse_plugins(struct config *cfg, const config_setting_t *g, struct sources *src,
                          struct config_report *r)
{
    if (!config_setting_is_group(g)) {
        config_error(r, src_file(g, src), src_line(g), "'plugins' must be a group");
        return;
    }
    int n = config_setting_length(g);
    cfg->plugins = xcalloc((size_t)n, sizeof *cfg->plugins);
    for (int i = 0; i < n; i++)
        parse_plugin(&cfg->plugins[cfg->n_plugins++], config_setting_get_elem(g, (unsigned)i),
                     src, r);
}

/* ---- storage: the engine, and PostgreSQL's connection string ---- */

/* A node is named in /admin beside what it runs: a host name's characters. */
static bool node_name_valid(const char *name)
{
    size_t len = strlen(name);
    return len <= 63
           && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
                  == len;
}

/*
 * What the key table leaves: url, url_file or url_env (one of them; the url
 * may carry the password, so it is a secret, its file must be the owner's
 * alone, and no message quotes it), and the checks across keys.
 */
static void parse_storage(struct config *cfg, const config_setting_t *g, struct sources *src,
                          struct config_report *r)
{
    if (!g || !config_setting_is_group(g))
        return; /* none: the defaults; not a group: parse_group has said so */
    const config_setting_t *url = NULL;
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        if (parse_secret(s, "storage", "url", true, &cfg->storage_url, src, r))
            url = s;
    }
    const config_setting_t *node = config_setting_get_member(g, "node");
    if (cfg->storage_node && !node_name_valid(cfg->storage_node))
        config_error(r, src_file(node, src), src_line(node),
                     "storage.node must be at most 63 letters, digits, '.', '_' or '-', "
                     "not \"%s\"", cfg->storage_node);
    const config_setting_t *driver = config_setting_get_member(g, "driver");
    const config_setting_t *window = config_setting_get_member(g, "redelivery_window");
    bool postgresql = strcmp(cfg->storage_driver, "postgresql") == 0;
    if (!postgresql && strcmp(cfg->storage_driver, "sqlite") != 0)
        config_error(r, src_file(driver, src), src_line(driver),
                     "storage.driver must be \"sqlite\" or \"postgresql\", not \"%s\"",
                     cfg->storage_driver);
    else if (url && !postgresql)
        config_error(r, src_file(url, src), src_line(url),
                     "storage.%s is for driver \"postgresql\" (storage.driver is \"sqlite\")",
                     config_setting_name(url));
    else if (postgresql && window)
        config_error(r, src_file(window, src), src_line(window),
                     "storage.redelivery_window is for driver \"sqlite\" (PostgreSQL "
                     "recognizes redeliveries by a unique index)");
    else if (postgresql && !url)
        config_error(r, src_file(driver, src), src_line(driver),
                     "storage.driver \"postgresql\" needs storage.url (or url_file / url_env)");
    else if (cfg->storage_url && !storage_url_valid(cfg->storage_url))
        config_error(r, src_file(url, src), src_line(url),
                     "storage.%s: not a PostgreSQL connection string (a postgresql:// or "
                     "postgres:// URI, or key=value pairs, as libpq reads them)",
                     config_setting_name(url));
}

/* ---- top level ---- */

static void set_defaults(struct config *cfg, const struct sources *src)
{
    cfg->listen_host = xstrdup("127.0.0.1");
    cfg->listen_port = 8080;
    cfg->public_url = xstrdup("http://127.0.0.1:8080");
    cfg->max_body_bytes = 1048576;
    cfg->max_connections = 1024;
    cfg->header_timeout_s = 10;
    cfg->body_timeout_s = 30;
    cfg->keepalive_timeout_s = 60;
    cfg->canvas_deadline_ms = 3000;
    cfg->api_deadline_ms = 30000;
    cfg->log_level = LOG_INFO;
    cfg->access_log = true;
    cfg->storage_driver = xstrdup("sqlite");
    cfg->db_path = resolve_path(src, src->main_file, "../var/switchboard.db");
    cfg->storage_lease_s = 30;
    cfg->redelivery_window = STORE_REDELIVERY_WINDOW;
    cfg->job_retention_days = 7;
    cfg->event_retention_days = 30;
    cfg->key_file = resolve_path(src, src->main_file, "../var/secret.key");
    cfg->admin_token_file = resolve_path(src, src->main_file, "../var/admin.token");
    cfg->oauth_state_ttl_s = 600;
    cfg->intercom_version = xstrdup("2.14");
    cfg->oauth_url = xstrdup("https://app.intercom.com/oauth");
    cfg->token_url = xstrdup("https://api.intercom.io/auth/eagle/token");
    cfg->api_url[REGION_US] = xstrdup("https://api.intercom.io");
    cfg->api_url[REGION_EU] = xstrdup("https://api.eu.intercom.io");
    cfg->api_url[REGION_AU] = xstrdup("https://api.au.intercom.io");
    cfg->request_timeout_s = 30;
    cfg->request_max_attempts = 5;
    cfg->request_retry_base_ms = 500;
    cfg->request_retry_cap_ms = 30000;
    cfg->max_in_flight = 64;
    cfg->max_in_flight_per_installation = 8;
    cfg->job_max_attempts = 8;
    cfg->job_max_in_flight = 64;
    cfg->job_backoff_base_s = 2;
    cfg->job_backoff_cap_s = 3600;
    cfg->job_pending_timeout_s = 900;
}

static void strip_trailing_slash(char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
}

bool config_parse_listen(const char *text, char **host, int *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return false;
    int64_t p;
    if (!str_to_i64(colon + 1, &p) || p < 0 || p > 65535)
        return false;
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') { /* [::1]:8080 */
        h++;
        hlen -= 2;
    }
    *host = xstrndup(h, hlen);
    *port = (int)p;
    return true;
}

static void parse_root(struct config *cfg, config_t *lc, struct sources *src,
                       struct config_report *r)
{
    static const struct {
        const char *name;
        const struct key_spec *keys;
    } groups[] = {
        {"server", server_keys},     {"log", log_keys},           {"storage", storage_keys},
        {"security", security_keys}, {"intercom", intercom_keys}, {"jobs", jobs_keys},
    };
    const config_setting_t *root = config_root_setting(lc);
    int n = config_setting_length(root);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        bool known = false;
        for (size_t g = 0; g < ARRAY_LEN(groups); g++) {
            if (strcmp(name, groups[g].name) == 0) {
                parse_group(cfg, s, name, groups[g].keys, r, src);
                known = true;
            }
        }
        if (known)
            continue;
        if (strcmp(name, "plugins") == 0) {
            parse_plugins(cfg, s, src, r);
        } else if (strcmp(name, "plugin_dir") == 0) {
            if (config_setting_type(s) != CONFIG_TYPE_STRING)
                config_error(r, src_file(s, src), src_line(s), "plugin_dir must be a string");
            else if (!*config_setting_get_string(s))
                config_error(r, src_file(s, src), src_line(s), "plugin_dir is empty");
            else
                replace_string(&cfg->plugin_dir, resolve_path(src, src_file(s, src),
                                                              config_setting_get_string(s)));
        } else {
            config_error(r, src_file(s, src), src_line(s), "unknown key '%s'", name);
        }
    }

    /* Values that need more than a type check. */
    const config_setting_t *server = config_lookup(lc, "server");
    const char *listen = member_string(server, "listen");
    if (listen) {
        char *host;
        int port;
        const config_setting_t *s = config_setting_get_member(server, "listen");
        if (!config_parse_listen(listen, &host, &port)) {
            config_error(r, src_file(s, src), src_line(s),
                         "server.listen must be \"host:port\", not \"%s\"", listen);
        } else {
            replace_string(&cfg->listen_host, host);
            cfg->listen_port = port;
        }
    }
    const config_setting_t *log = config_lookup(lc, "log");
    const char *level = member_string(log, "level");
    if (level && !log_level_parse(level, &cfg->log_level)) {
        const config_setting_t *s = config_setting_get_member(log, "level");
        config_error(r, src_file(s, src), src_line(s),
                     "log.level must be debug, info, warn or error, not \"%s\"", level);
    }
    const config_setting_t *api_url = config_lookup(lc, "intercom.api_url");
    if (api_url) {
        if (!config_setting_is_group(api_url)) {
            config_error(r, src_file(api_url, src), src_line(api_url),
                         "intercom.api_url must be a group { US = \"...\"; EU = ...; AU = ...; }");
        } else {
            int m = config_setting_length(api_url);
            for (int i = 0; i < m; i++) {
                const config_setting_t *s = config_setting_get_elem(api_url, (unsigned)i);
                enum region reg;
                if (!region_parse(config_setting_name(s), &reg)
                    || config_setting_type(s) != CONFIG_TYPE_STRING) {
                    config_error(r, src_file(s, src), src_line(s),
                                 "intercom.api_url.%s: expected US, EU or AU = \"https://...\"",
                                 config_setting_name(s));
                    continue;
                }
                replace_string(&cfg->api_url[reg], xstrdup(config_setting_get_string(s)));
            }
        }
    }
    strip_trailing_slash(cfg->public_url);
    for (int i = 0; i < REGION_COUNT; i++)
        strip_trailing_slash(cfg->api_url[i]);
    parse_storage(cfg, config_lookup(lc, "storage"), src, r);
    if (cfg->job_backoff_base_s > cfg->job_backoff_cap_s)
        config_error(r, src->main_file, 0, "jobs.backoff_base_s must not exceed jobs.backoff_cap_s");
    for (size_t i = 0; i < cfg->n_plugins; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->plugins[i].name, cfg->plugins[j].name) == 0)
                config_error(r, cfg->plugins[i].file, cfg->plugins[i].line,
                             "plugin '%s' is configured twice", cfg->plugins[i].name);
}

static char *embedded_virtual_path(void)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return xstrdup("etc/switchboard.conf");
    return xasprintf("%s/etc/switchboard.conf", cwd);
}

struct config *config_load(const char *path, struct config_report *r)
{
    struct config *cfg = xcalloc(1, sizeof *cfg);
    cfg->embedded = path == NULL;
    cfg->path = path ? xstrdup(path) : embedded_virtual_path();
    struct sources src = {.main_file = cfg->path};
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd))
        src.cwd = xstrdup(cwd);
    set_defaults(cfg, &src);

    config_t lc;
    config_init(&lc);
    /*
     * @include resolves against the main file's folder, like every other
     * relative path (without a folder in the name, that is the current one).
     */
    const char *slash = strrchr(cfg->path, '/');
    if (slash) {
        src.include_dir = xstrndup(cfg->path, (size_t)(slash - cfg->path));
        config_set_include_dir(&lc, src.include_dir);
    }
    int ok = path ? config_read_file(&lc, path) : config_read_string(&lc, default_config_text);
    if (!ok) {
        const char *efile = config_error_file(&lc);
        int eline = config_error_line(&lc);
        if (!path) { /* the embedded default: name the file the line came from */
            const struct embedded_source *part = embedded_part((unsigned)eline);
            eline = embedded_line((unsigned)eline);
            efile = part->file ? src_file_named(&src, part->file) : NULL;
        }
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
            config_error(r, efile ? efile : cfg->path, 0, "cannot read: %s", strerror(errno));
        else
            config_error(r, efile ? efile : cfg->path, eline, "%s", config_error_text(&lc));
    } else {
        parse_root(cfg, &lc, &src, r);
    }
    config_destroy(&lc);
    sources_free(&src);
    if (r->n_errors) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void plugin_config_free(struct plugin_config *pc)
{
    free(pc->name);
    free(pc->path);
    free(pc->client_id);
    free(pc->client_secret);
    free(pc->api_key);
    json_object_put(pc->settings);
    json_object_put(pc->settings_lines);
    json_object_put(pc->options);
    option_lines_free(pc->option_lines);
    free(pc->product.webhook_url);
    if (pc->product.webhook_key)
        OPENSSL_cleanse(pc->product.webhook_key, pc->product.webhook_key_len);
    free(pc->product.webhook_key);
    free(pc->outbound_hosts);
    free(pc->file);
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->listen_host);
    free(cfg->public_url);
    free(cfg->storage_driver);
    free(cfg->db_path);
    if (cfg->storage_url)
        OPENSSL_cleanse(cfg->storage_url, strlen(cfg->storage_url));
    free(cfg->storage_url);
    free(cfg->storage_node);
    free(cfg->key_file);
    free(cfg->admin_token_file);
    free(cfg->admin_token_env);
    free(cfg->intercom_version);
    free(cfg->oauth_url);
    free(cfg->token_url);
    for (int i = 0; i < REGION_COUNT; i++)
        free(cfg->api_url[i]);
    free(cfg->appstore_redirect_url);
    free(cfg->plugin_dir);
    for (size_t i = 0; i < cfg->n_plugins; i++)
        plugin_config_free(&cfg->plugins[i]);
    free(cfg->plugins);
    free(cfg);
}

void config_store_options(const struct config *cfg, struct store_options *out)
{
    *out = (struct store_options){
        .driver = cfg->storage_driver,
        .path = cfg->db_path,
        .url = cfg->storage_url,
        .redelivery_window = (size_t)cfg->redelivery_window};
}

const struct plugin_config *config_plugin(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_plugins; i++)
        if (strcmp(cfg->plugins[i].name, name) == 0)
            return &cfg->plugins[i];
    return NULL;
}
