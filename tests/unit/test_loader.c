/*
 * Unit tests: the loader against the bad-plugin corpus (tests/plugins). Each
 * bad plugin is refused with a reason that says what is wrong; the good ones
 * load beside them.
 */
#include "host.h"
#include "plugins.h"
#include "server.h"
#include "unit.h"

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
    return plugins_load(srv, true, r);
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
    CHECK_INT(reg->n, 2);
    CHECK(plugins_find(reg, "testplug") != NULL);
    CHECK(plugins_find(reg, "testplug")->running);
    struct sb_plugin *old = plugins_find(reg, "old_minor");
    CHECK(old != NULL);
    if (old) /* members beyond its struct_size are zero, whatever the plugin's memory held */
        CHECK(old->desc.canvas == NULL && old->desc.on_event == NULL);
    CHECK_CONTAINS(refusal(reg, "bad_major"), "built for SDK ABI 2.0; this host runs ABI 1.0");
    CHECK_CONTAINS(refusal(reg, "bad_minor"), "newer than this host's 1.0");
    CHECK_CONTAINS(refusal(reg, "bad_oversize"), "larger than the");
    CHECK_CONTAINS(refusal(reg, "bad_noentry"), "no entry point switchboard_plugin_entry");
    CHECK_CONTAINS(refusal(reg, "bad_nullcb"), "required callback shutdown is NULL");
    CHECK_CONTAINS(refusal(reg, "bad_initfail"), "init failed: cannot reach the vendor's licence server");
    CHECK_CONTAINS(refusal(reg, "missing"), "cannot read the file: No such file or directory");
    CHECK_CONTAINS(refusal(reg, "garbage"), "dlopen failed");
    CHECK_CONTAINS(refusal(reg, "folder"), "dlopen failed");
    CHECK_CONTAINS(refusal(reg, "renamed"), "descriptor name 'testplug' does not match");
    CHECK(refusal(reg, "disabled") == NULL);
    CHECK_INT(reg->n_refused, 10);
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
    RUN(unreadable_file);
    RUN(settings_errors_are_config_errors);
    RUN(options_are_checked_and_passed);
    RUN(describe);
    host_cancel_timers(NULL);
    free(dir);
    UNIT_DONE();
}
