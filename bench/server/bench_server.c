/* Benchmark of sessmond: N real WebSocket sessions; RSS per session, set_by_filter and snapshot times. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/proc.h"

#define TARGET_RSS_KB 4.0
#define TARGET_SET_MS 20.0
#define TARGET_SNAPSHOT_MS 150.0
#define MAX_IN_FLIGHT 1000

static const char handshake_fmt[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: c2Vzc21vbi1iZW5jaC0xMg==\r\nSec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Protocol: sessmon.v1\r\n\r\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_server: %s\n", what);
    exit(1);
}

/* ---- minimal client side of RFC 6455 ---- */

/* Appends a masked text frame of len bytes to out (caller sizes out >= len + 14). */
static size_t make_frame(unsigned char *out, const char *text, size_t len)
{
    size_t h = 0;
    out[h++] = 0x81;
    if (len < 126) {
        out[h++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    static const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = (unsigned char)text[i] ^ mask[i & 3];
    return h + len;
}

/* Parses one server frame from buf; returns its total size, 0 if incomplete. */
static size_t parse_frame(const unsigned char *buf, size_t len, int *opcode, const unsigned char **payload,
                          size_t *plen)
{
    if (len < 2)
        return 0;
    size_t h = 2;
    uint64_t n = buf[1] & 0x7f;
    if (n == 126) {
        if (len < 4)
            return 0;
        n = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (n == 127) {
        if (len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | buf[2 + i];
        h = 10;
    }
    if (len < h + n)
        return 0;
    *opcode = buf[0] & 0x0f;
    *payload = buf + h;
    *plen = (size_t)n;
    return h + (size_t)n;
}

static int tcp_connect(int port, const char *source, bool nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, source, &s.sin_addr);
        if (bind(fd, (struct sockaddr *)&s, sizeof s) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the control connection (blocking) ---- */

typedef struct ctl {
    int fd;
    unsigned char *buf;
    size_t len, cap;
} ctl;

static void ctl_send(ctl *c, const char *text)
{
    size_t len = strlen(text);
    unsigned char *f = malloc(len + 14);
    size_t n = make_frame(f, text, len);
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(c->fd, f + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            die("send failed");
        off += (size_t)w;
    }
    free(f);
}

/* Next text message (NUL-terminated copy, caller frees), waiting up to timeout. */
static char *ctl_recv(ctl *c, int timeout_ms)
{
    double deadline = now_ms() + timeout_ms;
    for (;;) {
        int op;
        const unsigned char *p;
        size_t pl;
        size_t used = parse_frame(c->buf, c->len, &op, &p, &pl);
        if (used) {
            char *msg = NULL;
            if (op == 1) {
                msg = malloc(pl + 1);
                memcpy(msg, p, pl);
                msg[pl] = '\0';
            }
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            if (op == 8)
                die("the server closed the control connection");
            if (msg)
                return msg;
            continue;
        }
        if (c->len + 262144 > c->cap) {
            c->cap = (c->len + 262144) * 2;
            c->buf = realloc(c->buf, c->cap);
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return NULL;
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r <= 0)
            die("control connection lost");
        c->len += (size_t)r;
    }
}

static void ctl_open(ctl *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect(port, NULL, false);
    if (c->fd < 0)
        die("cannot connect the control session");
    int big = 8 << 20;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    char hs[512];
    snprintf(hs, sizeof hs, handshake_fmt, port);
    if (send(c->fd, hs, strlen(hs), 0) < 0)
        die("handshake send");
    char head[2048];
    size_t hl = 0;
    while (hl < sizeof head - 1) {
        ssize_t r = recv(c->fd, head + hl, 1, 0);
        if (r <= 0)
            die("handshake failed");
        hl++;
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    if (strncmp(head, "HTTP/1.1 101", 12) != 0)
        die("handshake refused");
    ctl_send(c, "{\"type\":\"open\",\"principal\":\"admin\",\"password\":\"admin\",\"clientType\":\"C\"}");
    char *m = ctl_recv(c, 10000);
    if (!m || !strstr(m, "\"opened\""))
        die("control session not opened");
    free(m);
}

/* Sends a request and returns the time until its reply (the reply text in *reply, caller frees). */
static double ctl_request(ctl *c, const char *text, long long id, char **reply)
{
    char want[64];
    snprintf(want, sizeof want, "\"id\":%lld,", id);
    double t0 = now_ms();
    ctl_send(c, text);
    for (;;) {
        char *m = ctl_recv(c, 60000);
        if (!m)
            die("no reply");
        if (strstr(m, want) && (strstr(m, "\"reply\"") || strstr(m, "\"error\""))) {
            double t = now_ms() - t0;
            if (strstr(m, "\"error\"")) {
                fprintf(stderr, "bench_server: request failed: %s\n", m);
                exit(1);
            }
            if (reply)
                *reply = m;
            else
                free(m);
            return t;
        }
        free(m);
    }
}

/* ---- the N sessions (non-blocking, epoll) ---- */

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPENING, ST_DONE, ST_FAILED };

typedef struct bconn {
    int fd;
    int state;
    unsigned char *buf;
    size_t len;
} bconn;

static int open_sessions(bconn *cs, int n, int port, int props)
{
    static const char *const sources[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"};
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int started = 0, done = 0, failed = 0, in_flight = 0;
    char hs[512];
    int hslen = snprintf(hs, sizeof hs, handshake_fmt, port);
    double deadline = now_ms() + 120000;
    while (done + failed < n) {
        while (in_flight < MAX_IN_FLIGHT && started < n) {
            bconn *c = &cs[started];
            c->fd = tcp_connect(port, sources[started % 4], true);
            c->state = ST_CONNECTING;
            if (c->fd < 0) {
                c->state = ST_FAILED;
                failed++;
                started++;
                continue;
            }
            struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)started};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            started++;
            in_flight++;
        }
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 1000);
        if (now_ms() > deadline)
            break;
        for (int i = 0; i < k; i++) {
            bconn *c = &cs[evs[i].data.u32];
            int idx = (int)evs[i].data.u32;
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                c->state = ST_FAILED;
            } else if (c->state == ST_CONNECTING) {
                if (send(c->fd, hs, (size_t)hslen, MSG_NOSIGNAL) != hslen) {
                    c->state = ST_FAILED;
                } else {
                    c->state = ST_HANDSHAKE;
                    c->buf = malloc(4096);
                    c->len = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            } else {
                ssize_t r = recv(c->fd, c->buf + c->len, 4095 - c->len, 0);
                if (r <= 0) {
                    c->state = ST_FAILED;
                } else {
                    c->len += (size_t)r;
                    c->buf[c->len] = '\0';
                    if (c->state == ST_HANDSHAKE) {
                        char *end = strstr((char *)c->buf, "\r\n\r\n");
                        if (end) {
                            if (strncmp((char *)c->buf, "HTTP/1.1 101", 12) != 0) {
                                c->state = ST_FAILED;
                            } else {
                                size_t head = (size_t)(end - (char *)c->buf) + 4;
                                memmove(c->buf, c->buf + head, c->len - head);
                                c->len -= head;
                                char open[512];
                                int ol = snprintf(open, sizeof open,
                                                  "{\"type\":\"open\",\"principal\":\"\",\"clientType\":\"C\","
                                                  "\"environment\":\"C_bench\",\"properties\":{\"Bench\":\"yes\"");
                                for (int p = 1; p < props; p++)
                                    ol += snprintf(open + ol, sizeof open - (size_t)ol, ",\"P%d\":\"v%d\"", p,
                                                   p == 1 ? idx : idx % 10);
                                ol += snprintf(open + ol, sizeof open - (size_t)ol, "}}");
                                unsigned char frame[600];
                                size_t fl = make_frame(frame, open, (size_t)ol);
                                c->state = send(c->fd, frame, fl, MSG_NOSIGNAL) == (ssize_t)fl ? ST_OPENING
                                                                                              : ST_FAILED;
                            }
                        }
                    }
                    if (c->state == ST_OPENING) {
                        int op;
                        const unsigned char *p;
                        size_t pl;
                        if (parse_frame(c->buf, c->len, &op, &p, &pl))
                            c->state = (op == 1 && memmem(p, pl, "\"opened\"", 8)) ? ST_DONE : ST_FAILED;
                    }
                }
            }
            if (c->state == ST_DONE || c->state == ST_FAILED) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                free(c->buf);
                c->buf = NULL;
                in_flight--;
                if (c->state == ST_DONE) {
                    done++;
                } else {
                    failed++;
                    close(c->fd);
                    c->fd = -1;
                }
            }
        }
    }
    close(ep);
    return done;
}

/* ---- sessmond ---- */

static char *run_capture(const char *const *argv)
{
    int p[2];
    if (pipe(p) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 65536, len = 0;
    char *out = malloc(cap);
    ssize_t r;
    while ((r = read(p[0], out + len, cap - len - 1)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    return out;
}

static pid_t start_sessmond(const char *path, const char *dir, int *port)
{
    /* The demo configuration, with heartbeats out of the way (the bench sessions never answer). */
    const char *const pargv[] = {path, "--print-config", NULL};
    char *demo = run_capture(pargv);
    cJSON *root = demo ? cJSON_Parse(demo) : NULL;
    free(demo);
    if (!root)
        die("cannot get the demo configuration from sessmond --print-config");
    cJSON *limits = cJSON_GetObjectItemCaseSensitive(root, "limits");
    cJSON_ReplaceItemInObject(limits, "heartbeatIntervalMs", cJSON_CreateNumber(3600000));
    cJSON_ReplaceItemInObject(limits, "heartbeatTimeoutMs", cJSON_CreateNumber(3600000));
    cJSON_ReplaceItemInObject(limits, "maxQueueBytes", cJSON_CreateNumber(64 << 20));
    /* MAX_IN_FLIGHT handshakes at once from one /24: far above the defence's defaults. */
    cJSON_ReplaceItemInObject(limits, "maxPending", cJSON_CreateNumber(100000));
    cJSON_ReplaceItemInObject(limits, "maxPendingPerSubnet", cJSON_CreateNumber(100000));
    cJSON_ReplaceItemInObject(limits, "maxPendingPerAddress", cJSON_CreateNumber(100000));
    cJSON_ReplaceItemInObject(limits, "handshakeTimeoutMs", cJSON_CreateNumber(60000));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char cfg[512], portfile[512], log[512];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(log, sizeof log, "%s/sessmond.log", dir);
    FILE *f = fopen(cfg, "w");
    fputs(text, f);
    fclose(f);
    free(text);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(path, path, "--config", cfg, "--port", "0", "--bind", "127.0.0.1", "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        FILE *pf = fopen(portfile, "r");
        if (pf) {
            int ok = fscanf(pf, "%d", port) == 1;
            fclose(pf);
            if (ok)
                return pid;
        }
        usleep(10000);
    }
    die("sessmond did not start");
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = 15000, props = 4, rounds = 5, port = 0;
    pid_t pid = 0;
    const char *sessmond = SESSMOND_PATH;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--props") == 0 && i + 1 < argc)
            props = atoi(argv[++i]);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sessmond") == 0 && i + 1 < argc)
            sessmond = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--pid") == 0 && i + 1 < argc)
            pid = (pid_t)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_server [-n SESSIONS] [--props K] [--rounds R] [--sessmond PATH]\n"
                            "                    [--port P --pid PID]   (use a running sessmond on 127.0.0.1:P;\n"
                            "                    it needs the demo principals and long heartbeats)\n");
            return 2;
        }
    }
    if (n < 1 || props < 1 || props > 20 || rounds < 1)
        die("bad arguments");
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)n + 64 > rl.rlim_cur) {
        fprintf(stderr, "bench_server: %d sessions need %d open files; the limit is %llu\n", n, n + 64,
                (unsigned long long)rl.rlim_cur);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/sessmond-bench-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    bool own = port == 0;
    if (own)
        pid = start_sessmond(sessmond, dir, &port);
    usleep(200000);
    ctl admin;
    ctl_open(&admin, port);
    usleep(200000);
    long rss0 = sm_proc_rss_kb(pid);

    bconn *cs = calloc((size_t)n, sizeof *cs);
    double t0 = now_ms();
    int opened = open_sessions(cs, n, port, props);
    double open_ms = now_ms() - t0;
    usleep(500000);
    long rss1 = sm_proc_rss_kb(pid);
    if (opened < n)
        fprintf(stderr, "bench_server: only %d of %d sessions opened\n", opened, n);

    long long id = 1;
    double *set_ms = calloc((size_t)rounds, sizeof *set_ms);
    char req[512];
    char *reply = NULL;
    for (int r = 0; r < rounds; r++) {
        snprintf(req, sizeof req,
                 "{\"type\":\"set_by_filter\",\"id\":%lld,\"filter\":\"Bench is 'yes'\",\"properties\":{\"Round\":\"%d\"}}",
                 id, r);
        set_ms[r] = ctl_request(&admin, req, id++, &reply);
        if (r == 0) {
            const char *cnt = strstr(reply, "\"count\":");
            printf("set_by_filter matched %lld sessions\n", cnt ? atoll(cnt + 8) : -1LL);
        }
        free(reply);
    }
    qsort(set_ms, (size_t)rounds, sizeof *set_ms, cmp_double);

    /* Listener snapshot of every session, all properties. */
    snprintf(req, sizeof req, "{\"type\":\"add_listener\",\"id\":%lld,\"keys\":[\"*F\",\"*U\"]}", id);
    double s0 = now_ms();
    ctl_send(&admin, req);
    long long snap_count = -1;
    size_t snap_bytes = 0;
    for (;;) {
        char *m = ctl_recv(&admin, 60000);
        if (!m)
            die("no snapshot_end");
        snap_bytes += strlen(m);
        const char *e = strstr(m, "\"snapshot_end\"");
        if (e) {
            const char *c = strstr(m, "\"count\":");
            snap_count = c ? atoll(c + 8) : -1;
            free(m);
            break;
        }
        free(m);
    }
    double snap_ms = now_ms() - s0;
    id++;

    /* set_by_filter again, now with that listener receiving a PROPERTIES event per session. */
    snprintf(req, sizeof req,
             "{\"type\":\"set_by_filter\",\"id\":%lld,\"filter\":\"Bench is 'yes'\",\"properties\":{\"Round\":\"L\"}}",
             id);
    double set_listened_ms = ctl_request(&admin, req, id++, NULL);
    long rss2 = sm_proc_rss_kb(pid);

    printf("sessions opened:                %d of %d in %.0f ms (%d user properties each)\n", opened, n, open_ms,
           props);
    if (rss0 < 0 || rss1 < 0) {
        printf("server RSS:                     unknown (give --pid with --port)\n");
    } else {
        printf("server RSS:                     %ld KB idle, %ld KB with the sessions, %ld KB after the snapshot\n",
               rss0, rss1, rss2);
        double per = opened ? (double)(rss1 - rss0) / opened : 0;
        printf("RSS per session:                %.2f KB   (target <= %.1f KB)  %s\n", per, TARGET_RSS_KB,
               per <= TARGET_RSS_KB ? "ok" : "OVER");
    }
    printf("set_by_filter over all:         median %.2f ms, min %.2f ms, max %.2f ms   (target <= %.0f ms)  %s\n",
           set_ms[rounds / 2], set_ms[0], set_ms[rounds - 1], TARGET_SET_MS,
           set_ms[rounds / 2] <= TARGET_SET_MS ? "ok" : "OVER");
    printf("set_by_filter, one listener:    %.2f ms (each change queued as an event)\n", set_listened_ms);
    printf("listener snapshot (*F,*U):      %.2f ms for %lld sessions, %.1f MB   (target <= %.0f ms)  %s\n", snap_ms,
           snap_count, (double)snap_bytes / 1048576.0, TARGET_SNAPSHOT_MS,
           snap_ms <= TARGET_SNAPSHOT_MS ? "ok" : "OVER");

    for (int i = 0; i < n; i++)
        if (cs[i].fd > 0)
            close(cs[i].fd);
    free(cs);
    free(set_ms);
    close(admin.fd);
    free(admin.buf);
    if (own) {
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("sessmond did not exit cleanly (status 0x%x); its log is in %s\n", (unsigned)st, dir);
            return 1;
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/port", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sessmond.log", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
