/*
 * Unit tests: curl_loop.c - transfers on the libevent loop and what
 * curl_transfer_easy() collects of an answer (body, size limit, error text,
 * allowed protocols), and transfers held back until a release. The transfers
 * read local files (file://), so nothing touches the network.
 */
#include "curl_loop.h"
#include "unit.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <unistd.h>

struct run {
    struct curl_transfer transfer;
    CURLcode result;
    int done_calls;
    int after_done_calls;
    int header_lines;
};

static void done(void *owner, CURLcode result)
{
    struct run *run = owner;
    run->result = result;
    run->done_calls++;
}

static void after_done(void *arg)
{
    struct run *run = arg;
    run->after_done_calls++;
}

static void count_header(void *owner, const char *line, size_t len)
{
    struct run *run = owner;
    (void)line;
    (void)len;
    run->header_lines++;
}

/* Run one transfer of @p url to its end on a fresh loop; the easy handle is cleaned up. */
static void fetch(struct run *run, const char *url, const char *method, const char *protocols)
{
    struct event_base *base = event_base_new();
    struct curl_loop *cl = curl_loop_new(base, 4, after_done, run);
    CHECK(cl != NULL);
    run->transfer.done = done;
    run->transfer.owner = run;
    CURL *e = curl_transfer_easy(&run->transfer, url, method, protocols, 5000, 5000);
    CHECK(e != NULL);
    run->done_calls = run->after_done_calls = 0;
    run->result = CURLE_OK;
    CHECK_INT(curl_loop_add(cl, e, &run->transfer), CURLM_OK);
    CHECK_INT(run->done_calls, 0); /* never inside curl_loop_add */
    event_base_dispatch(base);     /* returns when nothing is left to wait for */
    CHECK_INT(run->done_calls, 1);
    CHECK_INT(run->after_done_calls, 1);
    curl_easy_cleanup(e);
    curl_loop_free(cl);
    event_base_free(base);
}

static char *write_file(const char *dir, const char *name, size_t size)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (size_t i = 0; f && i < size; i++)
        fputc('a' + (int)(i % 26), f);
    if (f)
        fclose(f);
    return path;
}

static void the_whole_body_is_collected(void)
{
    char *dir = unit_tempdir();
    char *path = write_file(dir, "answer", 100000);
    char *url = xasprintf("file://%s", path);
    struct run run = {.transfer = {.header = count_header}};
    fetch(&run, url, "GET", "file");
    CHECK_INT(run.result, CURLE_OK);
    CHECK_INT(run.transfer.body.len, 100000);
    CHECK(run.transfer.body.data && memcmp(run.transfer.body.data, "abcdef", 6) == 0);
    CHECK(!run.transfer.too_large);
    CHECK_STR(run.transfer.error, "");
    /* The next transfer on the same struct starts from nothing. */
    fetch(&run, url, "GET", "file");
    CHECK_INT(run.transfer.body.len, 100000);
    buf_free(&run.transfer.body);
    remove(path);
    rmdir(dir);
    free(url);
    free(path);
    free(dir);
}

static void a_body_over_the_limit_ends_the_transfer(void)
{
    char *dir = unit_tempdir();
    char *path = write_file(dir, "big", 70000);
    char *url = xasprintf("file://%s", path);
    struct run run = {.transfer = {.max_body = 65536}};
    fetch(&run, url, "GET", "file");
    CHECK_INT(run.result, CURLE_WRITE_ERROR);
    CHECK(run.transfer.too_large);
    CHECK(run.transfer.body.len <= 65536);
    /* Exactly at the limit is allowed. */
    run.transfer.max_body = 70000;
    fetch(&run, url, "GET", "file");
    CHECK_INT(run.result, CURLE_OK);
    CHECK(!run.transfer.too_large);
    CHECK_INT(run.transfer.body.len, 70000);
    buf_free(&run.transfer.body);
    remove(path);
    rmdir(dir);
    free(url);
    free(path);
    free(dir);
}

static void failures_carry_libcurl_s_words(void)
{
    struct run run = {0};
    fetch(&run, "file:///nonexistent/switchboard-unit/none", "GET", "file");
    CHECK(run.result != CURLE_OK);
    CHECK(run.transfer.error[0] != '\0');
    CHECK_INT(run.transfer.body.len, 0);
    /* Only the protocols named may be used. */
    fetch(&run, "file:///etc/hostname", "GET", "http,https");
    CHECK_INT(run.result, CURLE_UNSUPPORTED_PROTOCOL);
    CHECK(run.transfer.error[0] != '\0');
    buf_free(&run.transfer.body);
}

/* A loop and a local file of size bytes to fetch, for the hold tests. */
struct files {
    char *dir, *path, *url;
    struct event_base *base;
    struct curl_loop *cl;
};

static void files_open(struct files *fs, size_t size)
{
    fs->dir = unit_tempdir();
    fs->path = write_file(fs->dir, "answer", size);
    fs->url = xasprintf("file://%s", fs->path);
    fs->base = event_base_new();
    fs->cl = curl_loop_new(fs->base, 4, NULL, NULL);
}

/* A transfer of the file for run (not started). */
static CURL *files_transfer(struct files *fs, struct run *run)
{
    run->transfer.done = done;
    run->transfer.owner = run;
    return curl_transfer_easy(&run->transfer, fs->url, "GET", "file", 5000, 5000);
}

static void files_close(struct files *fs)
{
    curl_loop_free(fs->cl);
    event_base_free(fs->base);
    remove(fs->path);
    rmdir(fs->dir);
    free(fs->url);
    free(fs->path);
    free(fs->dir);
}

/* Held transfers start only when the hold they were added under ends; a removed one never. */
static void held_transfers_start_at_the_release(void)
{
    struct files fs;
    files_open(&fs, 1000);
    struct event_base *base = fs.base;
    struct curl_loop *cl = fs.cl;
    struct run kept = {0}, dropped = {0};
    CURL *e1 = files_transfer(&fs, &kept);
    CURL *e2 = files_transfer(&fs, &dropped);
    curl_loop_hold();
    curl_loop_hold();
    CHECK_INT(curl_loop_add(cl, e1, &kept.transfer), CURLM_OK);
    CHECK_INT(curl_loop_add(cl, e2, &dropped.transfer), CURLM_OK);
    curl_loop_remove(cl, e2);
    for (int i = 0; i < 10; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK_INT(kept.done_calls, 0);
    curl_loop_release(); /* the first hold: these were added under the second */
    CHECK_INT(event_base_dispatch(base), 1); /* nothing to wait for: nothing was started */
    CHECK_INT(kept.done_calls, 0);
    curl_loop_release();
    event_base_dispatch(base);
    CHECK_INT(kept.done_calls, 1);
    CHECK_INT(kept.result, CURLE_OK);
    CHECK_INT(kept.transfer.body.len, 1000);
    CHECK_INT(dropped.done_calls, 0);
    curl_easy_cleanup(e1);
    curl_easy_cleanup(e2);
    buf_free(&kept.transfer.body);
    files_close(&fs);
}

/*
 * Overlapping holds (a turn begins before the last one's commit is durable)
 * end in the order they began: each release starts what was added before the
 * next hold began, in order, and keeps the rest.
 */
static void overlapping_holds_end_in_order(void)
{
    struct files fs;
    files_open(&fs, 10);
    struct event_base *base = fs.base;
    struct curl_loop *cl = fs.cl;
    struct run first = {0}, second = {0}, after = {0};
    CURL *e1 = files_transfer(&fs, &first);
    CURL *e2 = files_transfer(&fs, &second);
    curl_loop_hold();
    CHECK_INT(curl_loop_add(cl, e1, &first.transfer), CURLM_OK);
    curl_loop_hold();
    CHECK_INT(curl_loop_add(cl, e2, &second.transfer), CURLM_OK);
    curl_loop_release(); /* the first hold ends: its transfer starts, the second's waits */
    event_base_dispatch(base);
    CHECK_INT(first.done_calls, 1);
    CHECK_INT(second.done_calls, 0);
    curl_loop_release();
    event_base_dispatch(base);
    CHECK_INT(second.done_calls, 1);
    CHECK_INT(second.result, CURLE_OK);
    curl_loop_release(); /* none left to end: nothing happens */
    CURL *e3 = files_transfer(&fs, &after);
    CHECK_INT(curl_loop_add(cl, e3, &after.transfer), CURLM_OK); /* no hold: at once */
    event_base_dispatch(base);
    CHECK_INT(after.done_calls, 1);
    curl_easy_cleanup(e1);
    curl_easy_cleanup(e2);
    curl_easy_cleanup(e3);
    buf_free(&first.transfer.body);
    buf_free(&second.transfer.body);
    buf_free(&after.transfer.body);
    files_close(&fs);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    RUN(the_whole_body_is_collected);
    RUN(a_body_over_the_limit_ends_the_transfer);
    RUN(failures_carry_libcurl_s_words);
    RUN(held_transfers_start_at_the_release);
    RUN(overlapping_holds_end_in_order);
    curl_global_cleanup();
    UNIT_DONE();
}
