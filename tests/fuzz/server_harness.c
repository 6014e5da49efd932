/* server_harness.c - the in-process server the request fuzz targets talk to (server_harness.h). */
#include "server_harness.h"

#include "config.h"
#include "exchange.h"
#include "host.h"
#include "installations.h"
#include "logcheck.h"
#include "server.h"
#include "startup.h"
#include "tempdir.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the folder of the built test plugins"
#endif

/* Nothing listens on port 1 of the loopback: every outbound call is refused at once. */
#define CLOSED "http://127.0.0.1:1"

static struct server srv;
static struct config_report report;
static char workdir[128];
static bool booted;

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror(path);
        abort();
    }
    close(fd);
}

static void teardown(void)
{
    if (!booted)
        return;
    server_stop(&srv);
    config_free(srv.cfg);
    config_report_free(&report);
    curl_global_cleanup();
    booted = false;
}

void fuzz_server_boot(void)
{
    if (booted)
        return;
    signal(SIGPIPE, SIG_IGN);
    fuzz_temp_dir(workdir, sizeof workdir, "switchboard-fuzz");
    char path[256];
    snprintf(path, sizeof path, "%s/admin.token", workdir);
    write_file(path, FUZZ_ADMIN_TOKEN "\n");
    char *text = xasprintf(
        "server: { listen = \"127.0.0.1:0\"; public_url = \"http://127.0.0.1:8080\";\n"
        "  max_body_bytes = 65536; max_connections = 8; header_timeout_s = 1;\n"
        "  body_timeout_s = 1; keepalive_timeout_s = 1; canvas_deadline_ms = 200;\n"
        "  api_deadline_ms = 300; };\n"
        "log: { level = \"error\"; access = false; };\n"
        "storage: { path = \"data/switchboard.db\"; };\n"
        "security: { key_file = \"data/secret.key\"; admin_token_file = \"admin.token\"; };\n"
        "intercom: { oauth_url = \"" CLOSED "/oauth\"; token_url = \"" CLOSED "/auth/eagle/token\";\n"
        "  api_url = { US = \"" CLOSED "\"; EU = \"" CLOSED "\"; AU = \"" CLOSED "\"; };\n"
        "  request_timeout_s = 1; max_attempts = 1; retry_base_ms = 1; retry_cap_ms = 1; };\n"
        "jobs: { max_attempts = 2; backoff_base_s = 1; backoff_cap_s = 1; };\n"
        "plugin_dir = \"%s\";\n"
        "plugins: { " FUZZ_PLUGIN ": { client_id = \"fuzz-client\"; client_secret = \""
        FUZZ_CLIENT_SECRET "\"; api_key = \"" FUZZ_API_KEY "\"; }; };\n",
        TEST_PLUGIN_DIR);
    snprintf(path, sizeof path, "%s/switchboard.conf", workdir);
    write_file(path, text);
    free(text);

    config_report_init(&report);
    srv.started_ms = time_now_ms();
    srv.cfg = config_load(path, &report);
    if (!srv.cfg) {
        server_print_report(&report);
        abort();
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    booted = true;
    atexit(teardown); /* registered after the folder's removal, so it runs before it */
    struct server_start_options opt = {
        .services = &host_services, .strict_plugins = true, .no_listen = true};
    if (server_start(&srv, &report, &opt) != 0) {
        fprintf(fuzz_diag(), "fuzz: the server did not start (folder %s)\n", workdir);
        abort();
    }
    struct installation_identity who = {
        .workspace_id = FUZZ_WORKSPACE,
        .workspace_name = "Fuzz workspace",
        .admin_id = "1",
        .admin_email = "admin@fuzz.example",
        .region = REGION_US,
    };
    bool created;
    if (!installations_save(&srv, FUZZ_PLUGIN, &who, "fuzz-token", &created)) {
        fprintf(fuzz_diag(), "fuzz: cannot store the installation\n");
        abort();
    }
}

int fuzz_server_request(const void *request, size_t len, struct buf *response)
{
    struct buf own;
    buf_init(&own);
    struct buf *r = response ? response : &own;
    fuzz_exchange(srv.base, srv.http, request, len, 0, r);
    fuzz_check_responses(r);
    int status = fuzz_first_status(r);
    buf_free(&own);
    fuzz_log_check();
    return status;
}

void fuzz_append_target(struct buf *b, const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '#')
            buf_printf(b, "%%%02X", s[i]);
        else
            buf_putc(b, (char)s[i]);
    }
}

static bool is_method_char(uint8_t ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

void fuzz_line_request(struct buf *out, const uint8_t *data, size_t size, const char *prefix,
                       const char *extra_headers)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line_len = nl ? (size_t)(nl - data) : size;
    size_t body_len;
    const uint8_t *body = fuzz_line_body(data, size, &body_len);
    const uint8_t *sp = memchr(data, ' ', line_len);
    size_t method_len = sp ? (size_t)(sp - data) : 0;
    bool method_ok = method_len > 0 && method_len <= 16;
    for (size_t i = 0; method_ok && i < method_len; i++)
        method_ok = is_method_char(data[i]);
    const uint8_t *path = method_ok ? sp + 1 : data;
    size_t path_len = method_ok ? line_len - method_len - 1 : line_len;
    if (method_ok)
        buf_append(out, data, method_len);
    else
        buf_puts(out, body_len ? "POST" : "GET");
    buf_printf(out, " %s", prefix);
    if (path_len == 0 || path[0] != '/')
        buf_putc(out, '/');
    fuzz_append_target(out, path, path_len);
    buf_printf(out, " HTTP/1.1\r\nHost: fuzz\r\n%sContent-Type: application/json\r\n"
                    "Content-Length: %zu\r\n\r\n",
               extra_headers, body_len);
    buf_append(out, body, body_len);
}

bool fuzz_strict_json(const uint8_t *data, size_t size, bool object)
{
    if (size > 1 << 30 || memchr(data, '\0', size))
        return false;
    size_t end = size;
    while (end > 0 && strchr(" \t\r\n", data[end - 1]))
        end--;
    if (end == 0 || (object && data[end - 1] != '}'))
        return false;
    json_tokener *tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* RFC 8259: no comments, no single quotes */
    json_object *value = json_tokener_parse_ex(tok, (const char *)data, (int)end);
    size_t used = json_tokener_get_parse_end(tok);
    if (!value && json_tokener_get_error(tok) == json_tokener_continue) {
        value = json_tokener_parse_ex(tok, "", 1); /* a top-level number ends with the input */
        used = end;
    }
    bool one = value && used == end && (!object || json_object_is_type(value, json_type_object));
    json_object_put(value);
    json_tokener_free(tok);
    return one;
}

const uint8_t *fuzz_line_body(const uint8_t *data, size_t size, size_t *body_len)
{
    const uint8_t *nl = memchr(data, '\n', size);
    const uint8_t *body = nl ? nl + 1 : data + size;
    *body_len = (size_t)(data + size - body);
    return body;
}

void fuzz_append_signature(struct buf *b, const void *md, const uint8_t *data, size_t size)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC((const EVP_MD *)md, FUZZ_CLIENT_SECRET, (int)strlen(FUZZ_CLIENT_SECRET), data, size, mac,
         &mac_len);
    for (unsigned int i = 0; i < mac_len; i++)
        buf_printf(b, "%02x", mac[i]);
}

void fuzz_expect_status(int status, const int *allowed, const char *what)
{
    for (const int *a = allowed; *a; a++)
        if (status == *a)
            return;
    fprintf(fuzz_diag(), "fuzz: %s answered %d, which it never should\n", what, status);
    abort();
}
