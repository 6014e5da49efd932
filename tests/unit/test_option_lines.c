/*
 * Unit tests: option_lines.c (where each element of a plugin's options was
 * written, found by path or its nearest recorded parent) and the table
 * config.c builds from the options group, across an @included file.
 */
#include "config.h"
#include "option_lines.h"
#include "unit.h"

static char *dir;

static void finds_an_element_or_its_nearest_parent(void)
{
    struct option_lines *t = option_lines_new();
    option_lines_add(t, "", "main.conf", 10);
    option_lines_add(t, "flows", "main.conf", 11);
    option_lines_add(t, "flows[2]", "flows.conf", 3);
    option_lines_add(t, "flows[2].intents", "flows.conf", 4);
    option_lines_add(t, "flows[2].intents[0].match", "flows.conf", 6);
    const char *file = NULL;
    int line = 0;
    CHECK(option_lines_find(t, "flows[2].intents[0].match", &file, &line));
    CHECK_STR(file, "flows.conf");
    CHECK_INT(line, 6);
    /* An element that is not recorded: its nearest parent that is. */
    CHECK(option_lines_find(t, "flows[2].intents[9].match", &file, &line));
    CHECK_INT(line, 4);
    CHECK(option_lines_find(t, "flows[2].name", &file, &line));
    CHECK_INT(line, 3);
    CHECK(option_lines_find(t, "flows[7]", &file, &line));
    CHECK_STR(file, "main.conf");
    CHECK_INT(line, 11);
    /* Nothing on the path: the group itself. */
    CHECK(option_lines_find(t, "timeouts.read", &file, &line));
    CHECK_INT(line, 10);
    CHECK(option_lines_find(t, "", &file, &line));
    CHECK_INT(line, 10);
    /* A name that only starts like a recorded one is not its child. */
    CHECK(option_lines_find(t, "flowsx", &file, &line));
    CHECK_INT(line, 10);
    /* A path longer than sb_result.where could hold is cut, and still finds a parent. */
    char long_path[300];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    CHECK(option_lines_find(t, long_path, &file, &line));
    CHECK_INT(line, 10);
    option_lines_free(t);
}

static void without_the_group_nothing_is_found(void)
{
    struct option_lines *t = option_lines_new();
    option_lines_add(t, "a[0]", "x.conf", 2);
    const char *file = "unchanged";
    int line = -1;
    CHECK(!option_lines_find(t, "b", &file, &line));
    CHECK_STR(file, "unchanged");
    CHECK_INT(line, -1);
    CHECK(option_lines_find(t, "a[0].b[1]", &file, &line));
    CHECK_INT(line, 2);
    option_lines_free(t);
    CHECK(!option_lines_find(NULL, "a", &file, &line));
    option_lines_free(NULL);
}

static void config_records_options_across_an_include(void)
{
    char main_path[512], rules_path[512];
    snprintf(rules_path, sizeof rules_path, "%s/rules.conf", dir);
    unit_write(rules_path, "# rules, included into options\n"
                           "rules = (\n"
                           "  { name = \"first\"; },\n"
                           "  { name = \"\";\n"
                           "    tags = [\"a\", \"b\"]; }\n"
                           ");\n");
    snprintf(main_path, sizeof main_path, "%s/main.conf", dir);
    unit_write(main_path, "plugins: {\n"
                          "  demo: {\n"
                          "    options: {\n"
                          "      mode = \"strict\";\n"
                          "      @include \"rules.conf\"\n"
                          "      limits: { per_hour = 5; };\n"
                          "    };\n"
                          "  };\n"
                          "  plain: { };\n"
                          "};\n");
    struct config_report r;
    config_report_init(&r);
    struct config *cfg = config_load(main_path, &r);
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "%s", r.errors.data ? r.errors.data : "");
        config_report_free(&r);
        return;
    }
    const struct plugin_config *pc = config_plugin(cfg, "demo");
    const char *file = NULL;
    int line = 0;
    CHECK(option_lines_find(pc->option_lines, "", &file, &line));
    CHECK_STR(file, main_path);
    CHECK_INT(line, 3);
    CHECK(option_lines_find(pc->option_lines, "mode", &file, &line));
    CHECK_INT(line, 4);
    CHECK(option_lines_find(pc->option_lines, "rules[1].name", &file, &line));
    CHECK_STR(file, rules_path);
    CHECK_INT(line, 4);
    CHECK(option_lines_find(pc->option_lines, "rules[0]", &file, &line));
    CHECK_STR(file, rules_path);
    CHECK_INT(line, 3);
    CHECK(option_lines_find(pc->option_lines, "rules[1].tags", &file, &line));
    CHECK_INT(line, 5);
    /* libconfig gives scalars inside an array no line: their array's. */
    CHECK(option_lines_find(pc->option_lines, "rules[1].tags[1]", &file, &line));
    CHECK_INT(line, 5);
    /* Back in the main file after the include. */
    CHECK(option_lines_find(pc->option_lines, "limits.per_hour", &file, &line));
    CHECK_STR(file, main_path);
    CHECK_INT(line, 6);
    /* A plugin without options has no table. */
    CHECK(config_plugin(cfg, "plain")->option_lines == NULL);
    config_free(cfg);
    config_report_free(&r);
}

static void embedded_default_names_the_included_plugin_file(void)
{
    struct config_report r;
    config_report_init(&r);
    struct config *cfg = config_load(NULL, &r);
    CHECK(cfg != NULL);
    for (size_t i = 0; cfg && i < cfg->n_plugins; i++) {
        const struct plugin_config *pc = &cfg->plugins[i];
        const char *file = NULL;
        int line = 0;
        if (!option_lines_find(pc->option_lines, "", &file, &line))
            continue;
        /* Its options group sits in etc/plugins/<name>.conf, at a line that says "options". */
        char expected[128];
        snprintf(expected, sizeof expected, "plugins/%s.conf", pc->name);
        CHECK_CONTAINS(file, expected);
        char path[512];
        snprintf(path, sizeof path, "%s/etc/plugins/%s.conf", SOURCE_DIR, pc->name);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        char text[512] = "";
        for (int n = 0; f && n < line && fgets(text, sizeof text, f); n++)
            ;
        if (f)
            fclose(f);
        CHECK_CONTAINS(text, "options");
    }
    config_free(cfg);
    config_report_free(&r);
}

int main(void)
{
    dir = unit_tempdir();
    RUN(finds_an_element_or_its_nearest_parent);
    RUN(without_the_group_nothing_is_found);
    RUN(config_records_options_across_an_include);
    RUN(embedded_default_names_the_included_plugin_file);
    free(dir);
    UNIT_DONE();
}
