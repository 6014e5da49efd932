/*
 * memory_trim.h - giving memory back after a busy spell. Under load the
 * engine's page cache fills and the allocator keeps what was freed for reuse;
 * once no commit has ended for QUIET_MS, both are handed back, so the
 * server's resident size falls back near its idle size after a burst instead
 * of staying at its peak.
 */
#ifndef SB_CORE_MEMORY_TRIM_H
#define SB_CORE_MEMORY_TRIM_H

struct server;

/* How long without a commit counts as quiet. */
#define QUIET_MS 1000

struct memory_trim *memory_trim_new(struct server *srv);
void memory_trim_free(struct memory_trim *t);
/* Join the commit turn (turn.h): each turn's end starts the quiet period again. */
void memory_trim_join_turn(struct memory_trim *t);
/* A commit outside the turn ended (intake's chain): the quiet period starts again. */
void memory_trim_busy(struct memory_trim *t);

#endif
