/*
 * sd_skipped.c - the skipped phase: conversations skipped earlier (no user
 * matched their contact) are looked at again from what was stored about
 * them, without calling Intercom. Those whose contact now matches a user
 * (the product pushed it since), or all of them once create_users is on,
 * become tickets. An incremental run would otherwise never see them again,
 * since the conversations themselves did not change.
 */
#include "sd_phases.h"

#include "sd_util.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 200

struct batch {
    char **keys;
    json_object **values;
    size_t n;
};

static int collect(void *arg, const char *key, json_object *value)
{
    struct batch *b = arg;
    b->keys[b->n] = pk_xstrdup(key);
    b->values[b->n] = json_object_get(value);
    b->n++;
    return 0;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->keys[i]);
        json_object_put(b->values[i]);
    }
    free(b->keys);
    free(b->values);
}

struct tx {
    struct sd_run *run;
    struct batch *batch;
};

static bool still_unmatched(struct sd_run *run, const struct sd_conversation *conv,
                            const struct sd_contact *contact)
{
    if (run->settings.create_users)
        return false;
    struct sd_user_lookup lookup = sd_user_lookup(&run->env);
    char *user = NULL;
    const char *external_id = conv->contact_external_id ? conv->contact_external_id
                                                        : contact->external_id;
    enum sd_match match = sd_match_contact(&lookup, external_id, contact->email, &user);
    free(user);
    return match == SD_MATCH_NONE;
}

static void reconsider(struct sd_run *run, json_object *doc)
{
    struct sd_conversation conv;
    struct sd_contact contact;
    char why[256];
    if (sd_conversation_parse(sb_json_obj(doc, "conversation"), &conv, why, sizeof why) != 0)
        return;
    if (sd_contact_parse(sb_json_obj(doc, "contact"), &contact) != 0)
        memset(&contact, 0, sizeof contact);
    if (!still_unmatched(run, &conv, &contact)) {
        switch (sd_place_ticket(&run->env, &conv, contact.id ? &contact : NULL, why, sizeof why)) {
        case SD_PLACED_NEW_USER:
            run->counts.created++;
            /* fall through */
        case SD_PLACED:
            run->counts.synced++;
            break;
        case SD_NOT_PLACED:
        case SD_PLACE_FAILED:
            break;
        }
    }
    sd_conversation_free(&conv);
    sd_contact_free(&contact);
}

static int batch_tx(void *arg)
{
    struct tx *t = arg;
    for (size_t i = 0; i < t->batch->n; i++)
        reconsider(t->run, t->batch->values[i]);
    char *after = sd_key_after(t->batch->keys[t->batch->n - 1]);
    sd_run_set_cursor(t->run, after);
    free(after);
    return sd_run_save(t->run);
}

static void next_batch(struct sd_run *run)
{
    struct batch b = {pk_xcalloc(BATCH, sizeof(char *)), pk_xcalloc(BATCH, sizeof(json_object *)),
                      0};
    run->sd->host->doc_list(run->sd->self, run->inst, SD_SKIPPED, run->cursor, NULL, BATCH, 0,
                            collect, &b);
    if (b.n == 0) {
        batch_free(&b);
        sd_run_phase_done(run);
        return;
    }
    struct sd_counts before = run->counts;
    char *cursor = sd_strdup_or_null(run->cursor);
    struct tx t = {run, &b};
    int rc = sd_run_transaction(run, batch_tx, &t);
    batch_free(&b);
    if (rc != 0) {
        run->counts = before;
        sd_run_set_cursor(run, cursor);
        free(cursor);
        sd_run_fail(run, SB_RETRY, "cannot store skipped conversations that now match");
        return;
    }
    free(cursor);
    sd_run_later(run, next_batch);
}

void sd_skipped_start(struct sd_run *run)
{
    next_batch(run);
}
