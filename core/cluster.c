/* cluster.c - this process as a node: registration, heartbeat, recovery (cluster.h). */
#include "cluster.h"

#include "http.h"
#include "installations.h"
#include "intercom.h"
#include "jobs.h"
#include "log.h"
#include "schedules.h"
#include "server.h"
#include "store/store.h"
#include "store/store_jobs.h"
#include "store/store_nodes.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How often a shared database is asked for installations other nodes changed. */
#define REFRESH_MS 1000

struct cluster {
    struct server *srv;
    struct event *timer;
    char *name;
    char host[256];
    int64_t node;
    int64_t lease_ms;
    int64_t next_beat_ms;
};

static int64_t lease_ms(const struct server *srv)
{
    int lease_s = srv->cfg->storage_lease_s > 0 ? srv->cfg->storage_lease_s : 30;
    return (int64_t)lease_s * 1000;
}

static int register_node(struct cluster *c)
{
    struct store *st = c->srv->store;
    if (store_begin(st) != 0)
        return -1;
    int64_t id = store_node_register(st, c->name, c->host, (int64_t)getpid(), time_now_ms());
    if (id == 0 || store_commit(st) != 0) {
        if (store_in_transaction(st))
            store_rollback(st);
        return -1;
    }
    c->node = id;
    store_set_node(st, id);
    return 0;
}

int cluster_recover(struct cluster *c)
{
    struct store *st = c->srv->store;
    if (store_begin(st) != 0)
        return -1;
    int n = store_nodes_expire(st, time_now_ms(), c->lease_ms);
    if (n < 0 || store_commit(st) != 0) {
        if (store_in_transaction(st))
            store_rollback(st);
        return -1;
    }
    return n;
}

/* The nodes alive now share each installation's rate budget. */
static void share_budgets(struct cluster *c, int64_t now)
{
    int nodes = store_nodes_alive(c->srv->store, now, c->lease_ms);
    if (nodes > 0)
        intercom_set_nodes_sharing(c->srv->intercom, nodes);
}

static void beat(struct cluster *c, int64_t now)
{
    struct store *st = c->srv->store;
    int alive = store_node_heartbeat(st, c->node, now);
    if (alive == 0) {
        /* Another node found this one's lease run out and requeued its work: what still
           runs here may run there too. A new registration makes the node live again. */
        log_warn("cluster", "node %s (%lld) was declared gone (a pause longer than the %lld s "
                            "lease?); registering again",
                 c->name, (long long)c->node, (long long)(c->lease_ms / 1000));
        if (register_node(c) != 0)
            log_error("cluster", "cannot register node %s again", c->name);
    }
    int n = cluster_recover(c);
    if (n > 0) {
        log_info("cluster", "requeued %d jobs and deliveries of nodes that are gone", n);
        jobs_kick(c->srv->jobs);
    }
    share_budgets(c, now);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct cluster *c = arg;
    (void)fd;
    (void)what;
    int64_t now = time_now_ms();
    if (now >= c->next_beat_ms) {
        beat(c, now);
        c->next_beat_ms = now + c->lease_ms / 3;
    }
    /*
     * Other nodes change the shared database: new installations, keys
     * whose order they could not settle at once (store_key_lock), jobs and
     * schedules they made that come due here while they are idle or gone.
     */
    if (store_shared(c->srv->store)) {
        installations_refresh(c->srv);
        store_jobs_release_stuck_keys(c->srv->store);
        jobs_kick(c->srv->jobs);
        schedules_kick(c->srv->schedules);
    }
}

struct cluster *cluster_start(struct server *srv, char *err, size_t errlen)
{
    struct cluster *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->lease_ms = lease_ms(srv);
    if (gethostname(c->host, sizeof c->host - 1) != 0)
        snprintf(c->host, sizeof c->host, "unknown");
    c->name = srv->cfg->storage_node && *srv->cfg->storage_node
                  ? xstrdup(srv->cfg->storage_node)
                  : xasprintf("%s-%d", c->host, http_server_port(srv->http));
    if (register_node(c) != 0) {
        snprintf(err, errlen, "cannot register this node in the database");
        free(c->name);
        free(c);
        return NULL;
    }
    share_budgets(c, time_now_ms());
    c->next_beat_ms = time_now_ms() + c->lease_ms / 3;
    c->timer = event_new(srv->base, -1, EV_PERSIST, tick, c);
    int64_t period = store_shared(srv->store) ? REFRESH_MS : c->lease_ms / 3;
    struct timeval tv = {(time_t)(period / 1000), (suseconds_t)(period % 1000) * 1000};
    event_add(c->timer, &tv);
    log_info("cluster", "node %s (%lld) on %s", c->name, (long long)c->node,
             store_driver(srv->store));
    return c;
}

void cluster_stop(struct cluster *c)
{
    if (!c)
        return;
    event_free(c->timer);
    struct store *st = c->srv->store;
    if (store_node_stopped(st, c->node, time_now_ms()) != 0)
        log_warn("cluster", "cannot mark node %s stopped; its lease will run out", c->name);
    free(c->name);
    free(c);
}

const char *cluster_node_name(const struct cluster *c)
{
    return c->name;
}

int64_t cluster_node_id(const struct cluster *c)
{
    return c->node;
}

json_object *cluster_json(struct cluster *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "driver", json_object_new_string(store_driver(c->srv->store)));
    json_object_object_add(o, "node", json_object_new_string(c->name));
    json_object_object_add(o, "node_id", json_object_new_int64(c->node));
    json_object_object_add(o, "lease_s", json_object_new_int64(c->lease_ms / 1000));
    /* The live nodes this one counted at its last heartbeat: each spends 1/n of a budget. */
    json_object_object_add(o, "nodes_sharing",
                           json_object_new_int(intercom_nodes_sharing(c->srv->intercom)));
    json_object_object_add(o, "nodes", store_nodes_list(c->srv->store, 100));
    return o;
}
