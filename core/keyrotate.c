/* keyrotate.c - key rotation and its recovery after a crash: see keyrotate.h. */
#include "keyrotate.h"

#include "installations.h"
#include "log.h"
#include "store/store.h"
#include "store/store_keys.h"
#include "store/store_nodes.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One stored token as sealed, with the additional data it was sealed with. */
struct sealed_token {
    int64_t id;
    char *aad;
    unsigned char *blob;
    size_t len;
};

struct sealed_tokens {
    struct sealed_token *items;
    size_t n, cap;
};

static void test_pause_at(const char *step)
{
#ifdef SWITCHBOARD_TEST_HOOKS
    const char *want = getenv("SWITCHBOARD_TEST_PAUSE_AT");
    if (want && strcmp(want, step) == 0) {
        fprintf(stderr, "switchboard: test hook: stopped at %s\n", step);
        raise(SIGSTOP); /* the test kills the process here */
    }
#else
    (void)step;
#endif
}

static void tokens_free(struct sealed_tokens *all)
{
    for (size_t i = 0; i < all->n; i++) {
        free(all->items[i].aad);
        OPENSSL_cleanse(all->items[i].blob, all->items[i].len);
        free(all->items[i].blob);
    }
    free(all->items);
    memset(all, 0, sizeof *all);
}

static int add_token(void *arg, const struct store_sealed_token *stored)
{
    struct sealed_tokens *all = arg;
    if (all->n == all->cap) {
        all->cap = all->cap ? 2 * all->cap : 16;
        all->items = xrealloc(all->items, all->cap * sizeof *all->items);
    }
    struct sealed_token *t = &all->items[all->n++];
    t->id = stored->id;
    t->aad = installation_token_aad(stored->plugin ? stored->plugin : "",
                                    stored->workspace_id ? stored->workspace_id : "");
    t->len = stored->len;
    t->blob = xmalloc(t->len ? t->len : 1);
    if (t->len)
        memcpy(t->blob, stored->sealed, t->len);
    return 0;
}

static int tokens_load(struct store *st, struct sealed_tokens *all, char *err, size_t errlen)
{
    if (store_keys_each_sealed_token(st, add_token, all) != 0) {
        snprintf(err, errlen, "cannot read the installations' tokens: %s", store_last_error(st));
        tokens_free(all);
        return -1;
    }
    return 0;
}

static bool token_opens(const struct sealed_token *t, const unsigned char key[SEAL_KEY_BYTES])
{
    if (t->len < SEAL_OVERHEAD)
        return false;
    size_t cap = t->len - SEAL_OVERHEAD + 1;
    unsigned char *plain = xmalloc(cap);
    long n = unseal(key, t->aad, strlen(t->aad), t->blob, t->len, plain);
    OPENSSL_cleanse(plain, cap);
    free(plain);
    return n >= 0;
}

/* fsync the folder holding path, so that a create, rename or unlink in it is durable. */
static int fsync_folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = !slash ? xstrdup(".") : slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    free(dir);
    errno = saved;
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Write key to a new file (0600 before any byte lands), then make file and name durable. */
static int write_key_file(const char *path, const unsigned char key[SEAL_KEY_BYTES], char *err,
                          size_t errlen)
{
    char hex[2 * SEAL_KEY_BYTES + 2];
    hex_encode(key, SEAL_KEY_BYTES, hex);
    hex[2 * SEAL_KEY_BYTES] = '\n';
    size_t len = 2 * SEAL_KEY_BYTES + 1, half = len / 2;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        OPENSSL_cleanse(hex, sizeof hex);
        return -1;
    }
    bool ok = write_all(fd, hex, half) == 0;
    if (ok)
        test_pause_at("key-writing");
    ok = ok && write_all(fd, hex + half, len - half) == 0 && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    OPENSSL_cleanse(hex, sizeof hex);
    if (ok && fsync_folder_of(path) != 0) {
        saved = errno;
        ok = false;
    }
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        unlink(path);
        return -1;
    }
    return 0;
}

int keyrotate_read_key(const char *path, unsigned char key[SEAL_KEY_BYTES], char *err,
                       size_t errlen)
{
    size_t len = 0;
    char *text = file_read_all(path, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    text[strcspn(text, "\r\n")] = '\0';
    bool ok = strlen(text) == 2 * SEAL_KEY_BYTES && hex_decode(text, key, SEAL_KEY_BYTES);
    OPENSSL_cleanse(text, len);
    free(text);
    if (!ok)
        snprintf(err, errlen, "%s must hold %d hex characters", path, 2 * SEAL_KEY_BYTES);
    return ok ? 0 : -1;
}

static int remove_new_key(const char *new_path, char *err, size_t errlen)
{
    if (unlink(new_path) != 0 || fsync_folder_of(new_path) != 0) {
        snprintf(err, errlen, "cannot remove %s: %s", new_path, strerror(errno));
        return -1;
    }
    return 0;
}

int keyrotate_recover(struct store *st, const char *key_file, unsigned char key[SEAL_KEY_BYTES],
                      char *err, size_t errlen)
{
    char *new_path = xasprintf("%s.new", key_file);
    unsigned char new_key[SEAL_KEY_BYTES];
    struct sealed_tokens tokens = {0};
    int rc = -1;
    struct stat sb;
    if (stat(new_path, &sb) != 0) {
        if (errno == ENOENT)
            rc = 0; /* no rotation was under way */
        else
            snprintf(err, errlen, "cannot look for %s: %s", new_path, strerror(errno));
        goto out;
    }
    char why[512];
    if (keyrotate_read_key(new_path, new_key, why, sizeof why) != 0) {
        /* Re-sealing starts only once the new key is whole and synced: a torn one was never used. */
        log_warn("keyrotate", "discarding an unfinished key rotation (%s); the tokens stay under %s",
                 why, key_file);
        rc = remove_new_key(new_path, err, errlen);
        goto out;
    }
    if (tokens_load(st, &tokens, err, errlen) != 0)
        goto out;
    size_t by_current = 0, by_new = 0, by_neither = 0;
    for (size_t i = 0; i < tokens.n; i++) {
        if (token_opens(&tokens.items[i], key))
            by_current++;
        else if (token_opens(&tokens.items[i], new_key))
            by_new++;
        else
            by_neither++;
    }
    if (by_neither)
        log_warn("keyrotate", "%zu token%s open with neither %s nor %s", by_neither,
                 by_neither == 1 ? "" : "s", key_file, new_path);
    if (by_current && by_new) {
        /* One transaction re-seals them all: a mix means something else wrote here. */
        snprintf(err, errlen,
                 "an interrupted key rotation left %zu tokens under %s and %zu under %s; "
                 "keep both files and restore the database from a backup",
                 by_current, key_file, by_new, new_path);
        goto out;
    }
    if (by_new) {
        if (rename(new_path, key_file) != 0 || fsync_folder_of(key_file) != 0) {
            snprintf(err, errlen, "cannot install %s as %s: %s", new_path, key_file,
                     strerror(errno));
            goto out;
        }
        memcpy(key, new_key, SEAL_KEY_BYTES);
        log_warn("keyrotate", "finished an interrupted key rotation: %s now holds the new key "
                              "(%zu tokens open with it)", key_file, by_new);
    } else {
        if (remove_new_key(new_path, err, errlen) != 0)
            goto out;
        log_warn("keyrotate", "undid an interrupted key rotation: %s kept (%zu tokens open with it)",
                 key_file, by_current);
    }
    rc = 0;
out:
    tokens_free(&tokens);
    OPENSSL_cleanse(new_key, sizeof new_key);
    free(new_path);
    return rc;
}

int keyrotate_check_key(struct store *st, const char *key_file,
                        const unsigned char key[SEAL_KEY_BYTES], char *err, size_t errlen)
{
    struct sealed_tokens tokens = {0};
    if (tokens_load(st, &tokens, err, errlen) != 0)
        return -1;
    size_t opened = 0;
    for (size_t i = 0; i < tokens.n; i++)
        opened += token_opens(&tokens.items[i], key);
    size_t total = tokens.n;
    tokens_free(&tokens);
    if (total && !opened) {
        snprintf(err, errlen,
                 "the key in %s opens none of the %zu stored tokens: it is not the key that "
                 "sealed them (was the key file lost and made anew, or replaced?). Restore that "
                 "key file; nothing was changed",
                 key_file, total);
        return -1;
    }
    if (opened < total)
        log_error("keyrotate", "%zu of %zu stored tokens do not open with %s; those "
                               "installations need to be installed again",
                  total - opened, total, key_file);
    return 0;
}

static int reseal(struct store *st, const struct sealed_token *t,
                  const unsigned char old_key[SEAL_KEY_BYTES],
                  const unsigned char new_key[SEAL_KEY_BYTES], char *err, size_t errlen)
{
    size_t cap = t->len - SEAL_OVERHEAD + 1;
    unsigned char *plain = xmalloc(cap), *sealed = xmalloc(t->len);
    int rc = -1;
    long n = unseal(old_key, t->aad, strlen(t->aad), t->blob, t->len, plain);
    if (n < 0 || seal(new_key, t->aad, strlen(t->aad), plain, (size_t)n, sealed) != 0) {
        snprintf(err, errlen, "cannot re-seal the token of installation %lld", (long long)t->id);
        goto out;
    }
    if (store_keys_replace_sealed_token(st, t->id, sealed, t->len) != 0) {
        snprintf(err, errlen, "cannot update installation %lld: %s", (long long)t->id,
                 store_last_error(st));
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(plain, cap);
    OPENSSL_cleanse(sealed, t->len);
    free(plain);
    free(sealed);
    return rc;
}

int keyrotate_run(const struct config *cfg, FILE *out)
{
    char err[512] = "";
    unsigned char old_key[SEAL_KEY_BYTES], new_key[SEAL_KEY_BYTES];
    struct sealed_tokens tokens = {0};
    struct store *st = NULL;
    char *new_path = xasprintf("%s.new", cfg->key_file);
    bool remove_new = false; /* the new key file exists and no token needs it yet */
    int rc = 1;
    struct store_options storage;
    config_store_options(cfg, &storage);
    /* SQLite would create a missing file empty; PostgreSQL's database is its server's. */
    bool sqlite = !storage.driver || strcmp(storage.driver, "sqlite") == 0;
    struct stat sb;
    if (sqlite && stat(cfg->db_path, &sb) != 0) {
        snprintf(err, sizeof err, "no database at %s (%s): nothing to rotate", cfg->db_path,
                 strerror(errno));
        goto out;
    }
    /* First the database's lock: from here on no server reads or writes the key or the tokens. */
    st = store_open_with(&storage, err, sizeof err);
    if (!st)
        goto out;
    /* A shared database has no file lock: the nodes' heartbeats say who still runs. */
    int running = store_shared(st)
                      ? store_nodes_alive(st, time_now_ms(), (int64_t)cfg->storage_lease_s * 1000)
                      : 0;
    if (running < 0) {
        snprintf(err, sizeof err, "cannot read the database's nodes");
        goto out;
    }
    if (running > 0) {
        snprintf(err, sizeof err,
                 "%d switchboard node%s running on this database (GET /admin/cluster); stop "
                 "every node before rotating the key",
                 running, running == 1 ? " is" : "s are");
        goto out;
    }
    if (keyrotate_read_key(cfg->key_file, old_key, err, sizeof err) != 0
        || keyrotate_recover(st, cfg->key_file, old_key, err, sizeof err) != 0
        || tokens_load(st, &tokens, err, sizeof err) != 0)
        goto out;
    size_t unopened = 0;
    int64_t first_unopened = 0;
    for (size_t i = 0; i < tokens.n; i++) {
        if (!token_opens(&tokens.items[i], old_key) && !unopened++)
            first_unopened = tokens.items[i].id;
    }
    if (unopened) {
        snprintf(err, sizeof err,
                 "not every token opens with %s (%zu do not, installation %lld first); nothing "
                 "changed. Revoke and reinstall those installations, or restore the key that "
                 "sealed them",
                 cfg->key_file, unopened, (long long)first_unopened);
        goto out;
    }
    if (crypto_random(new_key, sizeof new_key) != 0) {
        snprintf(err, sizeof err, "no randomness available");
        goto out;
    }
    if (write_key_file(new_path, new_key, err, sizeof err) != 0)
        goto out;
    remove_new = true;
    test_pause_at("key-written");
    /* secure_delete zeroes freed cells, so no old sealed value stays behind in a page. */
    if (store_keys_zero_deleted_content(st) != 0 || store_begin(st) != 0) {
        snprintf(err, sizeof err, "cannot start the re-sealing transaction");
        goto out;
    }
    for (size_t i = 0; i < tokens.n; i++) {
        if (reseal(st, &tokens.items[i], old_key, new_key, err, sizeof err) != 0) {
            store_rollback(st);
            goto out;
        }
    }
    test_pause_at("before-commit");
    /*
     * From here the new key stays, even if the commit reports a failure: an
     * I/O error may come after the commit reached the disk, and only the
     * tokens can tell (the next start, or rotation, reads them and decides).
     */
    remove_new = false;
    if (store_commit(st) != 0) {
        snprintf(err, sizeof err,
                 "cannot commit the re-sealed tokens (%s); %s is kept and the next start "
                 "settles which key the tokens are under",
                 store_last_error(st), new_path);
        goto out;
    }
    test_pause_at("committed");
    if (rename(new_path, cfg->key_file) != 0) {
        snprintf(err, sizeof err,
                 "the tokens are re-sealed but %s cannot replace %s (%s); the next start "
                 "installs it",
                 new_path, cfg->key_file, strerror(errno));
        goto out;
    }
    test_pause_at("renamed");
    if (fsync_folder_of(cfg->key_file) != 0) {
        snprintf(err, sizeof err, "cannot sync the folder of %s: %s", cfg->key_file,
                 strerror(errno));
        goto out;
    }
    /* Copy the re-sealed pages into the database and empty the log of the old sealed copies. */
    if (store_keys_flush_log(st) != 0)
        log_warn("keyrotate", "WAL checkpoint failed (%s): old sealed copies stay in the log "
                              "until the next one", store_last_error(st));
    fprintf(out, "re-sealed %zu token%s under a new key; %s replaced\n", tokens.n,
            tokens.n == 1 ? "" : "s", cfg->key_file);
    rc = 0;
out:
    if (rc && err[0])
        fprintf(stderr, "switchboard: --rotate-key: %s\n", err);
    if (remove_new && unlink(new_path) == 0)
        fsync_folder_of(new_path);
    tokens_free(&tokens);
    store_close(st);
    OPENSSL_cleanse(old_key, sizeof old_key);
    OPENSSL_cleanse(new_key, sizeof new_key);
    free(new_path);
    return rc;
}
