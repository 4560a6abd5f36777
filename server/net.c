/* The WebSocket transport of sessmond: our own listening socket and admission gate, libwebsockets on a
 * libev (epoll) loop with its sockets serviced in bounded slices, signals and the sweep timer. */
#include "server/net.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <libwebsockets.h>

#include "core/utf8.h"
#include "server/admin.h"
#include "server/audit.h"
#include "server/cluster.h"
#include "server/gate.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/notify.h"
#include "server/outq.h"
#include "server/server.h"

#define SHUTDOWN_GRACE_S 3.0
#define RX_BUFFER_SIZE 512
#define TX_PACKET_SIZE (64 * 1024)
#define ACCEPT_BATCH 64        /* accepts per wake-up: the loop serves everyone else in between */
#define FULL_EVICT_AGE_MS 500  /* when the gate is full, a pending connection this old makes room */
#define PAUSE_FULL_S 0.05      /* gate full of young connections: accepting pauses this long */
#define PAUSE_NO_FDS_S 0.1     /* out of descriptors: accepting pauses this long */
#define REPORT_INTERVAL_MS 10000 /* refusals and repeated lws lines are logged once per interval */
#define GATE_SWEEP_S 0.1
#define GATE_SWEEP_MAX 256     /* expired pending connections dropped per sweep */
#define DRAIN_MAX_BYTES (64u * 1024u * 1024u)
#define TRIM_MIN_RELEASED (4u * 1024u * 1024u)
#define TRIM_MIN_INTERVAL_MS 1000
#define FD_LIMIT_MAX 1048576   /* lws falls back to 2560 descriptors above 10 million */
#define IO_SLICE_US 2500       /* lws socket service per loop pass (io_slice_cb) */
#define IO_SLICE_MAX_FDS 1024  /* ... and at most this many sockets, whatever the clock says */
#define IO_ARMED_QUEUED_MAX 64 /* queued sockets whose watcher stays armed (see io_slot_ready_cb) */
/* The connections are spread over several lws contexts on the one loop (docs/architecture.md
 * § What a mass close costs): Debian's lws reads every open connection of a context at each close,
 * so n closes cost n^2/2 reads in one context, n^2/(2K) in K. What stays is the scan of the
 * context's whole fd table (as many entries as the descriptor limit) at each close, whatever K:
 * 16 and 19 contexts measured no better than 8 (many closes at once no longer stall the loop
 * though: lws's sockets are serviced a slice per loop pass, below). Each context costs 3
 * descriptors and two tables of 8 bytes per descriptor of the limit that lws zeroes (so resident)
 * at start: one context per FDS_PER_SHARD descriptors, at most TRANSPORT_SHARDS_MAX, and no more
 * than SHARD_TABLES_BUDGET of tables in all (but always one). */
#ifndef TRANSPORT_SHARDS_MAX
#define TRANSPORT_SHARDS_MAX 8
#endif
#define FDS_PER_SHARD 1024
#define SHARD_TABLE_BYTES_PER_FD 16
#define SHARD_TABLES_BUDGET (8u * 1024u * 1024u)

/* lws's per-connection memory: the core's smd_conn first, so lws's user pointer is the smd_conn. */
typedef struct smd_net_conn {
    smd_conn core;
    /* A frame that broke a rule is still arriving: the close frame waits until it is read to its
     * end, or a client busy sending it would get a reset (lws closes the socket with input unread
     * right after the close frame) instead of the close frame. */
    bool draining;
    size_t drained;
} smd_net_conn;

typedef struct smd_net_stats {
    uint64_t over_address, over_subnet, evicted, timed_out, no_fds;
} smd_net_stats;
/* The close opcode of lws_write(): lws 4.1 keeps it out of the public enum (the slot is reserved
 * there, "handled by lws_close_reason()") but its ws role frames it like PING/PONG. */
#define SMD_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

struct smd_net;

/* One lws context and its vhost: its own fd table, timers and header pool. lws's context user
 * pointer is the shard. */
typedef struct smd_net_shard {
    struct smd_net *net;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    size_t wsi_count; /* live connections: a new one goes to the shard with the fewest */
} smd_net_shard;

/* One descriptor as lws's libev glue watches it: its watchers never reach libev (see "lws's socket
 * watchers" below); ours stands in for them on the loop. Indexed by descriptor. */
typedef struct smd_io_slot {
    ev_io io;               /* on the loop, watching what lws's watchers want, unless queued or busy */
    ev_io *lws_read, *lws_write; /* lws's watchers of this descriptor while lws has them started */
    smd_conn *conn;         /* its WebSocket connection, from ESTABLISHED to CLOSED */
    int ready;              /* EV_READ / EV_WRITE seen by io and not yet handed to lws */
    int next;               /* the next descriptor in the same queue */
    bool queued, busy;
} smd_io_slot;

/* A FIFO of descriptors threaded through their slots: a descriptor is in at most one queue once,
 * so a queue never holds more than the descriptor limit. */
typedef struct smd_io_queue {
    int head, tail; /* -1 when empty */
} smd_io_queue;

typedef struct smd_net {
    smd_server srv;
    const smd_config *cfg;
    smd_net_shard shards[TRANSPORT_SHARDS_MAX];
    size_t shard_count;
    struct ev_loop *loop;
    ev_signal sigterm, sigint;
    ev_signal sighup;    /* reload (server/reload.c) and reopen the audit log */
    ev_signal sigusr1;   /* reopen the audit log only (logrotate: no config reload as a side effect) */
    ev_prepare pass_end; /* once per loop pass, before it waits: the audit log is written */
    smd_config *live_cfg;
    const smd_net_opts *opts;
    ev_timer tick, grace, finish;
    ev_idle slice; /* drives the core's sliced operations, one slice per loop pass */
    bool stopping, finished;
    /* accepting */
    int listen_fd;
    int reserve_fd; /* spent to accept-and-close when out of descriptors */
    ev_io accept_io;
    ev_timer accept_resume, gate_sweep;
    smd_gate gate;
    smd_net_stats refused;  /* since the last report */
    int64_t last_report_ms;
    bool out_of_fds;
    int64_t last_trim_ms;
    size_t fd_limit;
    smd_admin *admin; /* /metrics and /healthz; NULL when admin.listen is not set */
    /* lws's sockets, serviced in slices */
    smd_io_slot *slots;
    size_t slot_count;
    smd_io_queue fresh;   /* ready since the last slice */
    smd_io_queue backlog; /* ready earlier, not yet serviced */
    smd_io_queue ending;  /* ready, and its connection is closing or its peer gone: the costly ones */
    size_t queued;        /* in all three */
    ev_idle io_slice;
} smd_net;

/* ---- lws's socket watchers, serviced in slices ----
 *
 * lws's libev glue gives every socket an ev_io watcher whose callback services it at once. When
 * thousands of clients vanish together, epoll reports them all in one batch and libev runs every
 * callback in that one loop pass: each is an lws close (with the fd-table scan of Debian's _DEBUG
 * build, docs/architecture.md § What a mass close costs), so the whole batch (~0.5 s for 15,000)
 * ran before any other client was served. lws's external-poll hooks (LWS_CALLBACK_ADD_POLL_FD...)
 * would let us own readiness, but Debian builds 4.1.6 without LWS_WITH_EXTERNAL_POLL, and libev
 * can neither bound a batch nor invoke part of its pending watchers.
 *
 * So the glue's calls to ev_io_start/ev_io_stop (and ev_idle_start, below) are intercepted:
 * sessmond defines them (the executable exports them, server/CMakeLists.txt, so the dlopen()ed glue
 * binds to them first) and passes every other watcher on to libev. For lws's own watchers it only
 * records what lws wants (read, write) per descriptor and watches that with a watcher of its own; a
 * ready descriptor is queued instead of serviced, and an idle watcher hands the queued ones to lws
 * (ev_invoke of lws's watcher, exactly what libev would have done) for about IO_SLICE_US per loop
 * pass. Each lws close
 * costs tens of microseconds, anything else a few: connections closing (by us, or their peer gone:
 * a MSG_PEEK reads EOF) wait in their own queue, served last but never with less than a quarter of
 * a slice; descriptors that became ready since the last slice go first. So a request that arrives
 * amid thousands of hang-ups waits a slice or two, not the whole drain. */

typedef void (*ev_io_fn)(struct ev_loop *, ev_io *);
typedef void (*ev_idle_fn)(struct ev_loop *, ev_idle *);
typedef void (*any_cb)(void); /* a callback of either kind, for comparison */

static smd_net *io_owner; /* the running server: its loop's lws watchers are taken over */
static any_cb lws_io_cb;   /* the one callback lws's glue gives all its I/O watchers, once seen */
static any_cb lws_idle_cb; /* ... and its idle watchers (one per context) */
static ev_idle *lws_idles[TRANSPORT_SHARDS_MAX]; /* those idle watchers, once started */
static ev_io_fn real_io_start, real_io_stop;
static ev_idle_fn real_idle_start;
static void io_slice_cb(struct ev_loop *loop, ev_idle *w, int revents);

/* libev's own functions, past ours in the lookup order. Without them no watcher can work. */
static void find_real_io(void)
{
    if (real_io_start && real_io_stop && real_idle_start)
        return;
    *(void **)&real_io_start = dlsym(RTLD_NEXT, "ev_io_start");
    *(void **)&real_io_stop = dlsym(RTLD_NEXT, "ev_io_stop");
    *(void **)&real_idle_start = dlsym(RTLD_NEXT, "ev_idle_start");
    if (!real_io_start || !real_io_stop || !real_idle_start) {
        fprintf(stderr, "sessmond: libev's ev_io_start/ev_io_stop/ev_idle_start not found: %s\n", dlerror());
        abort();
    }
}

/* Is the callback cb (of *known, once found) lws's? dladdr names its library, once. */
static bool is_lws_callback(any_cb cb, any_cb *known)
{
    if (*known)
        return cb == *known;
    Dl_info info;
    void *addr;
    memcpy(&addr, &cb, sizeof addr);
    if (!cb || !dladdr(addr, &info) || !info.dli_fname || !strstr(info.dli_fname, "libwebsockets"))
        return false;
    *known = cb;
    return true;
}

static bool is_lws_watcher(const ev_io *w)
{
    return is_lws_callback((any_cb)w->cb, &lws_io_cb);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool io_queue_empty(const smd_io_queue *q)
{
    return q->head < 0;
}

static void io_queue_push(smd_net *net, smd_io_queue *q, int fd)
{
    net->queued++;
    net->slots[fd].next = -1;
    if (q->tail >= 0)
        net->slots[q->tail].next = fd;
    else
        q->head = fd;
    q->tail = fd;
}

static int io_queue_pop(smd_net *net, smd_io_queue *q)
{
    int fd = q->head;
    if (fd >= 0) {
        net->queued--;
        q->head = net->slots[fd].next;
        if (q->head < 0)
            q->tail = -1;
    }
    return fd;
}

/* Moves all of src to the end of dst. */
static void io_queue_append(smd_net *net, smd_io_queue *dst, smd_io_queue *src)
{
    if (io_queue_empty(src))
        return;
    if (io_queue_empty(dst))
        dst->head = src->head;
    else
        net->slots[dst->tail].next = src->head;
    dst->tail = src->tail;
    src->head = src->tail = -1;
}

/* Our watcher of fd watches what lws's want; a descriptor waiting in a queue or being serviced
 * keeps its watcher as it is (if any) until it has been serviced. Re-arming with the same events
 * costs nothing: the watcher is left alone, so the common case (serviced in the pass it became
 * ready, wanting the same again) makes no epoll_ctl. */
static void io_slot_arm(smd_net *net, int fd)
{
    smd_io_slot *s = &net->slots[fd];
    int want = (s->lws_read ? EV_READ : 0) | (s->lws_write ? EV_WRITE : 0);
    /* lws gave the descriptor up (closed): nothing may stay registered for its next owner */
    if (!want && ev_is_active(&s->io))
        real_io_stop(net->loop, &s->io);
    if (s->queued || s->busy)
        return;
    if (ev_is_active(&s->io)) {
        if ((s->io.events & (EV_READ | EV_WRITE)) == want)
            return;
        real_io_stop(net->loop, &s->io);
    }
    if (want) {
        ev_io_set(&s->io, fd, want);
        real_io_start(net->loop, &s->io);
    }
}

static bool io_idle(const smd_net *net)
{
    return io_queue_empty(&net->fresh) && io_queue_empty(&net->backlog) && io_queue_empty(&net->ending);
}

/* Will servicing fd close it? Peeking costs a system call, spent only when others are waiting (a
 * mass drop: the first hang-up finds the queues empty, the thousands after it do not). */
static bool io_is_ending(const smd_net *net, const smd_io_slot *s, int fd, int revents)
{
    if (s->conn && (s->conn->closing || s->conn->close_sent))
        return true;
    if (!(revents & EV_READ) || io_idle(net))
        return false;
    char byte;
    ssize_t r = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && (errno == ECONNRESET || errno == ETIMEDOUT || errno == EPIPE));
}

static void io_slot_ready_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    smd_net *net = io_owner;
    int fd = w->fd;
    smd_io_slot *s = &net->slots[fd];
    /* libev's verdict on a descriptor it cannot watch: lws's glue ignored it too */
    if (revents & EV_ERROR) {
        real_io_stop(loop, w);
        return;
    }
    s->ready |= revents & (EV_READ | EV_WRITE);
    if (s->queued)
        return;
    s->queued = true;
    io_queue_push(net, io_is_ending(net, s, fd, revents) ? &net->ending : &net->fresh, fd);
    /* A few queued descriptors keep their watcher (epoll reports them again while they wait, which
     * costs less than taking them out of epoll and back); beyond that they are taken out, or each
     * pass of a long drain would have epoll report every waiting descriptor again. */
    if (net->queued > IO_ARMED_QUEUED_MAX)
        real_io_stop(loop, w);
    if (!ev_is_active(&net->io_slice))
        ev_idle_start(loop, &net->io_slice);
}

/* lws's watcher w starts (on) or stops. */
static void io_slot_track(smd_net *net, ev_io *w, bool on)
{
    smd_io_slot *s = &net->slots[w->fd];
    ev_io **p = w->events & EV_READ ? &s->lws_read : &s->lws_write;
    if (on)
        *p = w;
    else if (*p == w)
        *p = NULL;
    /* lws is done with the descriptor: what was seen on it does not concern its next connection */
    if (!s->lws_read && !s->lws_write) {
        s->ready = 0;
        s->conn = NULL;
    }
    if (!s->io.cb)
        ev_init(&s->io, io_slot_ready_cb);
    io_slot_arm(net, w->fd);
}

static bool io_taken_over(struct ev_loop *loop, const ev_io *w)
{
    smd_net *net = io_owner;
    return net && loop == net->loop && w->fd >= 0 && (size_t)w->fd < net->slot_count && is_lws_watcher(w);
}

static void io_start_or_stop(struct ev_loop *loop, ev_io *w, bool start)
{
    find_real_io();
    if (io_taken_over(loop, w))
        io_slot_track(io_owner, w, start);
    else
        (start ? real_io_start : real_io_stop)(loop, w);
}

void ev_io_start(struct ev_loop *loop, ev_io *w)
{
    io_start_or_stop(loop, w, true);
}

void ev_io_stop(struct ev_loop *loop, ev_io *w)
{
    io_start_or_stop(loop, w, false);
}

/* lws's idle watcher (per context) does its deferred work: input it buffered while a connection's
 * reading was paused, TLS records already decrypted, and the re-arming of its timer for timeouts it
 * scheduled since. At priority 0, libev runs it only in a pass with no event pending at all, which
 * a busy server may not see for seconds, so each slice runs it too (io_run_lws_idles); it is only
 * recorded here, libev still runs it as before. */
void ev_idle_start(struct ev_loop *loop, ev_idle *w)
{
    find_real_io();
    smd_net *net = io_owner;
    if (net && loop == net->loop && w->cb != io_slice_cb &&
        is_lws_callback((any_cb)w->cb, &lws_idle_cb)) {
        size_t free_at = TRANSPORT_SHARDS_MAX;
        bool known = false;
        for (size_t i = 0; i < TRANSPORT_SHARDS_MAX && !known; i++) {
            known = lws_idles[i] == w;
            if (!lws_idles[i] && free_at == TRANSPORT_SHARDS_MAX)
                free_at = i;
        }
        if (!known && free_at < TRANSPORT_SHARDS_MAX)
            lws_idles[free_at] = w;
    }
    real_idle_start(loop, w);
}

static void io_run_lws_idles(smd_net *net)
{
    for (size_t i = 0; i < TRANSPORT_SHARDS_MAX && !net->finished; i++)
        if (lws_idles[i] && ev_is_active(lws_idles[i]))
            ev_invoke(net->loop, lws_idles[i], EV_IDLE);
}

/* Hands fd's readiness to lws, as libev would have: each started watcher of lws whose events
 * came, read first. Servicing may close the connection (lws then stops both watchers). */
static void io_service(smd_net *net, int fd)
{
    smd_io_slot *s = &net->slots[fd];
    s->queued = false;
    /* A watcher left armed may have been reported again in this pass: that report is older than
     * this service, and lws takes a read of nothing during its handshake for a hang-up. */
    ev_clear_pending(net->loop, &s->io);
    int ready = s->ready;
    s->ready = 0;
    s->busy = true;
    bool wrote_before = s->lws_write != NULL;
    if ((ready & EV_READ) && s->lws_read)
        ev_invoke(net->loop, s->lws_read, EV_READ);
    if ((ready & EV_WRITE) && s->lws_write) {
        /* A reply may confirm an audited change: its record reaches the file before the reply
         * leaves (also when the reply is written in the slice that read its request). */
        smd_audit_flush(net->srv.audit);
        ev_invoke(net->loop, s->lws_write, EV_WRITE);
    }
    s->busy = false;
    /* What was read asked for a write (a reply): a socket is nearly always writable, so it is tried
     * in this slice rather than after another trip through epoll; once only, so a connection with
     * more to write than the socket takes waits for epoll like any other. */
    if (!wrote_before && s->lws_write && !(ready & EV_WRITE)) {
        s->ready = EV_WRITE;
        s->queued = true;
        io_queue_push(net, &net->fresh, fd);
        return;
    }
    io_slot_arm(net, fd);
}

/* Services q until the deadline (at least one descriptor) or the per-slice count; returns how
 * many it serviced. */
static int io_serve(smd_net *net, smd_io_queue *q, int64_t deadline, int max)
{
    int n = 0;
    while (n < max && !net->finished && !io_queue_empty(q)) {
        io_service(net, io_queue_pop(net, q));
        n++;
        if (mono_us() >= deadline)
            break;
    }
    return n;
}

static void io_slice_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    smd_net *net = w->data;
    int64_t start = mono_us();
    bool waiting = !io_queue_empty(&net->backlog) || !io_queue_empty(&net->ending);
    int n = io_serve(net, &net->fresh, start + (waiting ? IO_SLICE_US / 2 : IO_SLICE_US),
                     waiting ? IO_SLICE_MAX_FDS / 2 : IO_SLICE_MAX_FDS);
    io_queue_append(net, &net->backlog, &net->fresh);
    bool ending = !io_queue_empty(&net->ending);
    n += io_serve(net, &net->backlog, start + (ending ? IO_SLICE_US * 3 / 4 : IO_SLICE_US),
                  (ending ? IO_SLICE_MAX_FDS * 3 / 4 : IO_SLICE_MAX_FDS) - n);
    n += io_serve(net, &net->ending, start + IO_SLICE_US, IO_SLICE_MAX_FDS - n);
    if (n > 0)
        io_run_lws_idles(net);
    if (net->finished || io_idle(net))
        ev_idle_stop(loop, w);
}

/* The slot of wsi's descriptor learns (c = the connection) or forgets (was = it) its connection. */
static void io_slot_set_conn(smd_net *net, struct lws *wsi, smd_conn *was, smd_conn *c)
{
    int fd = lws_get_socket_fd(wsi);
    if (net->slots && fd >= 0 && (size_t)fd < net->slot_count && net->slots[fd].conn == was)
        net->slots[fd].conn = c;
}

/* From before the first lws context to after the last is destroyed. */
static bool io_take_over(smd_net *net, size_t fd_limit)
{
    find_real_io();
    net->slots = calloc(fd_limit, sizeof *net->slots);
    if (!net->slots)
        return false;
    net->slot_count = fd_limit;
    net->fresh.head = net->fresh.tail = net->backlog.head = net->backlog.tail = -1;
    net->ending.head = net->ending.tail = -1;
    ev_idle_init(&net->io_slice, io_slice_cb);
    ev_set_priority(&net->io_slice, EV_MAXPRI);
    net->io_slice.data = net;
    io_owner = net;
    return true;
}

static void io_give_back(smd_net *net)
{
    if (io_owner != net)
        return;
    ev_idle_stop(net->loop, &net->io_slice);
    for (size_t fd = 0; fd < net->slot_count; fd++)
        if (ev_is_active(&net->slots[fd].io))
            real_io_stop(net->loop, &net->slots[fd].io);
    io_owner = NULL;
    memset(lws_idles, 0, sizeof lws_idles);
    free(net->slots);
    net->slots = NULL;
    net->slot_count = 0;
}

/* ---- transport hooks for the core ---- */

/* Both do nothing once the context is being destroyed: lws then closes every connection itself. */
static void tr_want_write(void *ctx, smd_conn *c)
{
    smd_net *net = ctx;
    if (!net->finished)
        lws_callback_on_writable((struct lws *)c->handle);
}

/* Synchronous: an async kill is a zero-second lws timer, and lws 4.1 inserts timers into one sorted
 * list past every earlier-due entry, so killing k connections in one pass would cost O(k^2). */
static void tr_kill(void *ctx, smd_conn *c)
{
    smd_net *net = ctx;
    if (!net->finished)
        lws_set_timeout((struct lws *)c->handle, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

/* An idle watcher keeps the loop from blocking while work is pending; at the highest priority it
 * runs on every pass, between the network events, rather than only when the loop is idle. */
static void tr_want_slice(void *ctx)
{
    smd_net *net = ctx;
    if (!net->finished && !ev_is_active(&net->slice))
        ev_idle_start(net->loop, &net->slice);
}

static void tr_pause_rx(void *ctx, smd_conn *c, bool paused)
{
    smd_net *net = ctx;
    if (!net->finished)
        lws_rx_flow_control((struct lws *)c->handle, paused ? 0 : 1);
}

static void schedule_finish(smd_net *net)
{
    if (!net->finished && !ev_is_active(&net->finish)) {
        ev_timer_set(&net->finish, 0., 0.);
        ev_timer_start(net->loop, &net->finish);
    }
}

/* ---- lws callback: thin, everything real happens in server.c ---- */

/* After our close frame: once lws has it all on the socket, close. Returning -1 while lws still
 * buffers part of it would make lws arm a flush timeout (the O(n) insert again), so a partly
 * written frame waits for the next WRITEABLE. Input the client sent meanwhile is read and
 * dropped first: closing a socket with unread input makes the kernel answer with a RST. */
static int close_after_frame(struct lws *wsi)
{
    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (!lws_is_ssl(wsi)) {
        int fd = lws_get_socket_fd(wsi);
        char sink[4096];
        for (int i = 0; fd >= 0 && i < 64; i++)
            if (recv(fd, sink, sizeof sink, MSG_DONTWAIT) <= 0)
                break;
    }
    return -1;
}

/* The close frame is written here rather than by lws_close_reason + return -1: lws's own close
 * handshake arms two 5 s timeouts per connection (close send, close ack), and lws 4.1 keeps all
 * timeouts in one sorted list walked from the head on every insert, so closing n connections at
 * once cost O(n^2) (15,000 closes took over 90 s, nearly all in lws_dll2_add_sorted). The socket
 * is closed as soon as the frame is out (lws then closes at once, no timer), without waiting for
 * the client's answering close frame: a slow client must not hold the server's socket, and n
 * closes must cost O(n) whatever the clients do. */
static int send_close_frame(struct lws *wsi, smd_conn *c)
{
    /* The client closed first: lws answers its close frame itself. */
    if (c->peer_closed)
        return -1;
    unsigned char frame[LWS_PRE + 125];
    int code = c->close_code ? c->close_code : LWS_CLOSE_STATUS_NORMAL;
    const char *text = c->close_text ? c->close_text : "";
    size_t tlen = strlen(text);
    if (tlen > 123)
        tlen = 123;
    frame[LWS_PRE] = (unsigned char)(code >> 8);
    frame[LWS_PRE + 1] = (unsigned char)(code & 0xff);
    memcpy(frame + LWS_PRE + 2, text, tlen);
    c->close_sent = true;
    if (lws_write(wsi, frame + LWS_PRE, tlen + 2, SMD_LWS_WRITE_CLOSE) < 0)
        return -1;
    return close_after_frame(wsi);
}

/* Not closed from inside the receive callback: lws would then tear the connection down with the
 * client's remaining input unread (a second close while the close frame is still only scheduled
 * kills the socket, and unread input makes the kernel send a RST), so the client could miss the
 * close frame and its reason. The close goes out from the next WRITEABLE, as every other close
 * does; input arriving until then is dropped by on_receive. */
static int violation(struct lws *wsi, smd_conn *c, sm_close_reason reason, int code)
{
    smd_net_conn *nc = (smd_net_conn *)c;
    nc->draining = lws_remaining_packet_payload(wsi) > 0;
    nc->drained = 0;
    smd_conn_on_violation(c, reason, code);
    return 0;
}

/* The connection is past open/resume: it no longer counts against the pre-login limits. */
static void leave_gate(smd_net *net, struct lws *wsi)
{
    void *tag = lws_get_opaque_user_data(wsi);
    if (!tag)
        return;
    int fd = (int)((intptr_t)tag - 1);
    if (smd_gate_handle(&net->gate, fd) == wsi)
        smd_gate_release(&net->gate, fd);
    lws_set_opaque_user_data(wsi, NULL);
}

static int deliver(smd_net *net, struct lws *wsi, smd_conn *c, const char *text, size_t len)
{
    /* A raw NUL is malformed JSON (answered by the decoder); anything else not UTF-8 is a
     * transport violation (close 1007) as docs/protocol.md says. */
    if (!memchr(text, '\0', len) && !sm_utf8_valid(text, len))
        return violation(wsi, c, SM_CLOSE_INVALID_INBOUND_MESSAGE, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
    smd_conn_on_message(c, text, len);
    /* An open waiting for its password check leaves too: its session attaches from a later slice,
     * out of the gate's sight, and the check budget (not the pre-login limits) bounds those. */
    if (c->session || c->login)
        leave_gate(net, wsi);
    return 0;
}

/* Input after a violation is dropped; once the frame that was arriving has ended (or too much of
 * it came), the close frame may go. */
static int drain(struct lws *wsi, smd_conn *c, size_t len)
{
    smd_net_conn *nc = (smd_net_conn *)c;
    if (!nc->draining)
        return 0;
    nc->drained += len;
    if (lws_remaining_packet_payload(wsi) == 0 || nc->drained > DRAIN_MAX_BYTES) {
        nc->draining = false;
        smd_conn_want_write(c);
    }
    return 0;
}

static int on_receive(smd_net *net, struct lws *wsi, smd_conn *c, const char *in, size_t len)
{
    if (!c->established)
        return 0;
    if (c->closing)
        return drain(wsi, c, len);
    if (lws_frame_is_binary(wsi))
        return violation(wsi, c, SM_CLOSE_INVALID_INBOUND_MESSAGE, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
    size_t max = net->cfg->limits.max_message_bytes;
    size_t remaining = lws_remaining_packet_payload(wsi);
    /* Checked as the frames arrive: the server never holds more than the limit. */
    if (c->rx_len + len + remaining > max)
        return violation(wsi, c, SM_CLOSE_MESSAGE_TOO_LARGE, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
    bool final = lws_is_final_fragment(wsi);
    if (final && c->rx_len == 0)
        return deliver(net, wsi, c, in, len);
    if (c->rx_len + len > c->rx_cap) {
        size_t ncap = c->rx_cap ? c->rx_cap : 1024;
        while (ncap < c->rx_len + len)
            ncap *= 2;
        if (ncap > max)
            ncap = max;
        char *n = realloc(c->rx, ncap);
        if (!n)
            return violation(wsi, c, SM_CLOSE_INTERNAL_ERROR, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
        c->rx = n;
        c->rx_cap = ncap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!final)
        return 0;
    char *msg = c->rx;
    size_t msg_len = c->rx_len;
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    int rc = deliver(net, wsi, c, msg, msg_len);
    free(msg);
    return rc;
}

static int on_writeable(struct lws *wsi, smd_conn *c)
{
    if (!c->established)
        return 0;
    c->write_requested = false;
    if (c->close_sent)
        return close_after_frame(wsi);
    if (((smd_net_conn *)c)->draining)
        return 0; /* drain() asks again */
    if (smd_conn_should_close(c))
        return send_close_frame(wsi, c);
    smd_outmsg *m = smd_conn_next_write(c);
    if (m) {
        int n = lws_write(wsi, (unsigned char *)sm_buf_payload(&m->buf), m->buf.len, LWS_WRITE_TEXT);
        smd_outmsg_free(m);
        if (n < 0)
            return -1;
    }
    if (smd_conn_wants_write(c))
        smd_conn_want_write(c);
    return 0;
}

static int callback_sessmon(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    smd_conn *c = user;
    struct lws_context *ctx = lws_get_context(wsi);
    smd_net_shard *shard = ctx ? lws_context_user(ctx) : NULL;
    smd_net *net = shard ? shard->net : NULL;
    if (!net)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Only clients that asked for sessmon.v1 get in (docs/protocol.md § Transport). */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) <= 0 || net->stopping)
            return -1;
        return 0;
    case LWS_CALLBACK_ESTABLISHED: {
        char ip[64] = "";
        lws_get_peer_simple(wsi, ip, sizeof ip);
        smd_conn_start(&net->srv, c, wsi, ip);
        io_slot_set_conn(net, wsi, NULL, c);
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        return on_receive(net, wsi, c, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, c);
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c->established)
            c->last_rx_ms = sm_mono_ms();
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* The answer to our close frame (still being flushed): done. */
        if (c->close_sent)
            return -1;
        if (c->established)
            smd_conn_on_peer_close(c);
        return 0;
    case LWS_CALLBACK_CLOSED:
        io_slot_set_conn(net, wsi, c, NULL);
        smd_conn_on_closed(c);
        if (net->stopping && net->srv.conn_count == 0)
            schedule_finish(net);
        return 0;
    case LWS_CALLBACK_WSI_CREATE:
        shard->wsi_count++;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        /* Every adopted connection ends here, whatever stage it reached. */
        if (shard->wsi_count)
            shard->wsi_count--;
        leave_gate(net, wsi);
        return 0;
    case LWS_CALLBACK_HTTP:
        /* Nothing is served over plain HTTP. */
        return -1;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {
        .name = SM_PROTOCOL_NAME,
        .callback = callback_sessmon,
        .per_session_data_size = sizeof(smd_net_conn),
        .rx_buffer_size = RX_BUFFER_SIZE,
        .tx_packet_size = TX_PACKET_SIZE,
    },
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* No lws keep-alive timer per connection: lws keeps all timers in one sorted list (O(n) inserts);
 * liveness is the core's heartbeat sweep instead (tech-notes § 3.5). */
static const lws_retry_bo_t idle_policy = {
    .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0,
};

/* ---- logging ---- */

/* The same line again and again (a storm of one error) is logged once per interval with a count,
 * so a flood cannot fill the disk. */
static void lws_emit(int level, const char *line)
{
    static char last[256];
    static unsigned long repeats;
    static int64_t last_ms;
    smd_log_level l = level & LLL_ERR ? SMD_LOG_ERROR : level & LLL_WARN ? SMD_LOG_WARN : SMD_LOG_DEBUG;
    int64_t now = sm_mono_ms();
    if (strncmp(line, last, sizeof last - 1) == 0) {
        repeats++;
        if (now - last_ms < REPORT_INTERVAL_MS)
            return;
        smd_log(l, "lws: the line above %lu more times in the last %lld s", repeats, (long long)(now - last_ms) / 1000);
        repeats = 0;
        last_ms = now;
        return;
    }
    if (repeats)
        smd_log(l, "lws: the line above %lu more times", repeats);
    snprintf(last, sizeof last, "%s", line);
    repeats = 0;
    last_ms = now;
    smd_log(l, "lws: %s", line);
}

/* ---- accepting: our own listening socket, the pre-login gate, running out of descriptors ---- */

static void report_refusals(smd_net *net, bool force)
{
    int64_t now = sm_mono_ms();
    smd_net_stats *r = &net->refused;
    if (!force && now - net->last_report_ms < REPORT_INTERVAL_MS)
        return;
    if (r->over_address || r->over_subnet || r->evicted || r->timed_out)
        smd_log(SMD_LOG_WARN,
               "connections not logged in, last %lld s: %llu refused (limits.maxPendingPerAddress), "
               "%llu refused (limits.maxPendingPerSubnet), %llu dropped to make room (limits.maxPending), "
               "%llu dropped after limits.handshakeTimeoutMs; %zu pending now",
               (long long)(now - net->last_report_ms) / 1000, (unsigned long long)r->over_address,
               (unsigned long long)r->over_subnet, (unsigned long long)r->evicted, (unsigned long long)r->timed_out,
               smd_gate_pending(&net->gate));
    if (r->no_fds)
        smd_log(SMD_LOG_WARN, "out of file descriptors, last %lld s: %llu connections accepted and closed at once; "
               "accepting pauses %.0f ms at a time%s",
               (long long)(now - net->last_report_ms) / 1000, (unsigned long long)r->no_fds, PAUSE_NO_FDS_S * 1000,
               net->out_of_fds ? "" : " (descriptors are available again)");
    memset(r, 0, sizeof *r);
    net->last_report_ms = now;
}

static void pause_accepting(smd_net *net, double seconds)
{
    ev_io_stop(net->loop, &net->accept_io);
    ev_timer_stop(net->loop, &net->accept_resume);
    ev_timer_set(&net->accept_resume, seconds, 0.);
    ev_timer_start(net->loop, &net->accept_resume);
}

static void resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    smd_net *net = w->data;
    if (!net->finished)
        ev_io_start(loop, &net->accept_io);
}

/* A pending connection stops counting and goes: a WebSocket one with the ABORTED close frame
 * (docs/protocol.md; the core's close timeout ends it if the client does not read), one still in
 * its HTTP handshake at once. */
static void drop_pending(smd_net *net, int fd)
{
    struct lws *wsi = smd_gate_handle(&net->gate, fd);
    smd_gate_release(&net->gate, fd);
    if (!wsi)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    smd_net_conn *nc = lws_wsi_user(wsi);
    if (nc && nc->core.established) {
        smd_conn_close(&nc->core, sm_close_reason_ws_code(SM_CLOSE_ABORTED), sm_close_reason_name(SM_CLOSE_ABORTED),
                      false);
        return;
    }
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

/* The gate is full: the longest-pending connection goes if it has had time enough to log in. */
static bool make_room(smd_net *net)
{
    int64_t since;
    int fd = smd_gate_oldest(&net->gate, &since);
    if (fd < 0 || sm_mono_ms() - since < FULL_EVICT_AGE_MS)
        return false;
    drop_pending(net, fd);
    net->refused.evicted++;
    smd_metrics.refused[SMD_REFUSED_EVICTED]++;
    return true;
}

/* Out of descriptors: the spare one makes room to accept and close what waits (so those clients
 * learn at once), then accepting pauses instead of waking up again and again. */
static void out_of_descriptors(smd_net *net)
{
    if (!net->out_of_fds)
        smd_log(SMD_LOG_WARN, "out of file descriptors: closing new connections at once until some are free");
    net->out_of_fds = true;
    for (int i = 0; i < ACCEPT_BATCH && net->reserve_fd >= 0; i++) {
        close(net->reserve_fd);
        int fd = accept4(net->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            net->refused.no_fds++;
            smd_metrics.refused[SMD_REFUSED_NO_FDS]++;
        }
        net->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
    }
    report_refusals(net, false);
    smd_metrics.accept_pauses_no_fds++;
    pause_accepting(net, PAUSE_NO_FDS_S);
}

static smd_net_shard *least_loaded_shard(smd_net *net)
{
    smd_net_shard *best = &net->shards[0];
    for (size_t i = 1; i < net->shard_count; i++)
        if (net->shards[i].wsi_count < best->wsi_count)
            best = &net->shards[i];
    return best;
}

static void adopt(smd_net *net, int fd, const struct sockaddr *sa, socklen_t salen)
{
    smd_gate_verdict v = smd_gate_admit(&net->gate, fd, sa, salen, sm_mono_ms());
    if (v != SMD_GATE_ADMITTED) {
        if (v == SMD_GATE_OVER_ADDRESS) {
            net->refused.over_address++;
            smd_metrics.refused[SMD_REFUSED_OVER_ADDRESS]++;
        } else if (v == SMD_GATE_OVER_SUBNET) {
            net->refused.over_subnet++;
            smd_metrics.refused[SMD_REFUSED_OVER_SUBNET]++;
        }
        close(fd);
        return;
    }
    /* Replies and events are written whole; Nagle would hold a small reply back until the client
     * acknowledges the previous one (a delayed ACK: tens of ms). lws does not set it on sockets it
     * adopts. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    lws_adopt_desc_t info;
    memset(&info, 0, sizeof info);
    info.vh = least_loaded_shard(net)->vh;
    info.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL;
    info.fd.sockfd = fd;
    info.opaque = (void *)(intptr_t)(fd + 1);
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info);
    if (wsi)
        smd_gate_set_handle(&net->gate, fd, wsi);
    else
        smd_gate_release(&net->gate, fd); /* lws closed fd */
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    for (int i = 0; i < ACCEPT_BATCH && !net->finished; i++) {
        if (smd_gate_pending(&net->gate) >= net->cfg->limits.max_pending && !make_room(net)) {
            pause_accepting(net, PAUSE_FULL_S);
            break;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(net->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                out_of_descriptors(net);
            break;
        }
        if (net->out_of_fds) {
            net->out_of_fds = false;
            report_refusals(net, true);
        }
        adopt(net, fd, (const struct sockaddr *)&ss, sl);
    }
    report_refusals(net, false);
}

/* Pending connections past limits.handshakeTimeoutMs are dropped, oldest first, a bounded number per pass. */
static void gate_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    int64_t now = sm_mono_ms(), since;
    int fd;
    for (int n = 0; n < GATE_SWEEP_MAX && (fd = smd_gate_oldest(&net->gate, &since)) >= 0 &&
                    now - since >= net->cfg->limits.handshake_timeout_ms;
         n++) {
        drop_pending(net, fd);
        net->refused.timed_out++;
        smd_metrics.refused[SMD_REFUSED_TIMED_OUT]++;
    }
    report_refusals(net, false);
}

/* Memory freed by queues after a burst goes back to the system (glibc keeps it otherwise). */
static void maybe_trim(smd_net *net)
{
    static size_t released;
    released += smd_outq_take_released_bytes();
    int64_t now = sm_mono_ms();
    if (released < TRIM_MIN_RELEASED || now - net->last_trim_ms < TRIM_MIN_INTERVAL_MS)
        return;
    released = 0;
    net->last_trim_ms = now;
    malloc_trim(0);
}

int smd_net_open_listener(const char *addr, int port, int *bound_port)
{
    bool any = strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0;
    bool v6 = strchr(addr, ':') != NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (!any && inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            return -1;
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (!any && inet_pton(AF_INET, addr, &a->sin_addr) != 1)
            return -1;
        sl = sizeof *a;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1, off = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    /* "::" serves IPv4 too, as it did when lws listened. */
    if (v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        close(fd);
        return -1;
    }
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ---- the lws contexts ---- */

/* Each context closes its own connections. */
static void destroy_shards(smd_net *net)
{
    for (size_t i = 0; i < net->shard_count; i++) {
        if (net->shards[i].ctx)
            lws_context_destroy(net->shards[i].ctx);
        net->shards[i].ctx = NULL;
        net->shards[i].vh = NULL;
    }
    net->shard_count = 0;
}

static size_t shard_count_for(size_t fd_limit)
{
    size_t k = fd_limit / FDS_PER_SHARD;
    size_t affordable = SHARD_TABLES_BUDGET / (fd_limit * SHARD_TABLE_BYTES_PER_FD + 1);
    if (k > affordable)
        k = affordable;
    return k < 1 ? 1 : k > TRANSPORT_SHARDS_MAX ? TRANSPORT_SHARDS_MAX : k;
}

/* Every context is created before any vhost: with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT each
 * context creation takes new OpenSSL ex_data indexes into lws's globals, and a vhost's SSL_CTX
 * keeps the index current when it is made, so a vhost made before the last context would hold a
 * stale one. */
static bool create_shards(smd_net *net, size_t count, bool v6)
{
    const smd_config *cfg = net->cfg;
    const smd_limits *l = &cfg->limits;
    void *loops[1] = {net->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* LWS_SERVER_OPTION_VALIDATE_UTF8 is deliberately not set: lws would close with its own reason
     * text ("bad utf8") and the session would look merely DISCONNECTED. deliver() checks each
     * whole message and closes with INVALID_INBOUND_MESSAGE / 1007 as docs/protocol.md says. */
    info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                   LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | (v6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6) |
                   (cfg->tls_cert ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = loops;
    /* One header buffer per connection the gate lets in, in every context, so no pending
     * connection waits for one (a shared pool smaller than that is what let idle connections lock
     * everyone out). lws allocates them only as handshakes need them. */
    info.max_http_header_pool = (unsigned short)(l->max_pending + 1 < 65535 ? l->max_pending + 1 : 65535);
    info.timeout_secs = (unsigned int)((l->handshake_timeout_ms + 999) / 1000);
    for (size_t i = 0; i < count; i++) {
        smd_net_shard *s = &net->shards[i];
        s->net = net;
        info.user = s;
        s->ctx = lws_create_context(&info);
        if (!s->ctx) {
            smd_log(SMD_LOG_ERROR, "cannot create the libwebsockets context (is libwebsockets-evlib-ev installed?)");
            return false;
        }
        net->shard_count = i + 1;
    }
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.vhost_name = "sessmond";
    info.retry_and_idle_policy = &idle_policy;
    info.ssl_cert_filepath = cfg->tls_cert;
    info.ssl_private_key_filepath = cfg->tls_key;
    for (size_t i = 0; i < count; i++) {
        smd_net_shard *s = &net->shards[i];
        info.user = s;
        s->vh = lws_create_vhost(s->ctx, &info);
        if (!s->vh) {
            smd_log(SMD_LOG_ERROR, "cannot set up the libwebsockets server%s",
                   cfg->tls_cert ? " (the TLS certificate and key were refused: see the lines above)" : "");
            return false;
        }
    }
    return true;
}

/* ---- the admin listener's pages (server/admin.c, server/metrics.c) ---- */

static void transport_figures(const smd_net *net, smd_metrics_transport *t)
{
    t->pending = smd_gate_pending(&net->gate);
    t->fd_limit = net->fd_limit;
    t->stopping = net->stopping;
    t->out_of_fds = net->out_of_fds;
}

static int admin_metrics(void *ctx, sm_buf *out)
{
    smd_net *net = ctx;
    smd_metrics_transport t;
    transport_figures(net, &t);
    return smd_metrics_render(&net->srv, &t, out) == SM_OK ? 200 : 500;
}

static int admin_health(void *ctx, sm_buf *out)
{
    smd_net *net = ctx;
    smd_metrics_transport t;
    transport_figures(net, &t);
    return smd_metrics_health(&net->srv, &t, out);
}

/* Off unless admin.listen is set (docs/config.md § admin). */
static bool start_admin(smd_net *net)
{
    const smd_admin_cfg *a = &net->cfg->admin;
    if (!a->enabled)
        return true;
    smd_admin_hooks hooks = {.ctx = net, .metrics = admin_metrics, .health = admin_health};
    sm_error err;
    sm_error_clear(&err);
    int port = 0;
    net->admin = smd_admin_start(net->loop, a, &hooks, &port, &err);
    if (!net->admin) {
        smd_log(SMD_LOG_ERROR, "%s", err.message);
        return false;
    }
    bool v6 = strchr(a->host, ':') != NULL;
    bool loopback = strncmp(a->host, "127.", 4) == 0 || strcmp(a->host, "::1") == 0;
    printf("sessmond: admin listening on http://%s%s%s:%d (/metrics, /healthz)\n", v6 ? "[" : "", a->host,
           v6 ? "]" : "", port);
    if (!loopback)
        smd_log(SMD_LOG_WARN, "admin.listen is %s, not a loopback address: anyone who can reach it reads the metrics "
                              "(principal names, session counts); see docs/security.md", a->host);
    return true;
}

/* ---- loop callbacks ---- */

static void finish_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    smd_net *net = w->data;
    if (net->finished)
        return;
    net->finished = true;
    ev_timer_stop(loop, &net->tick);
    ev_timer_stop(loop, &net->grace);
    ev_io_stop(loop, &net->accept_io);
    ev_timer_stop(loop, &net->accept_resume);
    ev_timer_stop(loop, &net->gate_sweep);
    ev_idle_stop(loop, &net->slice);
    ev_idle_stop(loop, &net->io_slice);
    /* Already shutting down: another SIGTERM (or a reload, a log rotation) must not kill the
     * process half way through. Stopping a signal watcher gives the signal back its default action,
     * which for all four is death, so they are held until they are ignored: one sent in between is
     * then discarded. */
    static const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    sigset_t hold, before;
    sigemptyset(&hold);
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
        sigaddset(&hold, handled[i]);
    sigprocmask(SIG_BLOCK, &hold, &before);
    ev_signal_stop(loop, &net->sigterm);
    ev_signal_stop(loop, &net->sigint);
    ev_signal_stop(loop, &net->sighup);
    ev_signal_stop(loop, &net->sigusr1);
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
        signal(handled[i], SIG_IGN);
    sigprocmask(SIG_SETMASK, &before, NULL);
    ev_prepare_stop(loop, &net->pass_end);
    smd_admin_stop(net->admin);
    net->admin = NULL;
    destroy_shards(net);
    ev_break(loop, EVBREAK_ALL);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    smd_log(SMD_LOG_WARN, "%zu connections did not close in time; dropping them", net->srv.conn_count);
    schedule_finish(net);
}

/* Tells systemd (Type=notify) our state; a failure only costs the unit its readiness, so it is
 * logged, never fatal. Without NOTIFY_SOCKET (not under systemd) nothing happens. */
static void notify_systemd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void notify_systemd(const char *fmt, ...)
{
    char state[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(state, sizeof state, fmt, ap);
    va_end(ap);
    if (smd_notify(state) < 0)
        smd_log(SMD_LOG_WARN, "cannot notify systemd through NOTIFY_SOCKET: %s", strerror(errno));
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    smd_net *net = w->data;
    if (net->stopping) {
        schedule_finish(net);
        return;
    }
    net->stopping = true;
    notify_systemd("STOPPING=1");
    smd_log(SMD_LOG_INFO, "signal %d: closing %zu sessions (SERVER_CLOSING)", w->signum, net->srv.reg.count);
    smd_server_shutdown(&net->srv);
    /* Cluster: the goodbye goes once the sessions are closed (their CLOSED events first). */
    if (!smd_server_has_pending_work(&net->srv))
        smd_cluster_leave(&net->srv);
    if (net->srv.conn_count == 0) {
        schedule_finish(net);
        return;
    }
    ev_timer_set(&net->grace, SHUTDOWN_GRACE_S, 0.);
    ev_timer_start(loop, &net->grace);
}

static void reload_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    if (net->stopping)
        return;
    const char *path = net->opts->config_path ? net->opts->config_path : "the configuration";
    /* systemd holds `systemctl reload` until READY=1 comes back; MONOTONIC_USEC is what
     * Type=notify-reload (systemd 253+) also wants. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    notify_systemd("RELOADING=1\nMONOTONIC_USEC=%llu",
                   (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000ull);
    int64_t start_ms = sm_mono_ms();
    if (!net->opts->load_config) {
        smd_log(SMD_LOG_WARN, "SIGHUP: running the demo configuration (no --config): nothing to reload");
    } else {
        smd_config next;
        smd_config_init(&next);
        sm_error err;
        sm_error_clear(&err);
        if (net->opts->load_config(net->opts->load_ctx, &next, &err) != SM_OK) {
            smd_log(SMD_LOG_ERROR, "reload of %s refused: %s; the configuration in force is unchanged", path,
                    err.message);
            smd_config_free(&next);
        } else {
            smd_server_reload(&net->srv, net->live_cfg, &next, path);
        }
    }
    /* Also without a change: logrotate renamed the file and wants a new one. */
    smd_audit_reopen(net->srv.audit, net->live_cfg->audit.file, net->live_cfg->audit.buffer_bytes);
    /* The loop serves nobody meanwhile: a huge file (thousands of principals) is worth knowing about. */
    int64_t took_ms = sm_mono_ms() - start_ms;
    smd_log(took_ms >= 100 ? SMD_LOG_WARN : SMD_LOG_DEBUG, "SIGHUP handled in %lld ms (the event loop waited)",
            (long long)took_ms);
    notify_systemd("READY=1");
}

/* SIGUSR1: logrotate renamed the audit log; open the path anew without re-reading the
 * configuration, so a rotation at midnight never applies a half-edited file. */
static void reopen_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    if (net->stopping)
        return;
    smd_audit_reopen(net->srv.audit, net->live_cfg->audit.file, net->live_cfg->audit.buffer_bytes);
    const char *file = net->live_cfg->audit.file;
    smd_log(SMD_LOG_INFO, "SIGUSR1: audit log %s reopened", file ? file : "(none configured)");
}

static void pass_end_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    smd_audit_flush(net->srv.audit);
}

static void slice_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    smd_net *net = w->data;
    if (!net->finished)
        smd_server_run_slice(&net->srv);
    if (net->finished || !smd_server_has_pending_work(&net->srv)) {
        if (net->stopping)
            smd_cluster_leave(&net->srv);
        ev_idle_stop(loop, w);
    }
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    smd_net *net = w->data;
    if (!net->stopping)
        smd_server_tick(&net->srv);
    maybe_trim(net);
}

/* ---- start-up ---- */

/* Returns the soft limit now in force. */
static size_t raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_LIMIT_MAX ? FD_LIMIT_MAX : rl.rlim_max;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur != want) {
        rlim_t before = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = before == RLIM_INFINITY ? FD_LIMIT_MAX : before;
    }
    return (size_t)rl.rlim_cur;
}

static void close_listener(smd_net *net)
{
    if (net->listen_fd >= 0)
        close(net->listen_fd);
    if (net->reserve_fd >= 0)
        close(net->reserve_fd);
    net->listen_fd = net->reserve_fd = -1;
}

/* Frees what smd_net_run set up before the loop ran. */
static int fail_start(smd_net *net)
{
    smd_cluster_stop(&net->srv);
    smd_admin_stop(net->admin);
    destroy_shards(net);
    io_give_back(net);
    close_listener(net);
    smd_gate_free(&net->gate);
    smd_server_free(&net->srv);
    free(net);
    return 1;
}

static int write_port_file(const char *path, int port)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int smd_net_run(smd_config *cfg, const smd_net_opts *opts)
{
    int levels = LLL_ERR | LLL_WARN | (opts->verbose ? LLL_NOTICE : 0);
    lws_set_log_level(levels, lws_emit);
    if (opts->verbose)
        smd_log_set_level(SMD_LOG_DEBUG);
    size_t fd_limit = raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);

    smd_net *net = calloc(1, sizeof *net);
    if (!net) {
        smd_log(SMD_LOG_ERROR, "out of memory");
        return 1;
    }
    net->cfg = net->live_cfg = cfg;
    net->opts = opts;
    net->fd_limit = fd_limit;
    net->listen_fd = net->reserve_fd = -1;
    net->loop = ev_default_loop(EVBACKEND_EPOLL);
    if (!net->loop)
        net->loop = ev_default_loop(0);
    if (!net->loop) {
        smd_log(SMD_LOG_ERROR, "cannot create the libev loop");
        free(net);
        return 1;
    }
    smd_transport tr = {.ctx = net, .want_write = tr_want_write, .kill = tr_kill, .want_slice = tr_want_slice,
                       .pause_rx = tr_pause_rx};
    ev_idle_init(&net->slice, slice_cb);
    ev_set_priority(&net->slice, EV_MAXPRI);
    net->slice.data = net;
    sm_error err;
    sm_error_clear(&err);
    if (smd_server_init(&net->srv, cfg, &tr, LWS_PRE, &err) != SM_OK) {
        smd_log(SMD_LOG_ERROR, "%s", err.message);
        free(net);
        return 1;
    }
    if (!(net->srv.audit = smd_audit_new(cfg->audit.file, cfg->audit.buffer_bytes))) {
        smd_log(SMD_LOG_ERROR, "out of memory");
        return fail_start(net);
    }
    if (cfg->audit.file)
        smd_log(SMD_LOG_INFO, "audit log: %s", cfg->audit.file);
    if (cfg->cluster.enabled && smd_cluster_start(&net->srv, net->loop, &err) != SM_OK) {
        smd_log(SMD_LOG_ERROR, "%s", err.message);
        return fail_start(net);
    }
    const smd_limits *l = &cfg->limits;
    smd_gate_limits gl = {l->max_pending_per_address, l->max_pending_per_subnet, l->max_pending};
    if (smd_gate_init(&net->gate, &gl, fd_limit) != SM_OK) {
        smd_log(SMD_LOG_ERROR, "out of memory");
        return fail_start(net);
    }

    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    bool v6 = strchr(bind, ':') != NULL;
    /* Our own listening socket: lws has no per-source limits and, out of descriptors, retries its
     * accept in a busy loop (tech notes § 3.7; docs/security.md). */
    int port = 0;
    net->listen_fd = smd_net_open_listener(bind, cfg->port, &port);
    if (net->listen_fd < 0) {
        smd_log(SMD_LOG_ERROR, "cannot listen on %s port %d: %s", bind, cfg->port, strerror(errno));
        return fail_start(net);
    }
    net->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!io_take_over(net, fd_limit)) {
        smd_log(SMD_LOG_ERROR, "out of memory");
        return fail_start(net);
    }
    if (!create_shards(net, shard_count_for(fd_limit), v6) || !start_admin(net))
        return fail_start(net);
    /* Every context watches its event pipe from the start: no watcher of lws's taken over means the
     * executable does not export ev_io_start (server/CMakeLists.txt), and a mass drop blocks the loop. */
    if (!lws_io_cb)
        smd_log(SMD_LOG_WARN, "libwebsockets sockets are not serviced in slices: a mass disconnect will stall "
                "the server for its whole length");
    smd_log(SMD_LOG_DEBUG, "%zu libwebsockets contexts for a limit of %zu descriptors", net->shard_count, fd_limit);
    if (opts->port_file && write_port_file(opts->port_file, port) != 0)
        smd_log(SMD_LOG_WARN, "cannot write the port file %s: %s", opts->port_file, strerror(errno));
    char listening[128];
    snprintf(listening, sizeof listening, "listening on %s://%s%s%s:%d", cfg->tls_cert ? "wss" : "ws", v6 ? "[" : "",
             bind, v6 ? "]" : "", port);
    printf("sessmond: %s\n", listening);
    fflush(stdout);

    ev_signal_init(&net->sigterm, signal_cb, SIGTERM);
    ev_signal_init(&net->sigint, signal_cb, SIGINT);
    net->sigterm.data = net->sigint.data = net;
    ev_signal_start(net->loop, &net->sigterm);
    ev_signal_start(net->loop, &net->sigint);
    ev_signal_init(&net->sighup, reload_cb, SIGHUP);
    net->sighup.data = net;
    ev_signal_start(net->loop, &net->sighup);
    ev_signal_init(&net->sigusr1, reopen_cb, SIGUSR1);
    net->sigusr1.data = net;
    ev_signal_start(net->loop, &net->sigusr1);
    ev_prepare_init(&net->pass_end, pass_end_cb);
    net->pass_end.data = net;
    ev_prepare_start(net->loop, &net->pass_end);
    double period = (double)smd_server_tick_ms(&net->srv) / 1000.0;
    ev_timer_init(&net->tick, tick_cb, period, period);
    net->tick.data = net;
    ev_timer_start(net->loop, &net->tick);
    ev_timer_init(&net->grace, grace_cb, SHUTDOWN_GRACE_S, 0.);
    net->grace.data = net;
    ev_timer_init(&net->finish, finish_cb, 0., 0.);
    net->finish.data = net;
    ev_io_init(&net->accept_io, accept_cb, net->listen_fd, EV_READ);
    net->accept_io.data = net;
    ev_io_start(net->loop, &net->accept_io);
    ev_timer_init(&net->accept_resume, resume_cb, PAUSE_FULL_S, 0.);
    net->accept_resume.data = net;
    ev_timer_init(&net->gate_sweep, gate_sweep_cb, GATE_SWEEP_S, GATE_SWEEP_S);
    net->gate_sweep.data = net;
    ev_timer_start(net->loop, &net->gate_sweep);
    net->last_report_ms = net->last_trim_ms = sm_mono_ms();

    /* Ready only now: the port listens and SIGTERM has its handler, so a stop that systemd sends
     * the moment it reads READY=1 is a clean shutdown, not the default action of the signal. */
    notify_systemd("READY=1\nSTATUS=%s", listening);
    ev_run(net->loop, 0);

    net->finished = true;
    smd_admin_stop(net->admin);
    net->admin = NULL;
    destroy_shards(net);
    io_give_back(net);
    close_listener(net);
    smd_gate_free(&net->gate);
    smd_cluster_stop(&net->srv);
    smd_log(SMD_LOG_INFO, "stopped: %llu sessions opened, %llu closed", (unsigned long long)net->srv.sessions_opened,
           (unsigned long long)net->srv.sessions_closed);
    smd_server_free(&net->srv);
    ev_loop_destroy(net->loop);
    free(net);
    return 0;
}
