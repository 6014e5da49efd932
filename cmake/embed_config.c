/*
 * embed_config.c - build tool: writes etc/switchboard.conf as a C array,
 * with each `@include "file"` line replaced by that file, so the embedded
 * default configuration is self-contained; and a table of where each run of
 * lines came from, so messages about the embedded default name the real file
 * and line.
 * Usage: embed_config MAIN.conf OUTPUT.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct output {
    FILE *text;          /* the array of bytes */
    FILE *sources;       /* the table, written after it */
    unsigned long bytes;
    unsigned line;       /* line of the embedded text the next byte belongs to */
};

/* From output line `line` on, lines come from `name` (NULL: the main file) at `file_line`. */
static void mark_source(struct output *out, const char *name, unsigned file_line)
{
    if (name)
        fprintf(out->sources, "    {%u, \"%s\", %u},\n", out->line, name, file_line);
    else
        fprintf(out->sources, "    {%u, NULL, %u},\n", out->line, file_line);
}

static int emit_file(struct output *out, const char *path, const char *name, const char *dir,
                     int depth)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "embed_config: cannot read %s\n", path);
        return -1;
    }
    char line[4096];
    unsigned file_line = 0;
    mark_source(out, name, 1);
    while (fgets(line, sizeof line, in)) {
        file_line++;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "@include", 8) == 0 && depth < 8) {
            const char *q1 = strchr(p, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
            if (!q1 || !q2) {
                fprintf(stderr, "embed_config: malformed @include in %s\n", path);
                fclose(in);
                return -1;
            }
            char inc_name[1024], inc[2048];
            snprintf(inc_name, sizeof inc_name, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
            snprintf(inc, sizeof inc, "%s/%s", dir, inc_name);
            if (emit_file(out, inc, inc_name, dir, depth + 1) != 0) {
                fclose(in);
                return -1;
            }
            mark_source(out, name, file_line + 1);
            continue;
        }
        for (const unsigned char *c = (const unsigned char *)line; *c; c++, out->bytes++) {
            fprintf(out->text, "%s0x%02x,", out->bytes % 16 ? " " : "\n   ", *c);
            if (*c == '\n')
                out->line++;
        }
    }
    fclose(in);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: embed_config MAIN.conf OUTPUT.c\n");
        return 2;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    struct output out = {.text = fopen(argv[2], "w"), .sources = tmpfile(), .line = 1};
    if (!out.text || !out.sources) {
        fprintf(stderr, "embed_config: cannot write %s\n", argv[2]);
        return 1;
    }
    fprintf(out.text, "/* Generated from %s by embed_config: do not edit. */\n"
                      "#include \"config.h\"\n\n"
                      "const char default_config_text[] = {",
            argv[1]);
    int rc = emit_file(&out, argv[1], NULL, dir, 0);
    fprintf(out.text, "\n    0x00\n};\n\nconst struct embedded_source default_config_sources[] = {\n");
    rewind(out.sources);
    char row[2048];
    while (fgets(row, sizeof row, out.sources))
        fputs(row, out.text);
    fprintf(out.text, "    {0, NULL, 0},\n};\n");
    fclose(out.sources);
    fclose(out.text);
    return rc ? 1 : 0;
}
