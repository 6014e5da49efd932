/*
 * oauth.c - the Intercom install flow and uninstall notifications.
 *
 * install:  redirect to the authorize URL with a state that is signed (HMAC
 *           under a key derived from the sealing key), single-use (a row in
 *           oauth_states) and expiring (security.oauth_state_ttl_s, 10 min).
 * callback: check the state, exchange the code (form-encoded, byte-exact),
 *           GET /me for the workspace, store the installation, run the
 *           plugin's hook, show a page (or Intercom's app-store redirect).
 *           When Intercom refuses the person (an error instead of a code, or
 *           401/403 from the token exchange or GET /me) nothing is stored, the
 *           token included, and the page says to sign in as a workspace admin.
 * uninstalled: Intercom's notice. A valid X-Body-Signature is trusted; an
 *           unsigned notice is confirmed by checking that the token really
 *           stopped working, so nobody can uninstall a workspace by guessing
 *           its id.
 */
#include "oauth.h"

#include "audit.h"
#include "crypto.h"
#include "http.h"
#include "installations.h"
#include "intercom.h"
#include "json_input.h"
#include "lifecycle.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "store/store_oauth.h"
#include "util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_BYTES 16
#define STATE_MAC_BYTES 16
/* How much of one thing Intercom said (an error, a description, a message) is shown. */
#define INTERCOM_WORDS_MAX 200

static const char NEEDS_ADMIN[] = "Authorization failed: sign in as an Intercom workspace admin "
                                  "and start the installation again.";

/* ---- pages ---- */

/* Every page of the install flow: a title, what happened, and optionally what Intercom said. */
static void page(struct http_request *req, int status, const char *title, const char *message,
                 const char *detail)
{
    struct buf b;
    buf_init(&b);
    buf_puts(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    buf_html_escape(&b, title);
    buf_puts(&b, "</title><style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em "
                 "auto;padding:0 1em;color:#222}</style></head><body><h1>");
    buf_html_escape(&b, title);
    buf_puts(&b, "</h1><p>");
    buf_html_escape(&b, message);
    if (detail) {
        buf_puts(&b, "</p><p>");
        buf_html_escape(&b, detail);
    }
    buf_puts(&b, "</p></body></html>\n");
    http_add_header(req, "Cache-Control", "no-store");
    http_reply(req, status, "text/html; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

/* The end of an install (status 200: installed): a page, or Intercom's app-store redirect. */
static void finish_install(struct server *srv, struct http_request *req, int status,
                           const char *message, const char *detail)
{
    bool ok = status == 200;
    const char *base = srv->cfg->appstore_redirect_url;
    if (base) {
        struct buf url;
        buf_init(&url);
        buf_printf(&url, "%s%cinstall_success=%s", base, strchr(base, '?') ? '&' : '?',
                   ok ? "true" : "false");
        if (!ok) {
            char *text = detail ? xasprintf("%s %s", message, detail) : xstrdup(message);
            buf_puts(&url, "&error_message=");
            buf_url_encode(&url, text);
            free(text);
        }
        http_redirect(req, url.data);
        buf_free(&url);
        return;
    }
    page(req, status, ok ? "Installed" : "Installation failed", message, detail);
}

/*
 * Intercom's words as a page, a log line or the audit timeline may show them:
 * ill-formed UTF-8 and control characters become '?', and at most
 * INTERCOM_WORDS_MAX bytes are kept ("..." marks the cut).
 */
static void buf_intercom_words(struct buf *b, const char *words)
{
    const unsigned char *s = (const unsigned char *)words;
    size_t len = strlen(words), kept = 0;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_char_length(s + i, len - i);
        if (kept + (n ? n : 1) > INTERCOM_WORDS_MAX) {
            buf_puts(b, "...");
            return;
        }
        if (n == 0 || (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            buf_putc(b, '?');
            n = 1;
        } else {
            buf_append(b, s + i, n);
        }
        i += n;
        kept += n;
    }
}

/*
 * An install that ended without an installation (after a valid state): the
 * log and the plugin's audit timeline (installation 0) record why, and the
 * person sees the page.
 */
static void install_failed(struct server *srv, struct http_request *req, const char *plugin,
                           int status, const char *message, const char *detail)
{
    char *why = detail ? xasprintf("%s %s", message, detail) : xstrdup(message);
    log_warn("oauth", "install of %s failed (request %s): %s", plugin, http_request_id(req), why);
    if (audit_append(srv->store, plugin, 0, "installation", "install_failed", why) != 0)
        log_warn("oauth", "install of %s: the failure could not be added to the audit timeline",
                 plugin);
    free(why);
    finish_install(srv, req, status, message, detail);
}

/* ---- state ---- */

static void state_mac(struct server *srv, const char *plugin, const unsigned char *nonce,
                      int64_t expires, unsigned char out[32])
{
    /* A key of its own, derived from the sealing key, so a state MAC never doubles as anything else. */
    unsigned char key[32];
    hmac_sha256(srv->seal_key, sizeof srv->seal_key, "switchboard oauth state", 23, key);
    struct buf msg;
    buf_init(&msg);
    buf_printf(&msg, "%s|%lld|", plugin, (long long)expires);
    buf_append(&msg, nonce, NONCE_BYTES);
    hmac_sha256(key, sizeof key, msg.data, msg.len, out);
    buf_free(&msg);
    OPENSSL_cleanse(key, sizeof key);
}

static char *state_create(struct server *srv, const char *plugin)
{
    unsigned char raw[NONCE_BYTES + 8 + STATE_MAC_BYTES];
    if (crypto_random(raw, NONCE_BYTES) != 0)
        return NULL;
    int64_t now = time_now_ms() / 1000, expires = now + srv->cfg->oauth_state_ttl_s;
    for (int i = 0; i < 8; i++)
        raw[NONCE_BYTES + i] = (unsigned char)((uint64_t)expires >> (56 - 8 * i));
    unsigned char mac[32];
    state_mac(srv, plugin, raw, expires, mac);
    memcpy(raw + NONCE_BYTES + 8, mac, STATE_MAC_BYTES);
    char nonce_hex[2 * NONCE_BYTES + 1];
    hex_encode(raw, NONCE_BYTES, nonce_hex);
    if (store_oauth_state_insert(srv->store, nonce_hex, plugin, now, expires) != 0)
        return NULL;
    return base64url_encode(raw, sizeof raw);
}

/* Verify and consume a state; NULL if good, else why not. */
static const char *state_consume(struct server *srv, const char *plugin, const char *state)
{
    unsigned char raw[NONCE_BYTES + 8 + STATE_MAC_BYTES + 4];
    if (!state || base64url_decode(state, raw, sizeof raw) != NONCE_BYTES + 8 + STATE_MAC_BYTES)
        return "the state parameter is missing or malformed";
    int64_t expires = 0;
    for (int i = 0; i < 8; i++)
        expires = (int64_t)((uint64_t)expires << 8 | raw[NONCE_BYTES + i]);
    unsigned char mac[32];
    state_mac(srv, plugin, raw, expires, mac);
    if (!ct_equal(mac, STATE_MAC_BYTES, raw + NONCE_BYTES + 8, STATE_MAC_BYTES))
        return "the state parameter is forged or belongs to another plugin";
    if (expires < time_now_ms() / 1000)
        return "the install link expired; start the installation again";
    char nonce_hex[2 * NONCE_BYTES + 1];
    hex_encode(raw, NONCE_BYTES, nonce_hex);
    int consumed = store_oauth_state_consume(srv->store, nonce_hex, plugin, time_now_ms() / 1000);
    if (consumed < 0)
        return "internal error";
    if (!consumed)
        return "the install link was already used or is unknown; start the installation again";
    return NULL;
}

/* ---- install ---- */

static struct sb_plugin *oauth_plugin(struct server *srv, struct http_request *req,
                                      const char *name)
{
    struct sb_plugin *p = plugins_find(srv->plugins, name);
    if (!p || !p->running) {
        page(req, 404, "Unknown app", "There is no such app on this server.", NULL);
        return NULL;
    }
    if (!plugin_configured(p)) {
        page(req, 503, "Not configured",
             "This app has no Intercom client_id/client_secret in the server's configuration "
             "yet. Add them to the plugin's section and restart.",
             NULL);
        return NULL;
    }
    return p;
}

static void handle_install(struct server *srv, struct http_request *req, const char *name)
{
    struct sb_plugin *p = oauth_plugin(srv, req, name);
    if (!p)
        return;
    char *state = state_create(srv, p->name);
    if (!state) {
        page(req, 500, "Installation failed", "Could not start the installation; see the log.",
             NULL);
        return;
    }
    struct buf url;
    buf_init(&url);
    buf_printf(&url, "%s%cclient_id=", srv->cfg->oauth_url, strchr(srv->cfg->oauth_url, '?') ? '&' : '?');
    buf_url_encode(&url, p->cfg->client_id);
    buf_puts(&url, "&state=");
    buf_url_encode(&url, state);
    buf_puts(&url, "&redirect_uri=");
    char *callback = xasprintf("%s/oauth/%s/callback", srv->cfg->public_url, p->name);
    buf_url_encode(&url, callback);
    free(callback);
    http_redirect(req, url.data);
    buf_free(&url);
    free(state);
}

/* ---- callback: exchange the code, identify the workspace ---- */

struct install_flow {
    struct server *srv;
    struct http_request *req;
    char *plugin;
    char *token;
};

static void flow_free(struct install_flow *f)
{
    free(f->plugin);
    installation_token_free(f->token);
    free(f);
}

static void flow_fail(struct install_flow *f, int status, const char *message, const char *detail)
{
    install_failed(f->srv, f->req, f->plugin, status, message, detail);
    flow_free(f);
}

/* Intercom's error text: errors[0].message (capped), else a generic one with the status. */
static char *error_text(int status, const char *body, const char *transport_error)
{
    if (status == 0)
        return xasprintf("Intercom could not be reached (%s)",
                         transport_error ? transport_error : "no response");
    json_object *root = json_tokener_parse(body), *errors, *msg;
    struct buf text;
    buf_init(&text);
    if (root && json_object_object_get_ex(root, "errors", &errors)
        && json_object_is_type(errors, json_type_array) && json_object_array_length(errors) > 0
        && json_object_object_get_ex(json_object_array_get_idx(errors, 0), "message", &msg)) {
        buf_printf(&text, "Intercom answered %d: ", status);
        buf_intercom_words(&text, json_object_get_string(msg));
    } else {
        buf_printf(&text, "Intercom answered HTTP %d", status);
    }
    json_object_put(root);
    return buf_steal(&text);
}

/*
 * Intercom refused a step of the flow. 401 and 403 mean the person who
 * approved the app lacks the rights to install it: 403 with what Intercom said
 * (never a credential, even one it echoed). Other answers keep their 400.
 */
static void flow_refused(struct install_flow *f, int status, const char *body, const char *error)
{
    char *said = error_text(status, body, error);
    if (status != 401 && status != 403) {
        flow_fail(f, 400, said, NULL);
    } else {
        const struct sb_plugin *p = plugins_find(f->srv->plugins, f->plugin);
        const char *secret = p ? p->cfg->client_secret : NULL;
        bool echoes_credential = (f->token && strstr(said, f->token))
                                 || (secret && *secret && strstr(said, secret));
        flow_fail(f, 403, NEEDS_ADMIN,
                  echoes_credential ? "(Intercom's answer is not shown: it repeated a credential)"
                                    : said);
    }
    free(said);
}

static const char *dig_string(json_object *o, const char *a, const char *b)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)
               ? json_object_get_string(v)
               : NULL;
}

/*
 * Intercom's answer to a step of the flow: true with the body parsed into
 * *root (NULL if it is not JSON) when it is a 200; else the flow fails.
 */
static bool flow_answer(struct install_flow *f, int status, const char *body, const char *error,
                        json_object **root)
{
    if (status != 200) {
        flow_refused(f, status, body, error);
        return false;
    }
    *root = json_tokener_parse(body);
    return true;
}

/* A 200 answer without what the flow needs from it: the flow fails with why. */
static void flow_incomplete(struct install_flow *f, json_object *root, const char *why)
{
    json_object_put(root);
    flow_fail(f, 400, why, NULL);
}

static void me_done(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct install_flow *f = arg;
    json_object *me;
    (void)len;
    if (!flow_answer(f, status, body, error, &me))
        return;
    const char *workspace = dig_string(me, "app", "id_code");
    if (!workspace || !*workspace) {
        flow_incomplete(f, me, "Intercom's /me answer has no app.id_code");
        return;
    }
    struct installation_identity who = {
        .workspace_id = workspace,
        .workspace_name = dig_string(me, "app", "name"),
        .admin_id = dig_string(me, "id", NULL),
        .admin_email = dig_string(me, "email", NULL),
        .region = REGION_US,
    };
    const char *region = dig_string(me, "app", "region");
    if (region && !region_parse(region, &who.region))
        log_warn("oauth", "workspace %s reports unknown region '%s'; using US", workspace, region);
    bool created = false;
    struct installation *inst = installations_save(f->srv, f->plugin, &who, f->token, &created);
    json_object_put(me);
    if (!inst) {
        flow_fail(f, 400, "The installation could not be saved; see the server log.", NULL);
        return;
    }
    sb_result result = {0};
    sb_status st = lifecycle_installed(f->srv, inst, created, &result);
    if (st == SB_FAIL || st == SB_RETRY) {
        char *msg = xasprintf("Connected to %s, but the app could not finish setting up: %s",
                              inst->workspace_name ? inst->workspace_name : inst->workspace_id,
                              result.message[0] ? result.message : "unknown error");
        flow_fail(f, 400, msg, NULL);
        free(msg);
        return;
    }
    char *msg = xasprintf("%s is now connected to the Intercom workspace %s.", f->plugin,
                          inst->workspace_name ? inst->workspace_name : inst->workspace_id);
    finish_install(f->srv, f->req, 200, msg, NULL);
    free(msg);
    flow_free(f);
}

static void token_done(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct install_flow *f = arg;
    json_object *root;
    (void)len;
    if (!flow_answer(f, status, body, error, &root))
        return;
    const char *token = dig_string(root, "token", NULL);
    if (!token)
        token = dig_string(root, "access_token", NULL);
    if (!token || !*token) {
        flow_incomplete(f, root, "Intercom's token answer has no token");
        return;
    }
    f->token = xstrdup(token);
    json_object_put(root);
    char *url = xasprintf("%s/me", f->srv->cfg->api_url[REGION_US]);
    intercom_raw(f->srv->intercom, "GET", url, f->token, NULL, NULL, me_done, f);
    free(url);
}

/* The code exactly as sent: %XX decoded, '+' kept (codes are base64 and may contain it). */
static char *raw_query_value(const char *query, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            char *v = xstrndup(p + n + 1, len - n - 1);
            if (url_decode(v, false))
                return v;
            free(v);
            return NULL;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

static void handle_callback(struct server *srv, struct http_request *req, const char *name)
{
    struct sb_plugin *p = oauth_plugin(srv, req, name);
    if (!p)
        return;
    const char *denied = http_query_param(req, "error");
    const char *why = state_consume(srv, p->name, http_query_param(req, "state"));
    if (why) {
        log_warn("oauth", "install callback for %s refused (request %s): %s", p->name,
                 http_request_id(req), why);
        page(req, 400, "Installation failed", why, NULL);
        return;
    }
    if (denied) {
        /* Intercom sent the person back without a code: they may not install apps. */
        const char *desc = http_query_param(req, "error_description");
        struct buf said;
        buf_init(&said);
        buf_puts(&said, "Intercom said: ");
        buf_intercom_words(&said, denied);
        if (desc) {
            buf_puts(&said, " (");
            buf_intercom_words(&said, desc);
            buf_putc(&said, ')');
        }
        install_failed(srv, req, p->name, 403, NEEDS_ADMIN, said.data);
        buf_free(&said);
        return;
    }
    char *code = raw_query_value(http_query(req), "code");
    if (!code || !*code) {
        free(code);
        install_failed(srv, req, p->name, 400, "Intercom sent no authorization code.", NULL);
        return;
    }
    struct install_flow *f = xcalloc(1, sizeof *f);
    f->srv = srv;
    f->req = req;
    f->plugin = xstrdup(p->name);
    struct buf form;
    buf_init(&form);
    buf_puts(&form, "code=");
    buf_url_encode(&form, code);
    buf_puts(&form, "&client_id=");
    buf_url_encode(&form, p->cfg->client_id);
    buf_puts(&form, "&client_secret=");
    buf_url_encode(&form, p->cfg->client_secret);
    intercom_raw(srv->intercom, "POST", srv->cfg->token_url, NULL,
                 "application/x-www-form-urlencoded", form.data, token_done, f);
    OPENSSL_cleanse(form.data, form.len);
    buf_free(&form);
    OPENSSL_cleanse(code, strlen(code));
    free(code);
}

/* ---- uninstall notification ---- */

struct confirm {
    struct server *srv;
    int64_t installation;
};

static void confirm_done(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct confirm *c = arg;
    (void)body;
    (void)len;
    (void)error;
    struct installation *inst = installations_get(c->srv->installations, c->installation);
    if (inst && status == 401)
        lifecycle_revoke(c->srv, inst, "uninstalled in Intercom", false);
    else if (inst)
        log_warn("oauth", "uninstall notice for installation %lld not confirmed: its token still "
                          "works (HTTP %d); ignoring it",
                 (long long)c->installation, status);
    free(c);
}

static void handle_uninstalled(struct server *srv, struct http_request *req, const char *name)
{
    struct sb_plugin *p = plugins_find(srv->plugins, name);
    if (!p || !p->running) {
        http_reply_error(req, 404, "unknown_plugin", "no plugin named '%s' is running", name);
        return;
    }
    if (!plugin_configured(p)) {
        http_reply_error(req, 503, "not_configured", "plugin '%s' is not configured", name);
        return;
    }
    size_t len;
    const char *body = http_body(req, &len);
    const char *signature = http_header(req, "X-Body-Signature");
    if (signature && !signature_valid(signature, p->cfg->client_secret, body, len, false)) {
        log_warn("oauth", "uninstall notice for %s with a wrong X-Body-Signature from %s", name,
                 http_peer(req));
        http_reply_error(req, 401, "bad_signature", "X-Body-Signature does not match the body");
        return;
    }
    char parse_error[128];
    json_object *root = json_parse_whole(body, len, parse_error, sizeof parse_error);
    const char *app_id = dig_string(root, "app_id", NULL);
    if (!app_id || !*app_id) {
        json_object_put(root);
        http_reply_error(req, 400, "malformed_request", "expected {\"app_id\": \"...\"}");
        return;
    }
    struct installation *inst = installations_find(srv->installations, p->name, app_id);
    const char *status = "unknown_workspace";
    if (inst && inst->state != SB_INSTALLATION_REVOKED) {
        if (signature) {
            lifecycle_revoke(srv, inst, "uninstalled in Intercom", false);
            status = "revoked";
        } else {
            /* Unsigned: believe it once Intercom refuses the token. */
            struct confirm *c = xcalloc(1, sizeof *c);
            c->srv = srv;
            c->installation = inst->id;
            char *token = installation_token(srv, inst);
            char *url = xasprintf("%s/me", srv->cfg->api_url[inst->region]);
            intercom_raw(srv->intercom, "GET", url, token, NULL, NULL, confirm_done, c);
            free(url);
            installation_token_free(token);
            status = "checking";
        }
    } else if (inst) {
        status = "revoked";
    }
    json_object_put(root);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(status));
    http_reply_json(req, 200, o);
}

void oauth_handle(struct server *srv, struct http_request *req, const char *plugin,
                  const char *action)
{
    http_set_label(req, "oauth");
    const char *method = http_method(req);
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(action, "install") == 0 && get)
        handle_install(srv, req, plugin);
    else if (strcmp(action, "callback") == 0 && get)
        handle_callback(srv, req, plugin);
    else if (strcmp(action, "uninstalled") == 0 && strcmp(method, "POST") == 0)
        handle_uninstalled(srv, req, plugin);
    else if (strcmp(action, "install") == 0 || strcmp(action, "callback") == 0
             || strcmp(action, "uninstalled") == 0)
        http_reply_error(req, 405, "method_not_allowed", "wrong method for /oauth/%s/%s", plugin,
                         action);
    else
        http_reply_error(req, 404, "not_found", "no such OAuth route");
}
