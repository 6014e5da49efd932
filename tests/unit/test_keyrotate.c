/*
 * Unit tests: keyrotate.c on a real database - the rotation, its refusals,
 * and recovery from each state a crash can leave behind.
 */
#include "config.h"
#include "crypto.h"
#include "installations.h"
#include "keyrotate.h"
#include "store/store_sql.h"
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#define N_TOKENS 3

static const char *const tokens[N_TOKENS] = {"tok-alpha-0123456789", "tok-beta", "tok-gamma-xyz"};
static const char *const workspaces[N_TOKENS] = {"ws-a", "ws-b", "ws-c"};

struct fixture {
    char *dir;
    char db_path[512], key_file[512], new_key_file[600];
    unsigned char key[SEAL_KEY_BYTES]; /* the key the tokens were sealed with */
};

static void write_key(const char *path, const unsigned char key[SEAL_KEY_BYTES])
{
    char hex[2 * SEAL_KEY_BYTES + 2];
    hex_encode(key, SEAL_KEY_BYTES, hex);
    strcat(hex, "\n");
    unit_write(path, hex);
    chmod(path, 0600);
}

static void seal_into(struct store *st, int64_t id, const char *workspace, const char *token,
                      const unsigned char key[SEAL_KEY_BYTES])
{
    char *aad = installation_token_aad("testplug", workspace);
    size_t len = strlen(token);
    unsigned char sealed[256];
    CHECK_INT(seal(key, aad, strlen(aad), token, len, sealed), 0);
    struct store_query *q = store_query(st, "UPDATE installations SET token = ?2 WHERE id = ?1");
    store_bind_int64(q, 1, id);
    store_bind_blob_ref(q, 2, sealed, len + SEAL_OVERHEAD);
    CHECK_INT(store_step_done(st, q), 0);
    free(aad);
}

/* Three active installations with sealed tokens and a revoked one without, key in its file. */
static void fixture_init(struct fixture *f)
{
    f->dir = unit_tempdir();
    snprintf(f->db_path, sizeof f->db_path, "%s/data/switchboard.db", f->dir);
    snprintf(f->key_file, sizeof f->key_file, "%s/data/secret.key", f->dir);
    snprintf(f->new_key_file, sizeof f->new_key_file, "%s.new", f->key_file);
    char err[256];
    struct store *st = store_open(f->db_path, err, sizeof err);
    CHECK(st != NULL);
    crypto_random(f->key, sizeof f->key);
    write_key(f->key_file, f->key);
    for (int i = 0; i < N_TOKENS + 1; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "INSERT INTO installations (id, plugin, workspace_id, state, installed_at,"
                 " updated_at) VALUES (%d, 'testplug', '%s', '%s', 1, 1)",
                 i + 1, i < N_TOKENS ? workspaces[i] : "ws-revoked",
                 i < N_TOKENS ? "active" : "revoked");
        CHECK_INT(store_exec(st, sql), 0);
        if (i < N_TOKENS)
            seal_into(st, i + 1, workspaces[i], tokens[i], f->key);
    }
    store_close(st);
}

static void fixture_free(struct fixture *f)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    CHECK_INT(system(cmd), 0);
    free(f->dir);
}

/* The token of installation id opened with key, or NULL (caller frees). */
static char *open_token(struct store *st, int64_t id, const unsigned char key[SEAL_KEY_BYTES])
{
    struct store_query *q =
        store_query(st, "SELECT workspace_id, token FROM installations WHERE id = ?");
    store_bind_int64(q, 1, id);
    char *plain = NULL;
    if (store_step_row(st, q) == 1 && !store_col_null(q, 1)) {
        char *aad = installation_token_aad("testplug", store_col_text(q, 0));
        int len = store_col_bytes(q, 1);
        plain = calloc(1, (size_t)len + 1);
        long n = unseal(key, aad, strlen(aad), store_col_blob(q, 1), (size_t)len,
                        (unsigned char *)plain);
        free(aad);
        if (n < 0) {
            free(plain);
            plain = NULL;
        }
    }
    store_reset(q);
    return plain;
}

/* How many of the fixture's tokens open with key, each to its own plaintext. */
static int tokens_opening_with(struct fixture *f, const unsigned char key[SEAL_KEY_BYTES])
{
    char err[256];
    struct store *st = store_open(f->db_path, err, sizeof err);
    if (!st)
        return -1;
    int opened = 0;
    for (int i = 0; i < N_TOKENS; i++) {
        char *plain = open_token(st, i + 1, key);
        if (plain && strcmp(plain, tokens[i]) == 0)
            opened++;
        free(plain);
    }
    store_close(st);
    return opened;
}

static int run_rotation(struct fixture *f, char **output)
{
    struct config cfg = {.db_path = f->db_path, .key_file = f->key_file};
    size_t len;
    FILE *out = open_memstream(output, &len);
    int rc = keyrotate_run(&cfg, out);
    fclose(out);
    return rc;
}

static void rotation_reseals_every_token(void)
{
    struct fixture f;
    fixture_init(&f);
    CHECK_INT(tokens_opening_with(&f, f.key), N_TOKENS);
    char *output = NULL;
    CHECK_INT(run_rotation(&f, &output), 0);
    CHECK_CONTAINS(output, "re-sealed 3 tokens under a new key");
    free(output);

    unsigned char new_key[SEAL_KEY_BYTES];
    char err[256];
    CHECK_INT(keyrotate_read_key(f.key_file, new_key, err, sizeof err), 0);
    CHECK(memcmp(new_key, f.key, SEAL_KEY_BYTES) != 0);
    CHECK_INT(tokens_opening_with(&f, new_key), N_TOKENS);
    CHECK_INT(tokens_opening_with(&f, f.key), 0); /* the old key opens nothing any more */
    CHECK(access(f.new_key_file, F_OK) != 0);
    struct stat sb;
    CHECK_INT(stat(f.key_file, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0600);

    /* The revoked installation still has no token, and a second rotation works too. */
    struct store *st = store_open(f.db_path, err, sizeof err);
    struct store_query *q =
        store_query(st, "SELECT count(*) FROM installations WHERE token IS NULL");
    CHECK(store_step_row(st, q) == 1);
    CHECK_INT(store_col_int(q, 0), 1);
    store_reset(q);
    store_close(st);
    CHECK_INT(run_rotation(&f, &output), 0);
    free(output);
    unsigned char third_key[SEAL_KEY_BYTES];
    CHECK_INT(keyrotate_read_key(f.key_file, third_key, err, sizeof err), 0);
    CHECK_INT(tokens_opening_with(&f, third_key), N_TOKENS);
    CHECK_INT(tokens_opening_with(&f, new_key), 0);
    fixture_free(&f);
}

static void rotation_refused_while_database_open(void)
{
    struct fixture f;
    fixture_init(&f);
    char err[256];
    struct store *running = store_open(f.db_path, err, sizeof err); /* as a server holds it */
    CHECK(running != NULL);
    char *output = NULL;
    CHECK_INT(run_rotation(&f, &output), 1);
    CHECK_STR(output, "");
    free(output);
    store_close(running);
    CHECK_INT(tokens_opening_with(&f, f.key), N_TOKENS);
    CHECK(access(f.new_key_file, F_OK) != 0);
    /* The same lock keeps a second server off the database. */
    running = store_open(f.db_path, err, sizeof err);
    CHECK(store_open(f.db_path, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "in use by another switchboard process");
    store_close(running);
    fixture_free(&f);
}

static void rotation_refused_when_a_token_does_not_open(void)
{
    struct fixture f;
    fixture_init(&f);
    unsigned char stranger[SEAL_KEY_BYTES];
    crypto_random(stranger, sizeof stranger);
    char err[256];
    struct store *st = store_open(f.db_path, err, sizeof err);
    seal_into(st, 2, workspaces[1], tokens[1], stranger);
    store_close(st);
    char *output = NULL;
    CHECK_INT(run_rotation(&f, &output), 1);
    free(output);
    unsigned char key_after[SEAL_KEY_BYTES];
    CHECK_INT(keyrotate_read_key(f.key_file, key_after, err, sizeof err), 0);
    CHECK(memcmp(key_after, f.key, SEAL_KEY_BYTES) == 0); /* nothing changed */
    CHECK_INT(tokens_opening_with(&f, f.key), N_TOKENS - 1);
    CHECK(access(f.new_key_file, F_OK) != 0);
    fixture_free(&f);
}

/* Recover with the fixture's key loaded, as a server start does; returns what recover did. */
static int recover(struct fixture *f, unsigned char key[SEAL_KEY_BYTES], char *err, size_t errlen)
{
    struct store *st = store_open(f->db_path, err, errlen);
    if (!st)
        return -2;
    memcpy(key, f->key, SEAL_KEY_BYTES);
    int rc = keyrotate_recover(st, f->key_file, key, err, errlen);
    store_close(st);
    return rc;
}

/* Killed after the new key was written, before the commit: the rotation is undone. */
static void recovery_undoes_an_uncommitted_rotation(void)
{
    struct fixture f;
    fixture_init(&f);
    unsigned char new_key[SEAL_KEY_BYTES], key[SEAL_KEY_BYTES];
    crypto_random(new_key, sizeof new_key);
    write_key(f.new_key_file, new_key);
    char err[256];
    CHECK_INT(recover(&f, key, err, sizeof err), 0);
    CHECK(memcmp(key, f.key, SEAL_KEY_BYTES) == 0);
    CHECK(access(f.new_key_file, F_OK) != 0);
    unsigned char on_disk[SEAL_KEY_BYTES];
    CHECK_INT(keyrotate_read_key(f.key_file, on_disk, err, sizeof err), 0);
    CHECK(memcmp(on_disk, f.key, SEAL_KEY_BYTES) == 0);
    CHECK_INT(tokens_opening_with(&f, f.key), N_TOKENS);
    fixture_free(&f);
}

/* Killed half-way through writing the new key: it was never used, and goes. */
static void recovery_discards_a_torn_new_key(void)
{
    struct fixture f;
    fixture_init(&f);
    unit_write(f.new_key_file, "0123456789abcdef0123");
    unsigned char key[SEAL_KEY_BYTES];
    char err[256];
    CHECK_INT(recover(&f, key, err, sizeof err), 0);
    CHECK(memcmp(key, f.key, SEAL_KEY_BYTES) == 0);
    CHECK(access(f.new_key_file, F_OK) != 0);
    CHECK_INT(tokens_opening_with(&f, f.key), N_TOKENS);
    fixture_free(&f);
}

/* Killed after the commit, before the rename: the new key is installed. */
static void recovery_finishes_a_committed_rotation(void)
{
    struct fixture f;
    fixture_init(&f);
    unsigned char new_key[SEAL_KEY_BYTES], key[SEAL_KEY_BYTES];
    crypto_random(new_key, sizeof new_key);
    write_key(f.new_key_file, new_key);
    char err[256];
    struct store *st = store_open(f.db_path, err, sizeof err);
    for (int i = 0; i < N_TOKENS; i++)
        seal_into(st, i + 1, workspaces[i], tokens[i], new_key);
    store_close(st);
    CHECK_INT(recover(&f, key, err, sizeof err), 0);
    CHECK(memcmp(key, new_key, SEAL_KEY_BYTES) == 0);
    CHECK(access(f.new_key_file, F_OK) != 0);
    unsigned char on_disk[SEAL_KEY_BYTES];
    CHECK_INT(keyrotate_read_key(f.key_file, on_disk, err, sizeof err), 0);
    CHECK(memcmp(on_disk, new_key, SEAL_KEY_BYTES) == 0);
    CHECK_INT(tokens_opening_with(&f, new_key), N_TOKENS);
    fixture_free(&f);
}

/* Tokens under both keys cannot come from one transaction: refuse, touch nothing. */
static void recovery_refuses_a_mix(void)
{
    struct fixture f;
    fixture_init(&f);
    unsigned char new_key[SEAL_KEY_BYTES], key[SEAL_KEY_BYTES];
    crypto_random(new_key, sizeof new_key);
    write_key(f.new_key_file, new_key);
    char err[256];
    struct store *st = store_open(f.db_path, err, sizeof err);
    seal_into(st, 1, workspaces[0], tokens[0], new_key);
    store_close(st);
    CHECK_INT(recover(&f, key, err, sizeof err), -1);
    CHECK_CONTAINS(err, "2 tokens under");
    CHECK(access(f.new_key_file, F_OK) == 0);
    unsigned char on_disk[SEAL_KEY_BYTES];
    CHECK_INT(keyrotate_read_key(f.key_file, on_disk, err, sizeof err), 0);
    CHECK(memcmp(on_disk, f.key, SEAL_KEY_BYTES) == 0);
    fixture_free(&f);
}

static void nothing_to_recover(void)
{
    struct fixture f;
    fixture_init(&f);
    unsigned char key[SEAL_KEY_BYTES];
    char err[256];
    CHECK_INT(recover(&f, key, err, sizeof err), 0);
    CHECK(memcmp(key, f.key, SEAL_KEY_BYTES) == 0);
    fixture_free(&f);
}

int main(void)
{
    RUN(rotation_reseals_every_token);
    RUN(rotation_refused_while_database_open);
    RUN(rotation_refused_when_a_token_does_not_open);
    RUN(recovery_undoes_an_uncommitted_rotation);
    RUN(recovery_discards_a_torn_new_key);
    RUN(recovery_finishes_a_committed_rotation);
    RUN(recovery_refuses_a_mix);
    RUN(nothing_to_recover);
    UNIT_DONE();
}
