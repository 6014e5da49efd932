/*
 * embed_config.c - build tool: writes etc/switchboard.conf as a C array,
 * with each `@include "file"` line replaced by that file, so the embedded
 * default configuration is self-contained.
 * Usage: embed_config MAIN.conf OUTPUT.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int emit_file(FILE *out, const char *path, const char *dir, unsigned long *count, int depth)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "embed_config: cannot read %s\n", path);
        return -1;
    }
    char line[4096];
    while (fgets(line, sizeof line, in)) {
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
            char inc[1024];
            snprintf(inc, sizeof inc, "%s/%.*s", dir, (int)(q2 - q1 - 1), q1 + 1);
            if (emit_file(out, inc, dir, count, depth + 1) != 0) {
                fclose(in);
                return -1;
            }
            continue;
        }
        for (const unsigned char *c = (const unsigned char *)line; *c; c++, (*count)++)
            fprintf(out, "%s0x%02x,", *count % 16 ? " " : "\n   ", *c);
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
    FILE *out = fopen(argv[2], "w");
    if (!out) {
        fprintf(stderr, "embed_config: cannot write %s\n", argv[2]);
        return 1;
    }
    fprintf(out, "/* Generated from %s by embed_config: do not edit. */\n"
                 "const char default_config_text[] = {",
            argv[1]);
    unsigned long count = 0;
    int rc = emit_file(out, argv[1], dir, &count, 0);
    fprintf(out, "\n    0x00\n};\n");
    fclose(out);
    return rc ? 1 : 0;
}
