/* A minimal raw WebSocket client for the benchmarks: control connections to sessmond without libsessmon. */
#include "bench/common/bench_ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char handshake_fmt[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: c2Vzc21vbi1iZW5jaC0xMg==\r\nSec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Protocol: sessmon.v1\r\n\r\n";

int sm_bench_ws_handshake(char *out, size_t cap, int port)
{
    return snprintf(out, cap, handshake_fmt, port);
}

double sm_bench_ws_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void sm_bench_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

/* ---- minimal client side of RFC 6455 ---- */

/* Appends a masked text frame of len bytes to out (caller sizes out >= len + 14). */
size_t sm_bench_ws_frame(unsigned char *out, const char *text, size_t len)
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
size_t sm_bench_ws_parse(const unsigned char *buf, size_t len, int *opcode, const unsigned char **payload,
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

int sm_bench_tcp_connect(int port, const char *source, bool nonblock)
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


void sm_bench_ctl_send(sm_bench_ctl *c, const char *text)
{
    size_t len = strlen(text);
    unsigned char *f = malloc(len + 14);
    size_t n = sm_bench_ws_frame(f, text, len);
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(c->fd, f + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            sm_bench_die("send failed");
        off += (size_t)w;
    }
    free(f);
}

/* Next text message (NUL-terminated copy, caller frees), waiting up to timeout. */
char *sm_bench_ctl_recv(sm_bench_ctl *c, int timeout_ms)
{
    double deadline = sm_bench_ws_now_ms() + timeout_ms;
    for (;;) {
        int op;
        const unsigned char *p;
        size_t pl;
        size_t used = sm_bench_ws_parse(c->buf, c->len, &op, &p, &pl);
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
                sm_bench_die("the server closed the control connection");
            if (msg)
                return msg;
            continue;
        }
        if (c->len + 262144 > c->cap) {
            c->cap = (c->len + 262144) * 2;
            c->buf = realloc(c->buf, c->cap);
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int left = (int)(deadline - sm_bench_ws_now_ms());
        if (poll(&pfd, 1, left > 0 ? left : 0) <= 0) /* timeout 0: only what has arrived */
            return NULL;
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r <= 0)
            sm_bench_die("control connection lost");
        c->len += (size_t)r;
    }
}

void sm_bench_ctl_open(sm_bench_ctl *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = sm_bench_tcp_connect(port, NULL, false);
    if (c->fd < 0)
        sm_bench_die("cannot connect the control session");
    int big = 8 << 20;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    char hs[512];
    sm_bench_ws_handshake(hs, sizeof hs, port);
    if (send(c->fd, hs, strlen(hs), 0) < 0)
        sm_bench_die("handshake send");
    char head[2048];
    size_t hl = 0;
    while (hl < sizeof head - 1) {
        ssize_t r = recv(c->fd, head + hl, 1, 0);
        if (r <= 0)
            sm_bench_die("handshake failed");
        hl++;
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    if (strncmp(head, "HTTP/1.1 101", 12) != 0)
        sm_bench_die("handshake refused");
    sm_bench_ctl_send(c, "{\"type\":\"open\",\"principal\":\"admin\",\"password\":\"admin\",\"clientType\":\"C\"}");
    char *m = sm_bench_ctl_recv(c, 10000);
    if (!m || !strstr(m, "\"opened\""))
        sm_bench_die("control session not opened");
    free(m);
}

/* Sends a request and returns the time until its reply (the reply text in *reply, caller frees). */
double sm_bench_ctl_request(sm_bench_ctl *c, const char *text, long long id, char **reply)
{
    char want[64];
    snprintf(want, sizeof want, "\"id\":%lld,", id);
    double t0 = sm_bench_ws_now_ms();
    sm_bench_ctl_send(c, text);
    for (;;) {
        char *m = sm_bench_ctl_recv(c, 60000);
        if (!m)
            sm_bench_die("no reply");
        if (strstr(m, want) && (strstr(m, "\"reply\"") || strstr(m, "\"error\""))) {
            double t = sm_bench_ws_now_ms() - t0;
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

void sm_bench_ctl_close(sm_bench_ctl *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* The upgrade answered: the request's bytes are dropped and the open request is sent. */
static void send_open(sm_bench_conn *c, char *end, int idx, sm_bench_open_text open_text, void *arg)
{
    if (strncmp((char *)c->buf, "HTTP/1.1 101", 12) != 0) {
        c->state = SM_BENCH_FAILED;
        return;
    }
    size_t head = (size_t)(end - (char *)c->buf) + 4;
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    char open[1024];
    int ol = open_text(open, sizeof open, idx, arg);
    if (ol < 0 || (size_t)ol >= sizeof open) {
        c->state = SM_BENCH_FAILED;
        return;
    }
    unsigned char frame[sizeof open + 14];
    size_t fl = sm_bench_ws_frame(frame, open, (size_t)ol);
    c->state = send(c->fd, frame, fl, MSG_NOSIGNAL) == (ssize_t)fl ? SM_BENCH_OPENING : SM_BENCH_FAILED;
}

int sm_bench_open_sessions(sm_bench_conn *cs, int n, int port, const char *const *sources, int nsources,
                           int max_in_flight, double timeout_ms, sm_bench_open_text open_text, void *arg)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        sm_bench_die("epoll_create1");
    int started = 0, done = 0, failed = 0, in_flight = 0;
    char hs[512];
    int hslen = sm_bench_ws_handshake(hs, sizeof hs, port);
    double deadline = sm_bench_ws_now_ms() + timeout_ms;
    while (done + failed < n && sm_bench_ws_now_ms() < deadline) {
        while (in_flight < max_in_flight && started < n) {
            sm_bench_conn *c = &cs[started];
            c->fd = sm_bench_tcp_connect(port, sources[started % nsources], true);
            c->state = SM_BENCH_CONNECTING;
            if (c->fd < 0) {
                c->state = SM_BENCH_FAILED;
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
        for (int i = 0; i < k; i++) {
            int idx = (int)evs[i].data.u32;
            sm_bench_conn *c = &cs[idx];
            if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                c->state = SM_BENCH_FAILED;
            } else if (c->state == SM_BENCH_CONNECTING) {
                if (send(c->fd, hs, (size_t)hslen, MSG_NOSIGNAL) != hslen) {
                    c->state = SM_BENCH_FAILED;
                } else {
                    c->state = SM_BENCH_HANDSHAKE;
                    c->buf = malloc(4096);
                    c->len = 0;
                    if (!c->buf)
                        c->state = SM_BENCH_FAILED;
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            } else {
                ssize_t r = recv(c->fd, c->buf + c->len, 4095 - c->len, 0);
                if (r <= 0) {
                    c->state = SM_BENCH_FAILED;
                } else {
                    c->len += (size_t)r;
                    c->buf[c->len] = '\0';
                    char *end;
                    if (c->state == SM_BENCH_HANDSHAKE && (end = strstr((char *)c->buf, "\r\n\r\n")) != NULL)
                        send_open(c, end, idx, open_text, arg);
                    if (c->state == SM_BENCH_OPENING) {
                        int op;
                        const unsigned char *p;
                        size_t pl;
                        if (sm_bench_ws_parse(c->buf, c->len, &op, &p, &pl))
                            c->state = (op == 1 && memmem(p, pl, "\"opened\"", 8)) ? SM_BENCH_DONE : SM_BENCH_FAILED;
                    }
                }
            }
            if (c->state == SM_BENCH_DONE || c->state == SM_BENCH_FAILED) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                free(c->buf);
                c->buf = NULL;
                in_flight--;
                if (c->state == SM_BENCH_DONE) {
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
