/*
 * server.h - the one context every core module shares (like nginx's cycle).
 * It is created by main.c, lives for the whole process and is only touched
 * on the event loop thread.
 */
#ifndef SB_CORE_SERVER_H
#define SB_CORE_SERVER_H

#include "config.h"
#include "crypto.h"

#include <event2/event.h>
#include <stdbool.h>

struct store;
struct http_server;
struct plugin_registry;
struct installations;
struct jobs;
struct schedules;
struct retention;
struct intercom;
struct outbound;
struct product_events;
struct replies;
struct intake;
struct metrics;
struct turn;
struct cluster;

struct server {
    struct event_base *base;
    struct config *cfg;
    struct store *store;
    struct http_server *http;
    struct plugin_registry *plugins;
    struct installations *installations;
    struct jobs *jobs;
    struct schedules *schedules;
    struct retention *retention;
    struct intercom *intercom;
    struct outbound *outbound; /* plugins' HTTP to other hosts */
    struct product_events *products; /* plugins' events to the vendor's product */
    struct replies *replies;
    struct intake *intake;
    struct metrics *metrics;
    unsigned char seal_key[SEAL_KEY_BYTES];
    char *admin_token;
    int64_t started_ms;
    struct turn *turn; /* the commit turn and the callbacks' scope */
    struct memory_trim *memory_trim;
    struct cluster *cluster; /* this process as a node of the database's nodes */
    bool stopping;
};

#endif
