/* Unit tests: recent_ids.c, the window of newest notification ids, against a plain model. */
#include "store/recent_ids.h"
#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>

static bool has(const struct recent_ids *r, uint64_t hash, int64_t row)
{
    int64_t rows[128];
    size_t n = recent_ids_find(r, hash, rows, 128);
    for (size_t i = 0; i < n && i < 128; i++)
        if (rows[i] == row)
            return true;
    return false;
}

static void hashes(void)
{
    CHECK(recent_ids_hash("siit", "notif_1") == recent_ids_hash("siit", "notif_1"));
    CHECK(recent_ids_hash("siit", "notif_1") != recent_ids_hash("siit", "notif_2"));
    CHECK(recent_ids_hash("siit", "notif_1") != recent_ids_hash("timebook", "notif_1"));
    /* Where the plugin's name ends matters: no two pairs spell one string. */
    CHECK(recent_ids_hash("ab", "c") != recent_ids_hash("a", "bc"));
    CHECK(recent_ids_hash("", "") != 0);
}

static void found_until_pushed_out(void)
{
    struct recent_ids *r = recent_ids_new(100);
    for (int64_t row = 1; row <= 250; row++) {
        char id[32];
        snprintf(id, sizeof id, "notif_%lld", (long long)row);
        recent_ids_add(r, recent_ids_hash("p", id), row);
    }
    CHECK_INT(recent_ids_count(r), 100);
    int found = 0;
    for (int64_t row = 1; row <= 250; row++) {
        char id[32];
        snprintf(id, sizeof id, "notif_%lld", (long long)row);
        bool in = has(r, recent_ids_hash("p", id), row);
        CHECK(in == (row > 150)); /* the newest 100 */
        found += in;
    }
    CHECK_INT(found, 100);
    CHECK(!has(r, recent_ids_hash("p", "notif_999"), 999));
    recent_ids_free(r);
}

/* One hash for two rows (a collision, or a row reused), or one pair twice (a rolled-back row
   written again): all are candidates, each goes in its own turn. */
static void same_hash_two_rows(void)
{
    struct recent_ids *r = recent_ids_new(3);
    recent_ids_add(r, 42, 7);
    recent_ids_add(r, 42, 9);
    recent_ids_add(r, 42, 9);
    int64_t rows[1];
    CHECK_INT(recent_ids_find(r, 42, rows, 1), 3); /* the count, past the room given */
    recent_ids_add(r, 43, 10);                     /* pushes (42, 7) out */
    int64_t all[3];
    CHECK_INT(recent_ids_find(r, 42, all, 3), 2);
    CHECK(all[0] == 9 && all[1] == 9);
    recent_ids_add(r, 44, 11); /* one (42, 9) goes, the other stays */
    CHECK_INT(recent_ids_find(r, 42, all, 3), 1);
    CHECK_INT(all[0], 9);
    recent_ids_add(r, 45, 12);
    CHECK_INT(recent_ids_find(r, 42, all, 3), 0);
    CHECK_INT(recent_ids_count(r), 3);
    recent_ids_free(r);
}

/*
 * Adds in a long run, with hashes made to share their home slots (long runs in the table, so
 * every eviction moves entries back) and some hashes given again to a new row, against a
 * model that remembers what the window should hold: the newest CAP rows.
 */
static void against_a_model(void)
{
    enum { CAP = 64, ROWS = 200000 };
    struct recent_ids *r = recent_ids_new(CAP);
    static uint64_t hash_of[ROWS + 1];
    srand(7);
    for (int64_t row = 1; row <= ROWS; row++) {
        /* Few distinct low bits, so homes collide; the high bits keep hashes apart. */
        if (row > 1 && rand() % 8 == 0)
            hash_of[row] = hash_of[row - 1 - rand() % (row > CAP ? CAP : row - 1)];
        else
            hash_of[row] = ((uint64_t)rand() << 32) | (uint64_t)(rand() % 4) << 1 | 1;
        recent_ids_add(r, hash_of[row], row);
        if (row % 97 == 0 || row == ROWS) {
            bool agree = recent_ids_count(r) == (size_t)(row < CAP ? row : CAP);
            for (int64_t k = row > 3 * CAP ? row - 3 * CAP : 1; agree && k <= row; k++)
                agree = has(r, hash_of[k], k) == (k > row - CAP);
            if (!agree) {
                CHECK(!"the window and the model disagree");
                break;
            }
        }
    }
    CHECK_INT(recent_ids_count(r), CAP);
    recent_ids_free(r);
}

int main(void)
{
    RUN(hashes);
    RUN(found_until_pushed_out);
    RUN(same_hash_two_rows);
    RUN(against_a_model);
    UNIT_DONE();
}
