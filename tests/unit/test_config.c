/* Unit tests: config.c - defaults, errors with file and line, secrets, includes. */
#include "config.h"
#include "store/store.h"
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static struct config *load_text(const char *name, const char *text, struct config_report *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unit_write(path, text);
    config_report_init(r);
    return config_load(path, r);
}

static void minimal_file_uses_defaults(void)
{
    struct config_report r;
    struct config *cfg = load_text("min.conf", "server: { listen = \"127.0.0.1:9999\"; };\n", &r);
    CHECK(cfg != NULL);
    CHECK_INT(r.n_errors, 0);
    CHECK_STR(cfg->listen_host, "127.0.0.1");
    CHECK_INT(cfg->listen_port, 9999);
    CHECK_INT(cfg->max_body_bytes, 1048576);
    CHECK_STR(cfg->intercom_version, "2.14");
    CHECK_STR(cfg->api_url[REGION_EU], "https://api.eu.intercom.io");
    /* Relative defaults resolve against the file's folder, normalised. */
    char expect[512];
    snprintf(expect, sizeof expect, "%.*s/var/switchboard.db", (int)(strrchr(dir, '/') - dir), dir);
    CHECK_STR(cfg->db_path, expect);
    config_free(cfg);
    config_report_free(&r);
}

static void typo_names_file_and_line(void)
{
    struct config_report r;
    struct config *cfg = load_text("typo.conf",
                                   "server: {\n"
                                   "  listen = \"127.0.0.1:1\";\n"
                                   "  max_body_byte = 10;\n"
                                   "};\n",
                                   &r);
    CHECK(cfg == NULL);
    CHECK_INT(r.n_errors, 1);
    CHECK_CONTAINS(r.errors.data, "typo.conf:3: unknown key 'max_body_byte' in 'server'");
    config_report_free(&r);
}

static void every_error_is_reported(void)
{
    struct config_report r;
    struct config *cfg = load_text("many.conf",
                                   "server: { max_connections = \"lots\"; };\n"
                                   "jobs: { max_attempts = 0; };\n"
                                   "log: { level = \"chatty\"; };\n"
                                   "stroage: { path = \"x\"; };\n",
                                   &r);
    CHECK(cfg == NULL);
    CHECK_INT(r.n_errors, 4);
    CHECK_CONTAINS(r.errors.data, "many.conf:1: server.max_connections must be an integer");
    CHECK_CONTAINS(r.errors.data, "many.conf:2: jobs.max_attempts = 0 is out of range");
    CHECK_CONTAINS(r.errors.data, "many.conf:3: log.level must be debug, info, warn or error");
    CHECK_CONTAINS(r.errors.data, "many.conf:4: unknown key 'stroage'");
    config_report_free(&r);
}

static void syntax_error_has_line(void)
{
    struct config_report r;
    struct config *cfg = load_text("syntax.conf", "server: {\n  listen = \"x\"\n  oops\n};\n", &r);
    CHECK(cfg == NULL);
    /* libconfig reports the line where the parse broke: the token after "oops". */
    CHECK_CONTAINS(r.errors.data, "syntax.conf:4: syntax error");
    config_report_free(&r);
}

static void missing_file(void)
{
    struct config_report r;
    config_report_init(&r);
    CHECK(config_load("/nonexistent/switchboard.conf", &r) == NULL);
    CHECK_CONTAINS(r.errors.data, "/nonexistent/switchboard.conf: cannot read");
    config_report_free(&r);
}

static void bad_listen(void)
{
    struct config_report r;
    struct config *cfg = load_text("listen.conf", "server: { listen = \"localhost\"; };\n", &r);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(r.errors.data, "listen.conf:1: server.listen must be \"host:port\"");
    config_report_free(&r);
    char *host;
    int port;
    CHECK(config_parse_listen("[::1]:80", &host, &port));
    CHECK_STR(host, "::1");
    CHECK_INT(port, 80);
    free(host);
    CHECK(!config_parse_listen("1.2.3.4:70000", &host, &port));
}

static void plugin_secrets_from_file_and_env(void)
{
    char secret_path[512];
    snprintf(secret_path, sizeof secret_path, "%s/client.secret", dir);
    unit_write(secret_path, "file-secret\n");
    setenv("SB_UNIT_API_KEY", "env-key", 1);
    struct config_report r;
    struct config *cfg = load_text("secrets.conf",
                                   "plugins: {\n"
                                   "  demo: {\n"
                                   "    client_id = \"abc\";\n"
                                   "    client_secret_file = \"client.secret\";\n"
                                   "    api_key_env = \"SB_UNIT_API_KEY\";\n"
                                   "    settings: { mode = \"x\"; n = 3; list = [\"a\", \"b\"]; };\n"
                                   "    options: { nested: { deep = true; }; };\n"
                                   "  };\n"
                                   "};\n",
                                   &r);
    CHECK(cfg != NULL);
    const struct plugin_config *pc = cfg ? config_plugin(cfg, "demo") : NULL;
    CHECK(pc != NULL);
    if (pc) {
        CHECK_STR(pc->client_secret, "file-secret");
        CHECK_STR(pc->api_key, "env-key");
        CHECK(pc->enabled);
        CHECK_STR(json_object_to_json_string_ext(pc->settings, JSON_C_TO_STRING_PLAIN),
                  "{\"mode\":\"x\",\"n\":3,\"list\":[\"a\",\"b\"]}");
        json_object *line;
        CHECK(json_object_object_get_ex(pc->settings_lines, "n", &line));
        CHECK_INT(json_object_get_int(line), 6);
        CHECK_STR(json_object_to_json_string_ext(pc->options, JSON_C_TO_STRING_PLAIN),
                  "{\"nested\":{\"deep\":true}}");
    }
    config_free(cfg);
    config_report_free(&r);
}

static void secret_problems(void)
{
    unsetenv("SB_UNIT_MISSING");
    struct config_report r;
    struct config *cfg = load_text("badsecrets.conf",
                                   "plugins: {\n"
                                   "  a: { client_id = \"x\"; client_secret = \"s\"; client_secret_env = \"E\"; };\n"
                                   "  b: { api_key_env = \"SB_UNIT_MISSING\"; };\n"
                                   "  c: { client_secret_file = \"nope.txt\"; client_id = \"y\"; };\n"
                                   "  d: { client_secret = \"s\"; };\n"
                                   "  e: { colour = \"red\"; };\n"
                                   "};\n",
                                   &r);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(r.errors.data, "badsecrets.conf:2: client_secret given twice");
    CHECK_CONTAINS(r.errors.data, "badsecrets.conf:3: api_key_env: environment variable SB_UNIT_MISSING is not set");
    CHECK_CONTAINS(r.errors.data, "badsecrets.conf:4: client_secret_file: cannot read");
    CHECK_CONTAINS(r.errors.data, "badsecrets.conf:5: plugins.d has a client secret but no client_id");
    CHECK_CONTAINS(r.errors.data, "badsecrets.conf:6: unknown key 'colour' in plugins.e");
    /* Secrets never appear in errors. */
    CHECK(strstr(r.errors.data, "\"s\"") == NULL);
    config_report_free(&r);
}

static void include_errors_name_the_included_file(void)
{
    char inc[512];
    snprintf(inc, sizeof inc, "%s/part.conf", dir);
    unit_write(inc, "demo: {\n  enabeld = true;\n};\n");
    struct config_report r;
    struct config *cfg = load_text("main.conf", "plugins: {\n@include \"part.conf\"\n};\n", &r);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(r.errors.data, "part.conf:2: unknown key 'enabeld' in plugins.demo");
    config_report_free(&r);
}

static void duplicate_plugin(void)
{
    struct config_report r;
    struct config *cfg = load_text("dup.conf", "plugins: { a: { }; a: { }; };\n", &r);
    CHECK(cfg == NULL); /* libconfig itself refuses duplicate names */
    CHECK(r.n_errors >= 1);
    config_report_free(&r);
}

static void empty_values_are_errors(void)
{
    struct config_report r;
    struct config *cfg = load_text("empty.conf",
                                   "plugins: {\n"
                                   "  a: { client_id = \"x\"; client_secret = \"\"; };\n"
                                   "  b: { api_key = \"\"; };\n"
                                   "  c: { client_id = \"\"; };\n"
                                   "  d: { client_id = \"y\"; client_secret_env = \"\"; };\n"
                                   "  e: { api_key_file = \"\"; };\n"
                                   "  f: { path = \"\"; };\n"
                                   "};\n"
                                   "security: { admin_token_env = \"\"; key_file = \"\"; };\n"
                                   "storage: { path = \"\"; };\n",
                                   &r);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(r.errors.data, "empty.conf:2: plugins.a.client_secret is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:3: plugins.b.api_key is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:4: plugins.c.client_id is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:5: plugins.d.client_secret_env is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:6: plugins.e.api_key_file is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:7: plugins.f.path is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:9: security.admin_token_env is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:9: security.key_file is empty");
    CHECK_CONTAINS(r.errors.data, "empty.conf:10: storage.path is empty");
    CHECK_INT(r.n_errors, 9);
    config_report_free(&r);
}

/* Run from the file's own folder with a bare file name: every path still comes out absolute. */
static void paths_from_a_bare_file_name_are_absolute(void)
{
    char secret[512], cwd[4096];
    snprintf(secret, sizeof secret, "%s/bare.secret", dir);
    unit_write(secret, "bare-secret\n");
    char main_path[512];
    snprintf(main_path, sizeof main_path, "%s/bare.conf", dir);
    unit_write(main_path, "storage: { path = \"data/db.sqlite\"; };\n"
                          "security: { key_file = \"keys/secret.key\"; admin_token_file = \"a.token\"; };\n"
                          "plugin_dir = \"plugins\";\n"
                          "plugins: {\n"
                          "  demo: { path = \"demo.so\"; client_id = \"x\";\n"
                          "          client_secret_file = \"bare.secret\"; };\n"
                          "};\n");
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    struct config_report r;
    config_report_init(&r);
    struct config *cfg = config_load("bare.conf", &r);
    CHECK(chdir(cwd) == 0);
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s", r.errors.data ? r.errors.data : "");
        config_report_free(&r);
        return;
    }
    char expect[600];
    snprintf(expect, sizeof expect, "%s/data/db.sqlite", dir);
    CHECK_STR(cfg->db_path, expect);
    snprintf(expect, sizeof expect, "%s/keys/secret.key", dir);
    CHECK_STR(cfg->key_file, expect);
    snprintf(expect, sizeof expect, "%s/a.token", dir);
    CHECK_STR(cfg->admin_token_file, expect);
    snprintf(expect, sizeof expect, "%s/plugins", dir);
    CHECK_STR(cfg->plugin_dir, expect);
    const struct plugin_config *pc = config_plugin(cfg, "demo");
    CHECK(pc != NULL);
    if (pc) {
        snprintf(expect, sizeof expect, "%s/demo.so", dir);
        CHECK_STR(pc->path, expect);
        CHECK_STR(pc->client_secret, "bare-secret");
    }
    config_free(cfg);
    config_report_free(&r);
}

/*
 * libconfig opens an @include relative to the main file's folder but names
 * it as written; paths (and messages) in it must still follow its real folder,
 * from whatever folder the server was started.
 */
static void included_file_is_located_and_resolves_its_own_paths(void)
{
    char path[512], cwd[4096];
    snprintf(path, sizeof path, "%s/site", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/site/parts", dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/site/parts/inc.secret", dir);
    unit_write(path, "included-secret\n");
    snprintf(path, sizeof path, "%s/site/parts/demo.conf", dir);
    unit_write(path, "# the demo plugin\n"
                     "demo: {\n"
                     "  path = \"../lib/demo.so\";\n"
                     "  client_id = \"x\";\n"
                     "  client_secret_file = \"inc.secret\";\n"
                     "};\n");
    snprintf(path, sizeof path, "%s/site/main.conf", dir);
    unit_write(path, "plugins: {\n@include \"parts/demo.conf\"\n};\n");
    snprintf(path, sizeof path, "%s/site/parts/typo.conf", dir);
    unit_write(path, "other: {\n  colour = \"red\";\n};\n");
    snprintf(path, sizeof path, "%s/site/typo.conf", dir);
    unit_write(path, "plugins: {\n@include \"parts/typo.conf\"\n};\n");

    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    struct config_report r;
    config_report_init(&r);
    struct config *cfg = config_load("site/main.conf", &r);
    struct config_report typo;
    config_report_init(&typo);
    struct config *bad = config_load("site/typo.conf", &typo);
    CHECK(chdir(cwd) == 0);

    CHECK(cfg != NULL);
    const struct plugin_config *pc = cfg ? config_plugin(cfg, "demo") : NULL;
    CHECK(pc != NULL);
    if (pc) {
        char expect[600];
        snprintf(expect, sizeof expect, "%s/site/lib/demo.so", dir);
        CHECK_STR(pc->path, expect);
        CHECK_STR(pc->client_secret, "included-secret");
        /* Where the plugin's warnings point: the included file, by a name valid from here. */
        CHECK_STR(pc->file, "site/parts/demo.conf");
        CHECK_INT(pc->line, 2);
    } else if (r.errors.data) {
        fprintf(stderr, "%s", r.errors.data);
    }
    CHECK(bad == NULL);
    CHECK_CONTAINS(typo.errors.data, "site/parts/typo.conf:2: unknown key 'colour' in plugins.other");
    config_free(cfg);
    config_free(bad);
    config_report_free(&r);
    config_report_free(&typo);
}

static void embedded_default_is_valid(void)
{
    struct config_report r;
    config_report_init(&r);
    struct config *cfg = config_load(NULL, &r);
    CHECK(cfg != NULL);
    CHECK_INT(r.n_errors, 0);
    if (cfg) {
        CHECK(cfg->embedded);
        CHECK_CONTAINS(cfg->db_path, "/var/switchboard.db");
        CHECK_INT(cfg->listen_port, 8080);
    }
    config_free(cfg);
    config_report_free(&r);
}

/* ---- storage ---- */

#define PG_PASSWORD "s3cret-pw" /* in every url below: no message may show it */

static void storage_defaults_to_sqlite(void)
{
    struct config_report r;
    struct config *cfg = load_text("sqlite.conf", "storage: { path = \"data/sb.db\"; };\n", &r);
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_STR(cfg->storage_driver, "sqlite");
        CHECK(cfg->storage_url == NULL);
        CHECK(cfg->storage_node == NULL);
        CHECK_INT(cfg->storage_lease_s, 30);
        struct store_options options;
        config_store_options(cfg, &options);
        CHECK_STR(options.driver, "sqlite");
        CHECK(options.path == cfg->db_path);
        CHECK_CONTAINS(options.path, "/data/sb.db");
        CHECK(options.url == NULL);
        CHECK_INT(options.redelivery_window, STORE_REDELIVERY_WINDOW);
    }
    config_free(cfg);
    config_report_free(&r);
    cfg = load_text("sqlite.conf", "storage: {\n  redelivery_window = 1048576;\n};\n", &r);
    CHECK(cfg != NULL);
    if (cfg) {
        struct store_options options;
        config_store_options(cfg, &options);
        CHECK_INT(options.redelivery_window, 1048576);
    }
    config_free(cfg);
    config_report_free(&r);
}

static void storage_postgresql_url_inline_file_and_env(void)
{
    char url_path[512];
    snprintf(url_path, sizeof url_path, "%s/pg.url", dir);
    unit_write(url_path, "postgresql://sb:" PG_PASSWORD "@db.internal/switchboard\n");
    chmod(url_path, 0600);
    setenv("SB_UNIT_PG_URL", "host=db.internal dbname=switchboard password=" PG_PASSWORD, 1);
    static const struct {
        const char *text, *url;
    } cases[] = {
        {"storage: {\n  driver = \"postgresql\";\n  url = \"postgres://db.internal/sb\";\n"
         "  node = \"node-1.eu\";\n  lease_s = 60;\n};\n",
         "postgres://db.internal/sb"},
        {"storage: { driver = \"postgresql\"; url_file = \"pg.url\"; };\n",
         "postgresql://sb:" PG_PASSWORD "@db.internal/switchboard"},
        {"storage: { driver = \"postgresql\"; url_env = \"SB_UNIT_PG_URL\"; };\n",
         "host=db.internal dbname=switchboard password=" PG_PASSWORD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct config_report r;
        struct config *cfg = load_text("pg.conf", cases[i].text, &r);
        CHECK(cfg != NULL);
        CHECK_INT(r.n_errors, 0);
        if (!cfg) {
            fprintf(stderr, "case %zu: %s", i, r.errors.data);
            config_report_free(&r);
            continue;
        }
        CHECK_STR(cfg->storage_driver, "postgresql");
        CHECK_STR(cfg->storage_url, cases[i].url);
        struct store_options options;
        config_store_options(cfg, &options);
        CHECK_STR(options.driver, "postgresql");
        CHECK(options.url == cfg->storage_url);
        if (i == 0) {
            CHECK_STR(cfg->storage_node, "node-1.eu");
            CHECK_INT(cfg->storage_lease_s, 60);
        }
        config_free(cfg);
        config_report_free(&r);
    }
    unsetenv("SB_UNIT_PG_URL");
}

/* text is refused with exactly one error, `expect`, and no error shows the password. */
static void check_storage_error(const char *text, const char *expect)
{
    struct config_report r;
    struct config *cfg = load_text("bad.conf", text, &r);
    CHECK(cfg == NULL);
    CHECK_INT(r.n_errors, 1);
    CHECK_CONTAINS(r.errors.data, expect);
    CHECK(!r.errors.data || strstr(r.errors.data, PG_PASSWORD) == NULL);
    if (r.n_errors != 1)
        fprintf(stderr, "for: %s", text);
    config_free(cfg);
    config_report_free(&r);
}

static void storage_errors_name_file_and_line(void)
{
    check_storage_error("storage: {\n  driver = \"mysql\";\n};\n",
                        "bad.conf:2: storage.driver must be \"sqlite\" or \"postgresql\", "
                        "not \"mysql\"");
    check_storage_error("storage: {\n  path = \"x.db\";\n  driver = \"postgresql\";\n};\n",
                        "bad.conf:3: storage.driver \"postgresql\" needs storage.url "
                        "(or url_file / url_env)");
    /* A url under the default driver, and under an explicit sqlite. */
    check_storage_error("storage: {\n  url = \"postgresql://u:" PG_PASSWORD "@h/db\";\n};\n",
                        "bad.conf:2: storage.url is for driver \"postgresql\" "
                        "(storage.driver is \"sqlite\")");
    check_storage_error("storage: {\n  driver = \"sqlite\";\n  url_env = \"HOME\";\n};\n",
                        "bad.conf:3: storage.url_env is for driver \"postgresql\"");
    check_storage_error("storage: {\n  driver = \"postgresql\";\n"
                        "  url = \"postgresql://u:" PG_PASSWORD "@h/db\";\n"
                        "  url_env = \"HOME\";\n};\n",
                        "bad.conf:4: url given twice (use one of url, url_file, url_env)");
    check_storage_error("storage: { driver = \"postgresql\";\n  url_file = \"no-such.url\"; };\n",
                        "bad.conf:2: url_file: cannot read ");
    unsetenv("SB_UNIT_PG_UNSET");
    check_storage_error("storage: { driver = \"postgresql\";\n"
                        "  url_env = \"SB_UNIT_PG_UNSET\"; };\n",
                        "bad.conf:2: url_env: environment variable SB_UNIT_PG_UNSET is not set");
    setenv("SB_UNIT_PG_EMPTY", "", 1);
    check_storage_error("storage: { driver = \"postgresql\";\n"
                        "  url_env = \"SB_UNIT_PG_EMPTY\"; };\n",
                        "bad.conf:2: url_env: environment variable SB_UNIT_PG_EMPTY is empty");
    unsetenv("SB_UNIT_PG_EMPTY");
    check_storage_error("storage: { driver = \"postgresql\";\n  url = \"\"; };\n",
                        "bad.conf:2: storage.url is empty");
    /* Neither a URI libpq knows nor key=value text; libpq's message (it quotes) is not shown. */
    check_storage_error("storage: { driver = \"postgresql\";\n"
                        "  url = \"mysql://u:" PG_PASSWORD "@h/db\"; };\n",
                        "bad.conf:2: storage.url: not a PostgreSQL connection string");
    check_storage_error("storage: { driver = \"postgresql\";\n"
                        "  url = \"host=h password " PG_PASSWORD "\"; };\n",
                        "bad.conf:2: storage.url: not a PostgreSQL connection string");
    check_storage_error("storage: { driver = \"postgresql\";\n"
                        "  url = \"host=h pasword=" PG_PASSWORD "\"; };\n",
                        "bad.conf:2: storage.url: not a PostgreSQL connection string");
    check_storage_error("storage: { driver = \"postgresql\"; url = \"postgresql://h/db\";\n"
                        "  node = \"node one\"; };\n",
                        "bad.conf:2: storage.node must be at most 63 letters, digits");
    check_storage_error("storage: { driver = \"postgresql\"; url = \"postgresql://h/db\";\n"
                        "  lease_s = 4; };\n",
                        "bad.conf:2: storage.lease_s = 4 is out of range [5, 3600]");
    check_storage_error("storage: {\n  redelivery_window = 1000;\n};\n",
                        "bad.conf:2: storage.redelivery_window = 1000 is out of range "
                        "[1024, 4194304]");
    check_storage_error("storage: { driver = \"postgresql\"; url = \"postgresql://h/db\";\n"
                        "  redelivery_window = 4096; };\n",
                        "bad.conf:2: storage.redelivery_window is for driver \"sqlite\" "
                        "(PostgreSQL recognizes redeliveries by a unique index)");
    check_storage_error("storage: {\n  urls = \"postgresql://h/db\"; };\n",
                        "bad.conf:2: unknown key 'urls' in 'storage'");
}

static void storage_url_file_must_be_the_owners_alone(void)
{
    char url_path[512];
    snprintf(url_path, sizeof url_path, "%s/open.url", dir);
    unit_write(url_path, "postgresql://u:" PG_PASSWORD "@h/db\n");
    chmod(url_path, 0640);
    char expect[600];
    snprintf(expect, sizeof expect,
             "bad.conf:2: url_file: %s is readable by group or others (mode 640); use chmod 600",
             url_path);
    check_storage_error("storage: { driver = \"postgresql\";\n  url_file = \"open.url\"; };\n",
                        expect);
    /* An empty file is no url. */
    unit_write(url_path, "\n");
    chmod(url_path, 0600);
    snprintf(expect, sizeof expect, "bad.conf:2: url_file: %s is empty", url_path);
    check_storage_error("storage: { driver = \"postgresql\";\n  url_file = \"open.url\"; };\n",
                        expect);
}

int main(void)
{
    dir = unit_tempdir();
    RUN(minimal_file_uses_defaults);
    RUN(typo_names_file_and_line);
    RUN(every_error_is_reported);
    RUN(syntax_error_has_line);
    RUN(missing_file);
    RUN(bad_listen);
    RUN(plugin_secrets_from_file_and_env);
    RUN(secret_problems);
    RUN(include_errors_name_the_included_file);
    RUN(duplicate_plugin);
    RUN(empty_values_are_errors);
    RUN(paths_from_a_bare_file_name_are_absolute);
    RUN(included_file_is_located_and_resolves_its_own_paths);
    RUN(embedded_default_is_valid);
    RUN(storage_defaults_to_sqlite);
    RUN(storage_postgresql_url_inline_file_and_env);
    RUN(storage_errors_name_file_and_line);
    RUN(storage_url_file_must_be_the_owners_alone);
    free(dir);
    UNIT_DONE();
}
