/*
 * Unit tests: the loader against the bad-plugin corpus (tests/plugins). Each
 * bad plugin is refused with a reason that says what is wrong; the good ones
 * load beside them.
 */
#include "host.h"
#include "plugins.h"
#include "server.h"
#include "unit.h"
#include "util.h"

#include <sys/stat.h>
#include <unistd.h>

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the folder of the built corpus"
#endif

static char *dir;

static const char *refusal(const struct plugin_registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->n_refused; i++)
        if (strcmp(reg->refused[i].name, name) == 0)
            return reg->refused[i].reason;
    return NULL;
}

static struct plugin_registry *load(struct server *srv, const char *plugins_block,
                                    struct config_report *r)
{
    char path[512], text[4096];
    snprintf(path, sizeof path, "%s/loader.conf", dir);
    snprintf(text, sizeof text, "plugin_dir = \"%s\";\nplugins: {\n%s};\n", TEST_PLUGIN_DIR,
             plugins_block);
    unit_write(path, text);
    config_report_init(r);
    srv->cfg = config_load(path, r);
    if (!srv->cfg) {
        fprintf(stderr, "%s", r->errors.data);
        return NULL;
    }
    return plugins_load(srv, &host_services, true, r);
}

static void finish(struct server *srv, struct plugin_registry *reg, struct config_report *r)
{
    plugins_shutdown(reg);
    plugins_free(reg);
    config_free(srv->cfg);
    config_report_free(r);
}

static void corpus(void)
{
    char garbage[512], folder[512];
    snprintf(garbage, sizeof garbage, "%s/garbage.so", dir);
    unit_write(garbage, "this is not an ELF file\n");
    snprintf(folder, sizeof folder, "%s/folder.so", dir);
    mkdir(folder, 0755);
    char block[2048];
    snprintf(block, sizeof block,
             "  testplug: { client_id = \"id\"; client_secret = \"secret\"; };\n"
             "  bad_major: { };\n"
             "  bad_minor: { };\n"
             "  bad_oversize: { };\n"
             "  bad_noentry: { };\n"
             "  bad_nullcb: { };\n"
             "  bad_initfail: { };\n"
             "  old_minor: { };\n"
             "  plugin_v10: { };\n"
             "  plugin_v19: { };\n"
             "  bad_route_flag: { };\n"
             "  bad_route_any_state: { };\n"
             "  bad_setting_type: { };\n"
             "  missing: { };\n"
             "  garbage: { path = \"%s\"; };\n"
             "  folder: { path = \"%s\"; };\n"
             "  renamed: { path = \"%s/testplug.so\"; };\n"
             "  disabled: { enabled = false; path = \"/nonexistent.so\"; };\n",
             garbage, folder, TEST_PLUGIN_DIR);
    struct server srv = {0};
    struct config_report r;
    struct plugin_registry *reg = load(&srv, block, &r);
    CHECK(reg != NULL);
    if (!reg)
        return;
    CHECK_INT(reg->n, 4);
    CHECK(plugins_find(reg, "testplug") != NULL);
    CHECK(plugins_find(reg, "testplug")->running);
    struct sb_plugin *old = plugins_find(reg, "old_minor");
    CHECK(old != NULL);
    if (old) /* members beyond its struct_size are zero, whatever the plugin's memory held */
        CHECK(old->desc.canvas == NULL && old->desc.on_event == NULL);
    char expected[128];
    snprintf(expected, sizeof expected, "built for SDK ABI 2.0; this host runs ABI 1.%d",
             SB_ABI_MINOR);
    CHECK_CONTAINS(refusal(reg, "bad_major"), expected);
    /* A newer minor loads (plugin_v19), but only with the element sizes of its arrays. */
    snprintf(expected, sizeof expected, "declares sb_route elements of 0 bytes for ABI 1.%d",
             SB_ABI_MINOR + 1);
    CHECK_CONTAINS(refusal(reg, "bad_minor"), expected);
    CHECK_CONTAINS(refusal(reg, "bad_oversize"), "larger than the");
    CHECK_CONTAINS(refusal(reg, "bad_route_flag"),
                   "route GET /odd has flags 0x40 this host does not know");
    CHECK_CONTAINS(refusal(reg, "bad_route_any_state"),
                   "route GET /any: SB_ROUTE_ANY_STATE without SB_ROUTE_NEEDS_INSTALLATION");
    CHECK_CONTAINS(refusal(reg, "bad_setting_type"), "setting 'colour' has unknown type 5");
    CHECK_CONTAINS(refusal(reg, "bad_noentry"), "no entry point switchboard_plugin_entry");
    CHECK_CONTAINS(refusal(reg, "bad_nullcb"), "required callback shutdown is NULL");
    CHECK_CONTAINS(refusal(reg, "bad_initfail"), "init failed: cannot reach the vendor's licence server");
    CHECK_CONTAINS(refusal(reg, "missing"), "cannot read the file: No such file or directory");
    CHECK_CONTAINS(refusal(reg, "garbage"), "dlopen failed");
    CHECK_CONTAINS(refusal(reg, "folder"), "dlopen failed");
    CHECK_CONTAINS(refusal(reg, "renamed"), "descriptor name 'testplug' does not match");
    CHECK(refusal(reg, "disabled") == NULL);
    CHECK_INT(reg->n_refused, 13);
    finish(&srv, reg, &r);
}

/* The host reads a 1.0 plugin's arrays with 1.0 strides, a 1.9 plugin's with its recorded ones. */
static void arrays_of_other_minors(void)
{
    struct server srv = {0};
    struct config_report r;
    struct plugin_registry *reg =
        load(&srv, "  plugin_v10: { };\n  plugin_v19: { settings: { every_s = 5; }; };\n", &r);
    CHECK(reg != NULL);
    if (!reg)
        return;
    CHECK_INT(reg->n, 2);
    CHECK_INT(r.n_errors, 0);
    struct sb_plugin *v10 = plugins_find(reg, "plugin_v10");
    struct sb_plugin *v19 = plugins_find(reg, "plugin_v19");
    CHECK(v10 && v19);
    if (!v10 || !v19) {
        finish(&srv, reg, &r);
        return;
    }
    const char *v10_patterns[] = {"/hello", "/installation", "/settings", "/intercom", "/jobs",
                                  "/ticks"};
    size_t n = 0;
    for (const sb_route *route = v10->desc.routes; route->method; route++, n++) {
        CHECK_STR(route->pattern, n < ARRAY_LEN(v10_patterns) ? v10_patterns[n] : "?");
        CHECK(route->arg == NULL); /* 1.0 had no arg: never read from the next element */
        CHECK(route->flags == (n == 0 ? SB_ROUTE_PUBLIC : 0));
    }
    CHECK_INT(n, ARRAY_LEN(v10_patterns));
    CHECK(v10->desc.routes == v10->route_table);
    const char *v10_settings[] = {"loud", "tick_every_s", "greeting", "mode", "channels",
                                  "api_token"};
    n = 0;
    for (const sb_setting *s = v10->desc.settings; s->name; s++, n++)
        CHECK_STR(s->name, n < ARRAY_LEN(v10_settings) ? v10_settings[n] : "?");
    CHECK_INT(n, ARRAY_LEN(v10_settings));
    CHECK_STR(v10->desc.schedules[0].interval_setting, "tick_every_s");
    CHECK(v10->desc.schedules[1].name == NULL);
    /* plugin_v19's elements are wider than the host's. */
    CHECK_STR(v19->desc.routes[0].pattern, "/probe");
    CHECK_STR(v19->desc.routes[1].pattern, "/echo/{what}");
    CHECK_INT(v19->desc.routes[1].flags, SB_ROUTE_PUBLIC);
    CHECK(v19->desc.routes[2].method == NULL);
    CHECK_STR(v19->desc.settings[1].name, "every_s");
    CHECK_INT(v19->desc.settings[1].max, 3600);
    CHECK(v19->desc.settings[3].name == NULL);
    CHECK_STR(v19->desc.schedules[1].name, "audit");
    CHECK_INT(v19->desc.schedules[1].interval_s, 86400);
    CHECK(v19->desc.schedules[2].name == NULL);
    CHECK(v19->desc.on_event == NULL && v19->desc.canvas == NULL);
    json_object *every = NULL;
    CHECK(json_object_object_get_ex(v19->defaults, "every_s", &every)
          && json_object_get_int(every) == 5);
    finish(&srv, reg, &r);
}

static void unreadable_file(void)
{
    if (geteuid() == 0) {
        printf("skipped: unreadable_file runs as root, who can read any file\n");
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/locked.so", dir);
    unit_write(path, "x");
    chmod(path, 0);
    char block[1024];
    snprintf(block, sizeof block, "  locked: { path = \"%s\"; };\n", path);
    struct server srv = {0};
    struct config_report r;
    struct plugin_registry *reg = load(&srv, block, &r);
    CHECK_CONTAINS(refusal(reg, "locked"), "cannot read the file: Permission denied");
    finish(&srv, reg, &r);
}

static void settings_errors_are_config_errors(void)
{
    struct server srv = {0};
    struct config_report r;
    struct plugin_registry *reg = load(&srv,
                                       "  testplug: {\n"
                                       "    settings: {\n"
                                       "      event_mode = \"sometimes\";\n"
                                       "      tick_interval_s = 0;\n"
                                       "      unknown_thing = 1;\n"
                                       "    };\n"
                                       "  };\n",
                                       &r);
    CHECK(reg != NULL);
    CHECK_INT(r.n_errors, 3);
    CHECK_CONTAINS(r.errors.data, "loader.conf:5: plugins.testplug.settings.event_mode: must be one of: ok, retry");
    CHECK_CONTAINS(r.errors.data, "loader.conf:6: plugins.testplug.settings.tick_interval_s: must be between 1 and 86400");
    CHECK_CONTAINS(r.errors.data, "loader.conf:7: plugins.testplug.settings.unknown_thing: unknown setting");
    /* Without Intercom credentials it still loads, with a warning. */
    CHECK_CONTAINS(r.warnings.data, "plugin 'testplug' has no client_id/client_secret");
    finish(&srv, reg, &r);
}

static void options_are_checked_and_passed(void)
{
    struct server srv = {0};
    struct config_report r;
    struct plugin_registry *reg =
        load(&srv, "  testplug: { options: { reject = true; }; };\n", &r);
    CHECK_CONTAINS(r.errors.data, "plugins.testplug.options: options.reject is set");
    finish(&srv, reg, &r);
    reg = load(&srv, "  testplug: { options: { fail_init = true; }; };\n", &r);
    CHECK_INT(reg->n, 0);
    CHECK_CONTAINS(refusal(reg, "testplug"), "init failed: asked to fail by options.fail_init");
    finish(&srv, reg, &r);
}

static void describe(void)
{
    struct server srv = {0};
    struct config_report r;
    struct plugin_registry *reg = load(&srv, "  testplug: { };\n", &r);
    json_object *d = plugin_describe(plugins_find(reg, "testplug"));
    const char *text = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
    CHECK_CONTAINS(text, "\"topics\":[\"conversation.user.created\",\"conversation.user.replied\"]");
    CHECK_CONTAINS(text, "\"path\":\"\\/api\\/testplug\\/docs\\/{collection}\"");
    CHECK_CONTAINS(text, "\"name\":\"tick\"");
    CHECK_CONTAINS(text, "\"configured\":false");
    json_object_put(d);
    finish(&srv, reg, &r);
}

int main(void)
{
    dir = unit_tempdir();
    RUN(corpus);
    RUN(arrays_of_other_minors);
    RUN(unreadable_file);
    RUN(settings_errors_are_config_errors);
    RUN(options_are_checked_and_passed);
    RUN(describe);
    host_cancel_timers(NULL);
    free(dir);
    UNIT_DONE();
}
