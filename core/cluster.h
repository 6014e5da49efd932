/*
 * cluster.h - this process as a node of the database's nodes (one on
 * SQLite, any number on PostgreSQL). The node registers at start, beats its
 * heartbeat every third of the lease (storage.lease_s) and is marked stopped
 * at a clean exit. On each beat it also puts back in the queue the work of
 * nodes whose lease ran out (store_nodes.h), and on a shared database it
 * picks up, every second, the installations other nodes saved or changed.
 * The number of live nodes divides each installation's Intercom rate budget
 * between them (governor_set_share).
 */
#ifndef SB_CORE_CLUSTER_H
#define SB_CORE_CLUSTER_H

#include <json-c/json.h>
#include <stdint.h>

struct server;
struct cluster;

/* Register the node (store_set_node); NULL with err on failure. */
struct cluster *cluster_start(struct server *srv, char *err, size_t errlen);
/* Mark the node stopped, so the others take over its running work at once; frees it. */
void cluster_stop(struct cluster *c);
/* Put back in the queue the work of nodes that are gone: how many rows, or -1. */
int cluster_recover(struct cluster *c);
/* This node's name and id. */
const char *cluster_node_name(const struct cluster *c);
int64_t cluster_node_id(const struct cluster *c);
/*
 * GET /admin/cluster's body: this node, the lease, how many live nodes share
 * the rate budgets (as this node last counted), and the nodes with their
 * running work.
 */
json_object *cluster_json(struct cluster *c);

#endif
