/* The admin listener: a small HTTP/1.1 server (GET and HEAD of /metrics and /healthz) on sessmond's libev loop. */
#include "server/admin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "core/clock.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/net.h"

#define ACCEPT_BATCH 16      /* accepts per wake-up */
#define PAUSE_NO_FDS_S 0.1   /* out of descriptors: accepting pauses this long */
#define READS_PER_WAKEUP 4   /* a connection never holds the loop for more than this many reads */
#define DRAIN_S 1.0          /* after the response: how long unread input is waited for and dropped */
#define HEADER_ROOM 256      /* the status line and headers go in the buffer's headroom, before the body */

typedef enum conn_phase { PHASE_READING, PHASE_WRITING, PHASE_DRAINING } conn_phase;

/* One admin connection: its request (at most SMD_ADMIN_REQUEST_MAX bytes), then its one response. */
typedef struct admin_conn {
    struct admin_conn *prev, *next; /* oldest first */
    struct smd_admin *admin;
    int fd;
    conn_phase phase;
    ev_io io;
    ev_timer deadline;
    size_t rx_len;
    char rx[SMD_ADMIN_REQUEST_MAX];
    sm_buf tx;
    const char *out; /* what is left to write */
    size_t out_len;
} admin_conn;

struct smd_admin {
    struct ev_loop *loop;
    smd_admin_cfg cfg;
    smd_admin_hooks hooks;
    int listen_fd;
    ev_io accept_io;
    ev_timer accept_resume;
    admin_conn *head, *tail;
    size_t count;
};

static void conn_free(admin_conn *c)
{
    smd_admin *a = c->admin;
    ev_io_stop(a->loop, &c->io);
    ev_timer_stop(a->loop, &c->deadline);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        a->tail = c->prev;
    a->count--;
    sm_buf_free(&c->tx);
    free(c);
}

/* Watch fd for `events` only. */
static void conn_watch(admin_conn *c, int events)
{
    ev_io_stop(c->admin->loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(c->admin->loop, &c->io);
}

static void conn_deadline(admin_conn *c, double seconds)
{
    ev_timer_stop(c->admin->loop, &c->deadline);
    ev_timer_set(&c->deadline, seconds, 0.);
    ev_timer_start(c->admin->loop, &c->deadline);
}

/* The response is out: no more writes, and what the client still sends is read and dropped until it
 * closes (closing with unread input would make the kernel send a reset, which can destroy the
 * response before the client has read it). */
static void conn_drain(admin_conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->phase = PHASE_DRAINING;
    sm_buf_free(&c->tx);
    c->out = NULL;
    conn_watch(c, EV_READ);
    conn_deadline(c, DRAIN_S);
}

static void conn_write(admin_conn *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_watch(c, EV_WRITE);
                return;
            }
            conn_free(c);
            return;
        }
        c->out += n;
        c->out_len -= (size_t)n;
    }
    conn_drain(c);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* The body is already in c->tx (unless the status says otherwise); the status line and headers go
 * into the headroom just before it, so the response goes out in one piece without a copy. */
static void respond(admin_conn *c, int status, const char *content_type, bool head_only)
{
    sm_buf *b = &c->tx;
    if (b->overflow) {
        sm_buf_reset(b);
        status = 500;
        content_type = "text/plain; charset=utf-8";
    }
    if (status >= 400 && status != 503 && b->len == 0)
        sm_buf_printf(b, "%d %s\n", status, status_text(status));
    if (sm_buf_reserve(b, 0) != SM_OK) { /* not even the headroom: no memory */
        conn_free(c);
        return;
    }
    char head[HEADER_ROOM];
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
                        "%sConnection: close\r\n\r\n",
                        status, status_text(status), content_type, b->len,
                        status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (hlen < 0 || (size_t)hlen >= sizeof head || (size_t)hlen > b->headroom) {
        conn_free(c);
        return;
    }
    char *start = b->data + b->headroom - hlen;
    memcpy(start, head, (size_t)hlen);
    c->out = start;
    c->out_len = (size_t)hlen + (head_only ? 0 : b->len);
    c->phase = PHASE_WRITING;
    smd_metrics.admin_requests++;
    /* One deadline for the whole exchange: a client that reads slowly is dropped with the rest. */
    conn_write(c);
}

static void respond_error(admin_conn *c, int status)
{
    sm_buf_reset(&c->tx);
    respond(c, status, "text/plain; charset=utf-8", false);
}

static bool is_token_char(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch);
}

/* Checks the request line of a complete request head (rx holds it, NUL-terminated); 0 when it is
 * a GET or HEAD to answer (*path, *path_len, *head_only set), else the error status. */
static int parse_request_line(admin_conn *c, const char **path, size_t *path_len, bool *head_only)
{
    char *line = c->rx;
    char *eol = strchr(line, '\n');
    if (!eol)
        return 400;
    if (eol > line && eol[-1] == '\r')
        eol--;
    *eol = '\0';
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 || strchr(sp2 + 1, ' '))
        return 400;
    *sp1 = *sp2 = '\0';
    const char *method = line, *target = sp1 + 1, *version = sp2 + 1;
    for (const char *p = method; *p; p++)
        if (!is_token_char(*p))
            return 400;
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0)
        return 400;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return 400;
    if (target[0] != '/')
        return 400;
    *head_only = strcmp(method, "HEAD") == 0;
    if (!*head_only && strcmp(method, "GET") != 0)
        return 405;
    *path = target;
    *path_len = strcspn(target, "?#");
    return 0;
}

static void handle_request(admin_conn *c)
{
    const char *path = NULL;
    size_t plen = 0;
    bool head_only = false;
    int bad = parse_request_line(c, &path, &plen, &head_only);
    if (bad) {
        respond_error(c, bad);
        return;
    }
    smd_admin *a = c->admin;
    sm_buf_reset(&c->tx);
    if (plen == 8 && memcmp(path, "/metrics", 8) == 0) {
        int status = a->hooks.metrics(a->hooks.ctx, &c->tx);
        respond(c, status, "text/plain; version=0.0.4; charset=utf-8", head_only);
    } else if (plen == 8 && memcmp(path, "/healthz", 8) == 0) {
        int status = a->hooks.health(a->hooks.ctx, &c->tx);
        respond(c, status, "text/plain; charset=utf-8", head_only);
    } else {
        respond(c, 404, "text/plain; charset=utf-8", head_only);
    }
}

/* The end of the request head ("\r\n\r\n", or "\n\n" from lenient clients), or NULL. */
static const char *head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n'))
            return buf + i;
    }
    return NULL;
}

static void conn_read(admin_conn *c)
{
    for (int i = 0; i < READS_PER_WAKEUP; i++) {
        char sink[4096];
        bool draining = c->phase == PHASE_DRAINING;
        char *to = draining ? sink : c->rx + c->rx_len;
        size_t room = draining ? sizeof sink : sizeof c->rx - 1 - c->rx_len;
        ssize_t n = recv(c->fd, to, room, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) { /* closed, or an error: nothing more to say to it */
            conn_free(c);
            return;
        }
        if (draining)
            continue;
        size_t scanned_from = c->rx_len > 3 ? c->rx_len - 3 : 0;
        c->rx_len += (size_t)n;
        c->rx[c->rx_len] = '\0';
        if (memchr(c->rx + scanned_from, '\0', c->rx_len - scanned_from)) {
            respond_error(c, 400);
            return;
        }
        if (head_end(c->rx + scanned_from, c->rx_len - scanned_from)) {
            handle_request(c);
            return;
        }
        if (c->rx_len >= sizeof c->rx - 1) {
            respond_error(c, 431);
            return;
        }
    }
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    admin_conn *c = w->data;
    if (c->phase == PHASE_WRITING) {
        if (revents & EV_WRITE)
            conn_write(c);
        return;
    }
    conn_read(c);
}

/* The exchange took too long (a slow or silent client), or the drain after it ended. */
static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    admin_conn *c = w->data;
    if (c->phase != PHASE_DRAINING)
        smd_metrics.admin_refused++;
    conn_free(c);
}

/* Full: a connection already answered (waiting for its client to close) goes first, else the
 * oldest one still sending its request (a client holding connections open cannot lock the scraper
 * out); when every one is being written to, the new one goes. */
static bool make_room(smd_admin *a)
{
    admin_conn *victim = NULL;
    for (admin_conn *c = a->head; c; c = c->next) {
        if (c->phase == PHASE_DRAINING) {
            victim = c;
            break;
        }
        if (c->phase == PHASE_READING && !victim)
            victim = c;
    }
    if (!victim)
        return false;
    if (victim->phase == PHASE_READING)
        smd_metrics.admin_refused++;
    conn_free(victim);
    return true;
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    smd_admin *a = w->data;
    ev_io_start(loop, &a->accept_io);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    smd_admin *a = w->data;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The listening socket stays readable: wait instead of waking up again at once. */
                ev_io_stop(loop, &a->accept_io);
                ev_timer_set(&a->accept_resume, PAUSE_NO_FDS_S, 0.);
                ev_timer_start(loop, &a->accept_resume);
            }
            return;
        }
        if (a->count >= a->cfg.max_connections && !make_room(a)) {
            smd_metrics.admin_refused++;
            close(fd);
            continue;
        }
        admin_conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->admin = a;
        c->fd = fd;
        c->phase = PHASE_READING;
        c->rx_len = 0;
        c->out = NULL;
        c->out_len = 0;
        sm_buf_init(&c->tx, HEADER_ROOM, SMD_ADMIN_RESPONSE_MAX);
        c->next = NULL;
        c->prev = a->tail;
        if (a->tail)
            a->tail->next = c;
        else
            a->head = c;
        a->tail = c;
        a->count++;
        ev_io_init(&c->io, conn_cb, fd, EV_READ);
        c->io.data = c;
        ev_io_start(loop, &c->io);
        ev_timer_init(&c->deadline, deadline_cb, (double)a->cfg.timeout_ms / 1000.0, 0.);
        c->deadline.data = c;
        ev_timer_start(loop, &c->deadline);
    }
}

smd_admin *smd_admin_start(struct ev_loop *loop, const smd_admin_cfg *cfg, const smd_admin_hooks *hooks,
                           int *bound_port, sm_error *err)
{
    smd_admin *a = calloc(1, sizeof *a);
    if (!a) {
        sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        return NULL;
    }
    a->loop = loop;
    a->cfg = *cfg;
    a->hooks = *hooks;
    a->listen_fd = smd_net_open_listener(cfg->host, cfg->port, bound_port);
    if (a->listen_fd < 0) {
        sm_error_set(err, SM_ERR_IO, "admin.listen: cannot listen on %s port %d: %s", cfg->host, cfg->port,
                     strerror(errno));
        free(a);
        return NULL;
    }
    ev_io_init(&a->accept_io, accept_cb, a->listen_fd, EV_READ);
    a->accept_io.data = a;
    ev_io_start(loop, &a->accept_io);
    ev_timer_init(&a->accept_resume, resume_cb, PAUSE_NO_FDS_S, 0.);
    a->accept_resume.data = a;
    return a;
}

void smd_admin_stop(smd_admin *a)
{
    if (!a)
        return;
    while (a->head)
        conn_free(a->head);
    ev_io_stop(a->loop, &a->accept_io);
    ev_timer_stop(a->loop, &a->accept_resume);
    close(a->listen_fd);
    free(a);
}
