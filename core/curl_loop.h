/*
 * curl_loop.h - libcurl's multi interface driven by the libevent loop: the
 * one HTTP client transport of the host (the Intercom client, outbound HTTP
 * for plugins). Each user owns its own curl_loop, so connection pools and
 * their limits stay apart. A transfer starts as an easy handle from
 * curl_transfer_easy() (what every request of the host has, the answer
 * collected into its struct curl_transfer), which the user completes with its
 * own headers, body and options and hands over with curl_loop_add().
 */
#ifndef SB_CORE_CURL_LOOP_H
#define SB_CORE_CURL_LOOP_H

#include "util.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <switchboard/switchboard.h>

/* The User-Agent of every request the host sends. */
#define CURL_LOOP_USER_AGENT "switchboard/" SB_SDK_VERSION

struct curl_loop;

/*
 * Embedded in the user's request. curl_loop_add() stores it as the handle's
 * CURLOPT_PRIVATE, so the user must not set that option itself.
 */
struct curl_transfer {
    /* Runs on the loop when the transfer ended, never inside curl_loop_add(); the handle is
       already out of the multi and may be reused or cleaned up. */
    void (*done)(void *owner, CURLcode result);
    void *owner;
    /* Set by the user (before curl_transfer_easy) when it reads header lines: each one as
       libcurl hands it over, status lines and line ends included. */
    void (*header)(void *owner, const char *line, size_t len);
    /* Set by the user (may be NULL) to read the body as it arrives rather than have it
       collected (a streamed answer): true when it took the bytes, false to collect them. */
    bool (*body_part)(void *owner, const char *data, size_t len);
    /* The largest body kept, 0 for no limit: a longer one ends the transfer with
       CURLE_WRITE_ERROR and sets too_large. */
    size_t max_body;
    /* The answer, collected by the transfer; the user frees body with buf_free(). */
    struct buf body;
    bool too_large;
    char error[CURL_ERROR_SIZE]; /* libcurl's words for a failed transfer, "" if none */
};

/*
 * max_connects bounds the idle connections kept for reuse. after_done (may be
 * NULL) runs once after each round of loop activity in which transfers ended,
 * after their done callbacks: the place to start queued work.
 */
struct curl_loop *curl_loop_new(struct event_base *base, long max_connects,
                                void (*after_done)(void *arg), void *arg);
/* Every transfer must have ended or been removed. */
void curl_loop_free(struct curl_loop *cl);

/*
 * A new easy handle that sends @p method to @p url with what every request of
 * the host has (its User-Agent, no signals, TCP keep-alive, only @p protocols,
 * the time limits; no body read for a HEAD), its answer collected into @p t
 * whose earlier answer is dropped. The user adds its headers, body and other
 * options. NULL if libcurl cannot make a handle.
 */
CURL *curl_transfer_easy(struct curl_transfer *t, const char *url, const char *method,
                         const char *protocols, long timeout_ms, long connect_timeout_ms);

/* Start a transfer; CURLM_OK or the error, in which case done never runs. */
CURLMcode curl_loop_add(struct curl_loop *cl, CURL *easy, struct curl_transfer *transfer);
/* Stop a running transfer (a cancellation): its done callback never runs. */
void curl_loop_remove(struct curl_loop *cl, CURL *easy);

/*
 * Hold back every transfer added, on every loop, until its hold ends: the
 * commit turn holds them from its gathers until its commit, which runs on
 * the store's commit thread while the loop goes on, is durable - so a request
 * a plugin started in the turn (or queued then) leaves only once what it
 * wrote before is. Holds overlap (the next turn begins before the last one's
 * sync) and end in the order they began: curl_loop_release ends the oldest,
 * and sends, in order, the transfers added before the next one began. One
 * libcurl then refuses ends through its done with CURLE_FAILED_INIT.
 */
void curl_loop_hold(void);
void curl_loop_release(void);

#endif
