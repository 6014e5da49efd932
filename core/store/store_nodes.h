/*
 * store_nodes.h - the nodes table: the processes that serve from this
 * database (several on PostgreSQL, one on SQLite), each alive while its
 * heartbeat is younger than the lease. A job or delivery that a node marks
 * running carries the node's id; when the node stops or its lease runs out,
 * any other node puts that work back in the queue. Every call runs in the
 * caller's transaction, if one is open.
 */
#ifndef SB_CORE_STORE_NODES_H
#define SB_CORE_STORE_NODES_H

#include <json-c/json.h>
#include <stdint.h>

struct store;

/*
 * Record this process as a node and return its id (0 on failure, logged).
 * The nodes it replaces are marked stopped first: on SQLite every earlier
 * one (the file is one process's), on a shared database the earlier ones of
 * the same name (a node restarted).
 */
int64_t store_node_register(struct store *st, const char *name, const char *host, int64_t pid,
                            int64_t now);
/* 1: the heartbeat is recorded; 0: another node declared this one gone (its lease ran out). */
int store_node_heartbeat(struct store *st, int64_t node, int64_t now);
int store_node_stopped(struct store *st, int64_t node, int64_t now);
/*
 * Mark stopped the nodes whose heartbeat is older than now - lease_ms, and
 * put back in the queue ('queued') the running and pending jobs and
 * deliveries of every node that is not alive: how many, or -1.
 */
int store_nodes_expire(struct store *st, int64_t now, int64_t lease_ms);
/* How many nodes are alive (not stopped, a heartbeat within the lease); -1. */
int store_nodes_alive(struct store *st, int64_t now, int64_t lease_ms);
/*
 * The nodes, newest first, as a JSON array: id, name, host, pid, started_at,
 * heartbeat_at, stopped_at (null while alive) and running (its jobs and
 * deliveries now running or pending). Empty if the store failed.
 */
json_object *store_nodes_list(struct store *st, int limit);

#endif
