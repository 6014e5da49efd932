/*
 * Unit tests: the commit turn (turn.c) - participants gather in the order
 * they joined inside one transaction and settle after its commit; a request
 * runs the turn once on the loop; scopes nest and commit at the outermost.
 */
#include "server.h"
#include "store/store.h"
#include "turn.h"
#include "unit.h"

#include <event2/event.h>

static char log_text[256];

struct step {
    const char *name;
    struct store *st;
    int gathered;
};

static void gather(void *arg)
{
    struct step *s = arg;
    s->gathered++;
    size_t len = strlen(log_text);
    snprintf(log_text + len, sizeof log_text - len, "gather %s%s; ", s->name,
             store_in_transaction(s->st) ? " (in transaction)" : "");
}

static void settle(void *arg, bool committed)
{
    struct step *s = arg;
    size_t len = strlen(log_text);
    snprintf(log_text + len, sizeof log_text - len, "settle %s %s%s; ", s->name,
             committed ? "committed" : "failed",
             store_in_transaction(s->st) ? " (in transaction)" : "");
}

static void participants_in_order(void)
{
    char *dir = unit_tempdir(), path[512], err[256];
    snprintf(path, sizeof path, "%s/turn.db", dir);
    struct server srv = {0};
    srv.base = event_base_new();
    CHECK_INT(event_base_priority_init(srv.base, 3), 0);
    srv.store = store_open(path, err, sizeof err);
    CHECK(srv.store != NULL);
    if (!srv.store)
        return;
    srv.turn = turn_new(&srv);
    struct step dispatch = {"dispatch", srv.store, 0}, intake = {"intake", srv.store, 0};
    turn_join(srv.turn, &(struct turn_participant){"dispatch", gather, settle, &dispatch});
    turn_join(srv.turn, &(struct turn_participant){"intake", gather, settle, &intake});

    CHECK(turn_now(srv.turn));
    CHECK_STR(log_text, "gather dispatch (in transaction); gather intake (in transaction); "
                        "settle dispatch committed; settle intake committed; ");
    CHECK(!store_in_transaction(srv.store));

    /* Requests within one loop iteration run one turn. */
    log_text[0] = '\0';
    turn_request(srv.turn);
    turn_request(srv.turn);
    event_base_loop(srv.base, EVLOOP_NONBLOCK);
    CHECK_INT(dispatch.gathered, 2);
    CHECK_INT(intake.gathered, 2);

    /* A participant that left is not called again. */
    turn_leave(srv.turn, &dispatch);
    log_text[0] = '\0';
    CHECK(turn_now(srv.turn));
    CHECK_STR(log_text, "gather intake (in transaction); settle intake committed; ");

    /* Scopes nest; the outermost one commits. */
    CHECK(!turn_in_scope(srv.turn));
    turn_scope_enter(srv.turn);
    CHECK(turn_in_scope(srv.turn));
    CHECK(store_in_transaction(srv.store));
    turn_scope_enter(srv.turn);
    CHECK(turn_scope_leave(srv.turn));
    CHECK(store_in_transaction(srv.store));
    CHECK(turn_scope_leave(srv.turn));
    CHECK(!store_in_transaction(srv.store));
    CHECK(!turn_in_scope(srv.turn));
    CHECK(!turn_in_scope(NULL));

    turn_free(srv.turn);
    store_close(srv.store);
    event_base_free(srv.base);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
    free(dir);
}

int main(void)
{
    RUN(participants_in_order);
    UNIT_DONE();
}
