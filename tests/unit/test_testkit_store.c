/*
 * Conformance of the testing kit's document store: one scenario runs against
 * the kit's in-memory store and against the host's own services
 * (core/host.c over core/documents.c on a real SQLite file), and every
 * answer - return values, visited keys and values, audit entries - must be
 * the same. A few answers are also checked against what the header promises,
 * so the two cannot agree on something wrong.
 */
#include "host.h"
#include "plugins.h"
#include "server.h"
#include "store/store.h"
#include "unit.h"
#include "util.h"

#include <switchboard/testing.h>
#include <unistd.h>

struct target {
    const sb_host *host;
    sb_plugin *self;
    struct buf out; /* one line per answer */
};

static void say(struct target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct target *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = xvasprintf(fmt, ap);
    va_end(ap);
    buf_printf(&t->out, "%s\n", line);
    free(line);
}

static int visit(void *arg, const char *key, json_object *value)
{
    struct target *t = arg;
    say(t, "  %s = %s", key, json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
    return 0;
}

static int visit_two(void *arg, const char *key, json_object *value)
{
    static int seen;
    visit(arg, key, value);
    return ++seen % 2 == 0;
}

static void put(struct target *t, const char *collection, const char *key, const char *json)
{
    json_object *v = json ? json_tokener_parse(json) : NULL;
    say(t, "put %s/%s: %d", collection, key, t->host->doc_put(t->self, 0, collection, key, v));
    json_object_put(v);
}

static void get(struct target *t, const char *collection, const char *key)
{
    json_object *v = t->host->doc_get(t->self, 0, collection, key);
    say(t, "get %s/%s: %s", collection, key,
        v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "(absent)");
    json_object_put(v);
}

static void list(struct target *t, const char *from, const char *to, size_t limit, unsigned flags)
{
    say(t, "list [%s, %s) limit %zu flags %u:", from ? from : "-", to ? to : "-", limit, flags);
    int n = t->host->doc_list(t->self, 0, "c", from, to, limit, flags, visit, t);
    say(t, "  visited %d", n);
}

struct tx {
    struct target *t;
    int result;
    const char *key;
};

static int tx_writes(void *arg)
{
    struct tx *x = arg;
    json_object *v = json_object_new_string(x->key);
    x->t->host->doc_put(x->t->self, 0, "c", x->key, v);
    json_object_put(v);
    x->t->host->doc_delete(x->t->self, 0, "c", "b");
    x->t->host->audit(x->t->self, 0, "tx", "wrote", x->key);
    return x->result;
}

static int tx_nested(void *arg)
{
    struct tx *outer = arg;
    struct tx inner = {outer->t, 5, "inner"};
    say(outer->t, "inner transaction: %d",
        outer->t->host->transaction(outer->t->self, tx_writes, &inner));
    json_object *v = json_object_new_int(1);
    outer->t->host->doc_put(outer->t->self, 0, "c", "outer", v);
    json_object_put(v);
    return 0;
}

static void scenario(struct target *t)
{
    char long_key[1026];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    /* Byte order: '|' (0x7c) after letters, UTF-8 lead bytes after ASCII, prefixes first. */
    const char *keys[] = {"a|10", "a|2", "a", "ab", "a|1", "b", "Z", "\xc3\xa9t\xc3\xa9", "~",
                          "a\x01", "a b"};
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        char json[64];
        snprintf(json, sizeof json, "{\"i\":%zu,\"url\":\"http://x/y\",\"f\":1.5}", i);
        put(t, "c", keys[i], json);
    }
    put(t, "c", "a|2", "[1,\"two\",null,{\"n\":false}]"); /* replace */
    put(t, "other", "a", "\"other collection\"");
    put(t, "c", "", "1");                /* empty key */
    put(t, "c", long_key, "1");          /* 1025 bytes */
    long_key[1024] = '\0';
    put(t, "c", long_key, "\"1024 bytes\"");
    put(t, "", "k", "1");                /* empty collection */
    put(t, "c", "novalue", NULL);
    get(t, "c", "a|2");
    get(t, "c", "missing");
    get(t, "other", "a");
    list(t, NULL, NULL, 0, 0);
    list(t, NULL, NULL, 0, SB_DOC_REVERSE);
    list(t, "a|", "a}", 0, 0);
    list(t, "a|", "a}", 2, SB_DOC_REVERSE);
    list(t, "a", "a", 0, 0);
    list(t, "b", "a", 0, 0);
    list(t, NULL, "a|", 0, 0);
    list(t, "b", NULL, 3, 0);
    say(t, "stopping scan:");
    say(t, "  visited %d", t->host->doc_list(t->self, 0, "c", NULL, NULL, 0, 0, visit_two, t));
    say(t, "list without a callback: %d",
        t->host->doc_list(t->self, 0, "c", NULL, NULL, 0, 0, NULL, NULL));
    say(t, "delete a: %d", t->host->doc_delete(t->self, 0, "c", "a"));
    say(t, "delete a again: %d", t->host->doc_delete(t->self, 0, "c", "a"));
    say(t, "delete_range [a|, a}): %d",
        t->host->doc_delete_range(t->self, 0, "c", "a|", "a}"));
    say(t, "delete_range [~, -): %d", t->host->doc_delete_range(t->self, 0, "c", "~", NULL));
    list(t, NULL, NULL, 0, 0);

    struct tx keep = {t, 0, "kept"}, positive = {t, 7, "seven"}, negative = {t, -3, "minus"};
    say(t, "transaction 0: %d", t->host->transaction(t->self, tx_writes, &keep));
    put(t, "c", "b", "\"b again\"");
    say(t, "transaction 7: %d", t->host->transaction(t->self, tx_writes, &positive));
    say(t, "transaction -3: %d", t->host->transaction(t->self, tx_writes, &negative));
    say(t, "transaction without a function: %d", t->host->transaction(t->self, NULL, NULL));
    say(t, "nested: %d", t->host->transaction(t->self, tx_nested, &(struct tx){.t = t}));
    list(t, NULL, NULL, 0, 0);

    t->host->audit(t->self, 0, "s1", "first", "one");
    t->host->audit(t->self, 0, "s2", "second", NULL);
    t->host->audit(t->self, 0, NULL, "third", "three");
    say(t, "audit without an action: %d", t->host->audit(t->self, 0, "s", "", "x"));
    const char *subjects[] = {NULL, "s1", "tx"};
    for (size_t i = 0; i < ARRAY_LEN(subjects); i++) {
        json_object *entries = t->host->audit_list(t->self, 0, subjects[i], i == 0 ? 3 : 0);
        say(t, "audit_list %s:", subjects[i] ? subjects[i] : "all");
        for (size_t j = 0; j < json_object_array_length(entries); j++) {
            json_object *e = json_object_array_get_idx(entries, j), *v;
            struct buf line;
            buf_init(&line);
            const char *fields[] = {"subject", "action", "detail", "installation_id"};
            for (size_t f = 0; f < ARRAY_LEN(fields); f++) {
                json_object_object_get_ex(e, fields[f], &v);
                buf_printf(&line, " %s=%s", fields[f], v ? json_object_get_string(v) : "null");
            }
            say(t, " %s", line.data);
            buf_free(&line);
        }
        json_object_put(entries);
    }
}

/* ---- the two stores ---- */

static sb_status conf_init(sb_plugin *self, const sb_host *host, json_object *config,
                           void **state, sb_result *result)
{
    (void)self, (void)host, (void)config, (void)result;
    *state = NULL;
    return SB_OK;
}

static void conf_shutdown(void *state)
{
    (void)state;
}

static const sb_plugin_descriptor conf_descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "conf",
    .version = "1",
    .init = conf_init,
    .shutdown = conf_shutdown,
};

static void same_answers(void)
{
    char err[256];
    sbt_kit *kit = sbt_new(&conf_descriptor, err, sizeof err);
    CHECK(kit != NULL);
    if (!kit)
        return;
    CHECK_INT(sbt_start(kit, NULL), SB_OK);
    struct target fake = {.host = sbt_host(kit), .self = sbt_plugin(kit)};
    buf_init(&fake.out);
    scenario(&fake);

    char *dir = unit_tempdir(), path[512];
    snprintf(path, sizeof path, "%s/conformance.db", dir);
    struct server srv = {0};
    srv.store = store_open(path, err, sizeof err);
    CHECK(srv.store != NULL);
    struct sb_plugin plugin = {.magic = PLUGIN_MAGIC, .srv = &srv, .name = "conf"};
    struct target real = {.host = &host_services, .self = &plugin};
    buf_init(&real.out);
    if (srv.store)
        scenario(&real);

    /* Line by line, so a failure names the first answer that differs. */
    char *f = fake.out.data, *r = real.out.data;
    int line = 1;
    while (f && r && *f && *r) {
        char *fe = strchr(f, '\n'), *re = strchr(r, '\n');
        *fe = *re = '\0';
        if (strcmp(f, r) != 0)
            fprintf(stderr, "line %d differs:\n  kit:  %s\n  host: %s\n", line, f, r);
        CHECK_STR(f, r);
        *fe = *re = '\n';
        f = fe + 1;
        r = re + 1;
        line++;
    }
    CHECK_INT(fake.out.len, real.out.len);
    /* What the header promises, so both cannot agree on something wrong. */
    CHECK_CONTAINS(real.out.data, "list [a|, a}) limit 2 flags 1:\n  a|2 = [1,\"two\",null,{\"n\":false}]\n"
                                  "  a|10 = ");
    CHECK_CONTAINS(real.out.data, "put c/: -1\n");
    CHECK_CONTAINS(real.out.data, "transaction 7: 7\n");
    CHECK_CONTAINS(real.out.data, "transaction -3: -1\n");
    CHECK_CONTAINS(real.out.data, "inner transaction: 5\nnested: 0\n");
    CHECK_CONTAINS(real.out.data, "delete a again: 0\n");

    buf_free(&fake.out);
    buf_free(&real.out);
    if (srv.store)
        store_close(srv.store);
    sbt_free(kit);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
    free(dir);
}

int main(void)
{
    RUN(same_answers);
    UNIT_DONE();
}
