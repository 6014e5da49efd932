/*
 * curl_loop.h - libcurl's multi interface driven by the libevent loop: the
 * one HTTP client transport of the host (the Intercom client, outbound HTTP
 * for plugins). Each user owns its own curl_loop, so connection pools and
 * their limits stay apart; a transfer is an easy handle the user configures
 * completely and hands over with curl_loop_add().
 */
#ifndef SB_CORE_CURL_LOOP_H
#define SB_CORE_CURL_LOOP_H

#include <curl/curl.h>
#include <event2/event.h>
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

/* Start a transfer; CURLM_OK or the error, in which case done never runs. */
CURLMcode curl_loop_add(struct curl_loop *cl, CURL *easy, struct curl_transfer *transfer);
/* Stop a running transfer (a cancellation): its done callback never runs. */
void curl_loop_remove(struct curl_loop *cl, CURL *easy);

#endif
