/*
 * embed_console.c - build tool: writes the web console's files (core/console/...)
 * as a C table for core/console_files.h: each file's path under the console
 * directory, its content type (from its extension), a strong ETag (the first
 * 128 bits of its SHA-256) and its bytes.
 * Usage: embed_console OUTPUT.c CONSOLE_DIR FILE...
 * A file whose extension has no known content type, or whose name needs
 * escaping in a URL, stops the build: the server would not know how to serve it.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *extension, *content_type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
    {".woff2", "font/woff2"},
};

static const char *content_type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof content_types / sizeof content_types[0]; i++)
        if (strcmp(dot, content_types[i].extension) == 0)
            return content_types[i].content_type;
    return NULL;
}

/* Served names are matched byte for byte against the raw request path: keep them plain. */
static int name_is_plain(const char *name)
{
    if (!*name || strstr(name, "..") || name[0] == '/')
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
              || *c == '.' || *c == '-' || *c == '_' || *c == '/'))
            return 0;
    return 1;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + n, 1, cap - n, in)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *bigger = realloc(data, cap *= 2);
            if (!bigger) {
                free(data);
                fclose(in);
                return NULL;
            }
            data = bigger;
        }
    }
    if (ferror(in)) {
        free(data);
        data = NULL;
    }
    fclose(in);
    *len = n;
    return data;
}

/* Writes one file's bytes as `console_file_<index>` and its row into rows; -1 on error. */
static int emit_file(FILE *out, FILE *rows, size_t index, const char *path, const char *name)
{
    const char *type = content_type_of(name);
    if (!type) {
        fprintf(stderr, "embed_console: %s: no content type is known for this extension; "
                        "add it to cmake/embed_console.c\n", path);
        return -1;
    }
    if (!name_is_plain(name)) {
        fprintf(stderr, "embed_console: %s: use only letters, digits, '.', '-', '_' and '/' "
                        "in console file names\n", path);
        return -1;
    }
    size_t len;
    unsigned char *data = read_all(path, &len);
    if (!data) {
        fprintf(stderr, "embed_console: cannot read %s\n", path);
        return -1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    if (!EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL)) {
        fprintf(stderr, "embed_console: cannot hash %s\n", path);
        free(data);
        return -1;
    }
    fprintf(out, "static const unsigned char console_file_%zu[] = {", index);
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%s0x%02x,", i % 16 ? " " : "\n   ", data[i]);
    fprintf(out, "%s};\n\n", len ? "\n" : " 0");
    free(data);
    fprintf(rows, "    {\"%s\", \"%s\", \"\\\"", name, type);
    for (unsigned i = 0; i < 16; i++)
        fprintf(rows, "%02x", digest[i]);
    fprintf(rows, "\\\"\", console_file_%zu, %zu},\n", index, len);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: embed_console OUTPUT.c CONSOLE_DIR FILE...\n");
        return 2;
    }
    const char *dir = argv[2];
    size_t dir_len = strlen(dir);
    FILE *out = fopen(argv[1], "w"), *rows = tmpfile();
    if (!out || !rows) {
        fprintf(stderr, "embed_console: cannot write %s\n", argv[1]);
        return 1;
    }
    fprintf(out, "/* Generated from %s by embed_console: do not edit. */\n"
                 "#include \"console_files.h\"\n\n", dir);
    int rc = 0;
    for (int i = 3; i < argc && rc == 0; i++) {
        const char *path = argv[i];
        if (strncmp(path, dir, dir_len) != 0 || path[dir_len] != '/') {
            fprintf(stderr, "embed_console: %s is not under %s\n", path, dir);
            rc = -1;
            break;
        }
        rc = emit_file(out, rows, (size_t)(i - 3), path, path + dir_len + 1);
    }
    fprintf(out, "const struct console_file console_files[] = {\n");
    rewind(rows);
    char row[4096];
    while (fgets(row, sizeof row, rows))
        fputs(row, out);
    if (argc == 3) /* C11 has no empty initializer */
        fprintf(out, "    {0},\n");
    fprintf(out, "};\n\nconst size_t console_files_count = %d;\n", argc - 3);
    fclose(rows);
    if (fclose(out) != 0)
        rc = -1;
    if (rc != 0)
        remove(argv[1]);
    return rc ? 1 : 0;
}
