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
 *   PORT        one port, or several separated by commas (servers of one cluster, say): the
 *               connections are spread over them in turn, as a round-robin balancer would
 *   WORKSPACES  notifications go to app_id ws0..wsN-1 (default 1), each equally often but
 *               interleaved in a scrambled order, as notifications of many workspaces arrive
 *               (in the order of their ids, every per-workspace index would be filled in
 *               order: an easy case no real workload has)
 *   BODY_BYTES  approximate body size (default 2048)
 *   RATE        open-loop: requests per second in total, spread evenly (default 0: closed loop);
 *               latency is measured from each request's scheduled time, so a server that
 *               falls behind is charged for the queueing it causes (no coordinated omission)
 *
 * environment:
 *   LOADGEN_BODY_FILE  send this body with every request instead of generated notifications
 *                      (a Canvas Kit request, say; WORKSPACES and BODY_BYTES are then ignored)
 *   LOADGEN_SIGN       "webhook" (default): X-Hub-Signature: sha1=HMAC-SHA1(SECRET, body);
 *                      "canvas": X-Body-Signature: HMAC-SHA256(SECRET, body), as Canvas Kit signs
 *   LOADGEN_TOPIC      topic of the generated notifications (default conversation.user.replied)
 *   LOADGEN_IDS        "random" (default): notification ids as Intercom's, "notif_" and a
 *                      version-4 UUID, so they arrive in no order; "ordered": "notif_RUN_N",
 *                      each after the last, so an index over them is only ever appended to
 *                      (an easy case no real workload has; kept to measure what the order costs)
 *
 * The JSON printed at the end has the run's figures and "ids_like", an SQL LIKE pattern that
 * matches the notification ids of this run and no other.
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
#define MAX_PORTS 16
#define MAX_SAMPLES (8u << 20)
#define MAX_FIXED_BODY (256u << 10)

struct conn {
    int fd;
    char *out;
    size_t out_cap, out_len, out_off;
    char in[65536];
    size_t in_len;
    int64_t sent_at_us;
    int busy;
};

static const char *host, *path, *secret, *topic = "conversation.user.replied";
static int ports[MAX_PORTS], n_ports, workspaces = 1, body_bytes = 2048;
static uint64_t seq;
static uint32_t run_id;
static char padding[8192];
static uint32_t *samples;
static size_t n_samples;
static uint64_t statuses[6], errors;
static char *fixed_body;   /* LOADGEN_BODY_FILE, or NULL */
static size_t fixed_len;
static char fixed_sig[80];
static int canvas_sign;
static int ordered_ids; /* LOADGEN_IDS=ordered */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The workspace of notification n: multiplied by a prime (Knuth's multiplicative hash)
   modulo their count, every run of `workspaces` notifications visits each workspace once,
   in a scrambled order. */
static uint64_t workspace_of(uint64_t n)
{
    return n * 2654435761u % (uint64_t)workspaces;
}

/* A bijection of the low 60 bits (multiplications by odd numbers and xor-shifts are each
   invertible modulo 2^60): distinct notifications get distinct, scattered bits. */
static uint64_t scramble60(uint64_t x)
{
    const uint64_t mask = (UINT64_C(1) << 60) - 1;
    x = (x * UINT64_C(0x9E3779B97F4A7C15)) & mask;
    x ^= x >> 29;
    x = (x * UINT64_C(0xBF58476D1CE4E5B9)) & mask;
    x ^= x >> 32;
    return x;
}

/* Notification n's id: a version-4 UUID (scrambled bits of n, the run in the last 8 hex
   digits), or the ordered form. */
static void notification_id(uint64_t n, char *out, size_t size)
{
    if (ordered_ids) {
        snprintf(out, size, "notif_%08x_%llu", run_id, (unsigned long long)n);
        return;
    }
    uint64_t bits = scramble60(n), more = scramble60(~n);
    snprintf(out, size, "notif_%08x-%04x-4%03x-%04x-%04x%08x", (unsigned)(bits >> 28),
             (unsigned)(bits >> 12) & 0xffff, (unsigned)bits & 0xfff,
             0x8000 | ((unsigned)more & 0x3fff), (unsigned)(more >> 14) & 0xffff, run_id);
}

/* A realistic conversation.user.replied notification, distinct by id. */
static void build_request(struct conn *c)
{
    char body[8192], id[64];
    uint64_t n = ++seq;
    notification_id(n, id, sizeof id);
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
        "\"links\":{},\"id\":\"%s\",\"topic\":\"%s\","
        "\"delivery_status\":\"pending\",\"delivery_attempts\":1,\"delivered_at\":0,"
        "\"first_sent_at\":1732450101,\"created_at\":1732450101,\"self\":null}",
        (unsigned long long)workspace_of(n), (unsigned long long)(n % 5000),
        (unsigned long long)n, padding, id, topic);
    unsigned char mac[20];
    unsigned int mac_len = 20;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (unsigned char *)body, (size_t)len, mac, &mac_len);
    char sig[41];
    for (int i = 0; i < 20; i++)
        snprintf(sig + 2 * i, 3, "%02x", mac[i]);
    c->out_len = (size_t)snprintf(c->out, c->out_cap,
                                  "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                                  "User-Agent: intercom-parrot-service-client/1.0\r\n"
                                  "X-Hub-Signature: sha1=%s\r\nContent-Length: %d\r\n\r\n%s",
                                  path, host, sig, len, body);
    c->out_off = 0;
}

/* The same body every time (LOADGEN_BODY_FILE), signed once at start. */
static void build_fixed_request(struct conn *c)
{
    int head = snprintf(c->out, c->out_cap,
                        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                        "Accept: application/json\r\n%s: %s\r\nContent-Length: %zu\r\n\r\n",
                        path, host, canvas_sign ? "X-Body-Signature" : "X-Hub-Signature",
                        fixed_sig, fixed_len);
    memcpy(c->out + head, fixed_body, fixed_len);
    c->out_len = (size_t)head + fixed_len;
    c->out_off = 0;
}

static void load_fixed_body(const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        perror(file);
        exit(2);
    }
    fixed_body = malloc(MAX_FIXED_BODY);
    if (!fixed_body) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(2);
    }
    fixed_len = fread(fixed_body, 1, MAX_FIXED_BODY, f);
    if (!feof(f)) {
        fprintf(stderr, "loadgen: %s is larger than %u bytes\n", file, MAX_FIXED_BODY);
        exit(2);
    }
    fclose(f);
    unsigned char mac[32];
    unsigned int mac_len = sizeof mac;
    HMAC(canvas_sign ? EVP_sha256() : EVP_sha1(), secret, (int)strlen(secret),
         (unsigned char *)fixed_body, fixed_len, mac, &mac_len);
    size_t off = canvas_sign ? 0 : (size_t)snprintf(fixed_sig, sizeof fixed_sig, "sha1=");
    for (unsigned int i = 0; i < mac_len; i++)
        snprintf(fixed_sig + off + 2 * i, 3, "%02x", mac[i]);
}

/* "8080" or "8080,8081": 0 if the list is malformed. */
static int parse_ports(const char *list)
{
    const char *p = list;
    for (n_ports = 0; n_ports < MAX_PORTS; n_ports++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 65535)
            return 0;
        ports[n_ports] = (int)v;
        if (*end == '\0') {
            n_ports++;
            return 1;
        }
        if (*end != ',')
            return 0;
        p = end + 1;
    }
    return 0;
}

static int connect_one(int port)
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
        fprintf(stderr, "usage: loadgen HOST PORT[,PORT...] PATH SECRET CONNECTIONS SECONDS "
                        "[WORKSPACES [BODY_BYTES [RATE]]]\n");
        return 2;
    }
    host = argv[1];
    path = argv[3];
    secret = argv[4];
    int nconns = atoi(argv[5]);
    double seconds = atof(argv[6]);
    if (argc > 7)
        workspaces = atoi(argv[7]);
    if (argc > 8)
        body_bytes = atoi(argv[8]);
    double rate = argc > 9 ? atof(argv[9]) : 0;
    if (nconns < 1 || nconns > MAX_CONNS || workspaces < 1 || !parse_ports(argv[2])) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    if (getenv("LOADGEN_TOPIC") && *getenv("LOADGEN_TOPIC"))
        topic = getenv("LOADGEN_TOPIC");
    const char *sign = getenv("LOADGEN_SIGN");
    canvas_sign = sign && strcmp(sign, "canvas") == 0;
    const char *ids = getenv("LOADGEN_IDS");
    if (ids && *ids && strcmp(ids, "ordered") != 0 && strcmp(ids, "random") != 0) {
        fprintf(stderr, "loadgen: LOADGEN_IDS must be random or ordered, not %s\n", ids);
        return 2;
    }
    ordered_ids = ids && strcmp(ids, "ordered") == 0;
    const char *body_file = getenv("LOADGEN_BODY_FILE");
    if (body_file && *body_file)
        load_fixed_body(body_file);
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
    if (!samples || !conns) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    int ep = epoll_create1(0);
    for (int i = 0; i < nconns; i++) {
        conns[i].out_cap = (fixed_body ? fixed_len : 8192) + 1024;
        conns[i].out = malloc(conns[i].out_cap);
        if (!conns[i].out) {
            fprintf(stderr, "loadgen: out of memory\n");
            return 2;
        }
        conns[i].fd = connect_one(ports[i % n_ports]);
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
        int idle = 0;
        for (int i = 0; i < nconns; i++) {
            struct conn *c = &conns[i];
            if (c->busy)
                continue;
            if (interval_us > 0 && t < next_send) {
                idle = 1;
                continue;
            }
            if (fixed_body)
                build_fixed_request(c);
            else
                build_request(c);
            c->busy = 1;
            c->sent_at_us = interval_us > 0 ? next_send : t;
            next_send += (int64_t)interval_us;
            send_more(c);
        }
        /*
         * Open loop: sleep exactly until the next request is due (epoll_wait would round to
         * milliseconds). With every connection busy an answer wakes us: no need to spin.
         */
        int64_t wait_us = 1000;
        if (idle && next_send - now_us() < wait_us)
            wait_us = next_send - now_us() > 0 ? next_send - now_us() : 0;
        struct timespec ts = {0, (long)wait_us * 1000};
        int n = epoll_pwait2(ep, events, 256, &ts, NULL);
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
    char ids_like[64]; /* (in LIKE, _ is any one character) */
    if (ordered_ids)
        snprintf(ids_like, sizeof ids_like, "notif_%08x_%%", run_id);
    else
        snprintf(ids_like, sizeof ids_like, "notif_%%-____%08x", run_id);
    qsort(samples, n_samples, sizeof *samples, cmp_u32);
#define PCT(p) (n_samples ? samples[(size_t)((double)(n_samples - 1) * (p))] / 1000.0 : 0)
    printf("{\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"status_2xx\":%llu,\"status_4xx\":%llu,"
           "\"status_5xx\":%llu,\"errors\":%llu,\"run_id\":\"%08x\",\"ids_like\":\"%s\"}\n",
           n_samples, elapsed, (double)n_samples / elapsed, PCT(0.50), PCT(0.90), PCT(0.99),
           n_samples ? samples[n_samples - 1] / 1000.0 : 0, (unsigned long long)statuses[2],
           (unsigned long long)statuses[4], (unsigned long long)statuses[5],
           (unsigned long long)errors, run_id, ids_like);
    return 0;
}
