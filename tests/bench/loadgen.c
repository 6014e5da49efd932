/*
 * loadgen - a closed-loop HTTP/1.1 load generator for signed Intercom webhooks.
 *
 * wrk cannot sign each request (HMAC-SHA1 over a distinct ~2 KB body) without
 * becoming the bottleneck in Lua, so this sends what Intercom would send:
 * every request a distinct, correctly signed notification_event, over N
 * keep-alive connections, each sending its next request when the previous
 * answer arrived. It records every latency and prints one JSON object.
 *
 * usage: loadgen HOST PORT PATH SECRET CONNECTIONS SECONDS [WORKSPACES [BODY_BYTES [RATE]]]
 *   WORKSPACES  notifications cycle through app_id ws0..wsN-1 (default 1)
 *   BODY_BYTES  approximate body size (default 2048)
 *   RATE        open-loop: requests per second in total, spread evenly (default 0: closed loop)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define MAX_SAMPLES (8u << 20)

struct conn {
    int fd;
    char out[8192];
    size_t out_len, out_off;
    char in[16384];
    size_t in_len;
    int64_t sent_at_us;
    int busy;
};

static const char *host, *path, *secret;
static int port, workspaces = 1, body_bytes = 2048;
static uint64_t seq;
static uint32_t run_id;
static char padding[8192];
static uint32_t *samples;
static size_t n_samples;
static uint64_t statuses[6], errors;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A realistic conversation.user.replied notification, distinct by id. */
static void build_request(struct conn *c)
{
    char body[8192];
    uint64_t n = ++seq;
    int len = snprintf(
        body, sizeof body,
        "{\"type\":\"notification_event\",\"app_id\":\"ws%llu\",\"data\":{\"type\":"
        "\"notification_event_data\",\"item\":{\"type\":\"conversation\",\"id\":\"%llu\","
        "\"created_at\":1732450000,\"updated_at\":1732450100,\"state\":\"open\",\"open\":true,"
        "\"source\":{\"type\":\"conversation\",\"delivered_as\":\"customer_initiated\","
        "\"subject\":\"\",\"body\":\"<p>Checkout fails with a 500 after I enter my card</p>\","
        "\"author\":{\"type\":\"user\",\"id\":\"6762f0dd1bb69f9f2193bb83\",\"name\":\"Joe Bloggs\","
        "\"email\":\"joe@example.com\"}},\"conversation_parts\":{\"type\":"
        "\"conversation_part.list\",\"total_count\":1,\"conversation_parts\":[{\"type\":"
        "\"conversation_part\",\"id\":\"%llu\",\"part_type\":\"comment\",\"body\":\"<p>%s</p>\","
        "\"created_at\":1732450100,\"author\":{\"type\":\"user\",\"id\":\"6762f0dd1bb69f9f2193bb83\"}}]}}},"
        "\"links\":{},\"id\":\"notif_%08x_%llu\",\"topic\":\"conversation.user.replied\","
        "\"delivery_status\":\"pending\",\"delivery_attempts\":1,\"delivered_at\":0,"
        "\"first_sent_at\":1732450101,\"created_at\":1732450101,\"self\":null}",
        (unsigned long long)(n % (uint64_t)workspaces), (unsigned long long)(n % 5000),
        (unsigned long long)n, padding, run_id, (unsigned long long)n);
    unsigned char mac[20];
    unsigned int mac_len = 20;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (unsigned char *)body, (size_t)len, mac, &mac_len);
    char sig[41];
    for (int i = 0; i < 20; i++)
        snprintf(sig + 2 * i, 3, "%02x", mac[i]);
    c->out_len = (size_t)snprintf(c->out, sizeof c->out,
                                  "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                                  "User-Agent: intercom-parrot-service-client/1.0\r\n"
                                  "X-Hub-Signature: sha1=%s\r\nContent-Length: %d\r\n\r\n%s",
                                  path, host, sig, len, body);
    c->out_off = 0;
}

static int connect_one(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void send_more(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN)
                return;
            errors++;
            return;
        }
        c->out_off += (size_t)n;
    }
}

/* Parse one complete response from c->in; returns its status or 0 if incomplete. */
static int take_response(struct conn *c)
{
    c->in[c->in_len] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return 0;
    char *cl = strcasestr(c->in, "Content-Length:");
    size_t body = cl && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
    size_t total = (size_t)(end + 4 - c->in) + body;
    if (c->in_len < total)
        return 0;
    int status = atoi(c->in + 9);
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    return status;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: loadgen HOST PORT PATH SECRET CONNECTIONS SECONDS [WORKSPACES "
                        "[BODY_BYTES [RATE]]]\n");
        return 2;
    }
    host = argv[1];
    port = atoi(argv[2]);
    path = argv[3];
    secret = argv[4];
    int nconns = atoi(argv[5]);
    double seconds = atof(argv[6]);
    if (argc > 7)
        workspaces = atoi(argv[7]);
    if (argc > 8)
        body_bytes = atoi(argv[8]);
    double rate = argc > 9 ? atof(argv[9]) : 0;
    if (nconns < 1 || nconns > MAX_CONNS || workspaces < 1) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    /* Filler text brings the body to the requested size, like a long customer message. */
    int pad = body_bytes - 1150;
    if (pad < 0)
        pad = 0;
    if (pad > (int)sizeof padding - 1)
        pad = sizeof padding - 1;
    for (int i = 0; i < pad; i++)
        padding[i] = "lorem ipsum dolor sit amet "[i % 27];
    padding[pad] = '\0';
    run_id = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
    samples = malloc(MAX_SAMPLES * sizeof *samples);
    struct conn *conns = calloc((size_t)nconns, sizeof *conns);
    int ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = connect_one();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = &conns[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    int64_t start = now_us(), stop = start + (int64_t)(seconds * 1e6);
    double interval_us = rate > 0 ? 1e6 / rate : 0;
    int64_t next_send = start;
    struct epoll_event events[256];
    int64_t t;
    while ((t = now_us()) < stop) {
        /* Start requests on idle connections: at once (closed loop) or on schedule (open loop). */
        for (int i = 0; i < nconns; i++) {
            struct conn *c = &conns[i];
            if (c->busy || (interval_us > 0 && t < next_send))
                continue;
            build_request(c);
            c->busy = 1;
            c->sent_at_us = interval_us > 0 ? next_send : t;
            next_send += (int64_t)interval_us;
            send_more(c);
        }
        int n = epoll_wait(ep, events, 256, 1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT)
                send_more(c);
            if (events[i].events & EPOLLIN) {
                for (;;) {
                    ssize_t r = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
                    if (r <= 0)
                        break;
                    c->in_len += (size_t)r;
                }
                int status;
                while ((status = take_response(c)) != 0) {
                    int64_t done = now_us();
                    if (n_samples < MAX_SAMPLES)
                        samples[n_samples++] = (uint32_t)(done - c->sent_at_us);
                    statuses[status / 100 < 6 ? status / 100 : 0]++;
                    c->busy = 0;
                }
            }
        }
    }
    double elapsed = (double)(now_us() - start) / 1e6;
    qsort(samples, n_samples, sizeof *samples, cmp_u32);
#define PCT(p) (n_samples ? samples[(size_t)((double)(n_samples - 1) * (p))] / 1000.0 : 0)
    printf("{\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"status_2xx\":%llu,\"status_4xx\":%llu,"
           "\"status_5xx\":%llu,\"errors\":%llu,\"run_id\":\"%08x\"}\n",
           n_samples, elapsed, (double)n_samples / elapsed, PCT(0.50), PCT(0.90), PCT(0.99),
           n_samples ? samples[n_samples - 1] / 1000.0 : 0, (unsigned long long)statuses[2],
           (unsigned long long)statuses[4], (unsigned long long)statuses[5],
           (unsigned long long)errors, run_id);
    return 0;
}
