/* The WebSocket transport of sessmond: libwebsockets on a libev (epoll) loop, signals and the sweep timer. */
#include "server/net.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <libwebsockets.h>

#include "core/utf8.h"
#include "server/log.h"
#include "server/server.h"

#define SHUTDOWN_GRACE_S 3.0
#define RX_BUFFER_SIZE 512
#define TX_PACKET_SIZE (64 * 1024)
/* The close opcode of lws_write(): lws 4.1 keeps it out of the public enum (the slot is reserved
 * there, "handled by lws_close_reason()") but its ws role frames it like PING/PONG. */
#define SM_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

typedef struct sm_net {
    sm_server srv;
    const sm_config *cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct ev_loop *loop;
    ev_signal sigterm, sigint;
    ev_timer tick, grace, finish;
    ev_idle slice; /* drives the core's sliced operations, one slice per loop pass */
    bool stopping, finished;
} sm_net;

/* ---- transport hooks for the core ---- */

/* Both do nothing once the context is being destroyed: lws then closes every connection itself. */
static void tr_want_write(void *ctx, sm_conn *c)
{
    sm_net *net = ctx;
    if (!net->finished)
        lws_callback_on_writable((struct lws *)c->handle);
}

/* Synchronous: an async kill is a zero-second lws timer, and lws 4.1 inserts timers into one sorted
 * list past every earlier-due entry, so killing k connections in one pass would cost O(k^2). */
static void tr_kill(void *ctx, sm_conn *c)
{
    sm_net *net = ctx;
    if (!net->finished)
        lws_set_timeout((struct lws *)c->handle, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

/* An idle watcher keeps the loop from blocking while work is pending; at the highest priority it
 * runs on every pass, between the network events, rather than only when the loop is idle. */
static void tr_want_slice(void *ctx)
{
    sm_net *net = ctx;
    if (!net->finished && !ev_is_active(&net->slice))
        ev_idle_start(net->loop, &net->slice);
}

static void tr_pause_rx(void *ctx, sm_conn *c, bool paused)
{
    sm_net *net = ctx;
    if (!net->finished)
        lws_rx_flow_control((struct lws *)c->handle, paused ? 0 : 1);
}

static void schedule_finish(sm_net *net)
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
static int send_close_frame(struct lws *wsi, sm_conn *c)
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
    if (lws_write(wsi, frame + LWS_PRE, tlen + 2, SM_LWS_WRITE_CLOSE) < 0)
        return -1;
    return close_after_frame(wsi);
}

/* Not closed from inside the receive callback: lws would then tear the connection down with the
 * client's remaining input unread (a second close while the close frame is still only scheduled
 * kills the socket, and unread input makes the kernel send a RST), so the client could miss the
 * close frame and its reason. The close goes out from the next WRITEABLE, as every other close
 * does; input arriving until then is dropped by on_receive. */
static int violation(sm_conn *c, sm_close_reason reason, int code)
{
    sm_conn_on_violation(c, reason, code);
    return 0;
}

static int deliver(sm_conn *c, const char *text, size_t len)
{
    /* A raw NUL is malformed JSON (answered by the decoder); anything else not UTF-8 is a
     * transport violation (close 1007) as docs/protocol.md says. */
    if (!memchr(text, '\0', len) && !sm_utf8_valid(text, len))
        return violation(c, SM_CLOSE_INVALID_INBOUND_MESSAGE, LWS_CLOSE_STATUS_INVALID_PAYLOAD);
    sm_conn_on_message(c, text, len);
    return 0;
}

static int on_receive(sm_net *net, struct lws *wsi, sm_conn *c, const char *in, size_t len)
{
    if (!c->established || c->closing)
        return 0;
    if (lws_frame_is_binary(wsi))
        return violation(c, SM_CLOSE_INVALID_INBOUND_MESSAGE, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE);
    size_t max = net->cfg->limits.max_message_bytes;
    size_t remaining = lws_remaining_packet_payload(wsi);
    /* Checked as the frames arrive: the server never holds more than the limit. */
    if (c->rx_len + len + remaining > max)
        return violation(c, SM_CLOSE_MESSAGE_TOO_LARGE, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
    bool final = lws_is_final_fragment(wsi);
    if (final && c->rx_len == 0)
        return deliver(c, in, len);
    if (c->rx_len + len > c->rx_cap) {
        size_t ncap = c->rx_cap ? c->rx_cap : 1024;
        while (ncap < c->rx_len + len)
            ncap *= 2;
        if (ncap > max)
            ncap = max;
        char *n = realloc(c->rx, ncap);
        if (!n)
            return violation(c, SM_CLOSE_INTERNAL_ERROR, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
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
    int rc = deliver(c, msg, msg_len);
    free(msg);
    return rc;
}

static int on_writeable(struct lws *wsi, sm_conn *c)
{
    if (!c->established)
        return 0;
    c->write_requested = false;
    if (c->close_sent)
        return close_after_frame(wsi);
    if (sm_conn_should_close(c))
        return send_close_frame(wsi, c);
    sm_outmsg *m = sm_conn_next_write(c);
    if (m) {
        int n = lws_write(wsi, (unsigned char *)sm_buf_payload(&m->buf), m->buf.len, LWS_WRITE_TEXT);
        sm_outmsg_free(m);
        if (n < 0)
            return -1;
    }
    if (sm_conn_wants_write(c))
        sm_conn_want_write(c);
    return 0;
}

static int callback_sessmon(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    sm_conn *c = user;
    struct lws_context *ctx = lws_get_context(wsi);
    sm_net *net = ctx ? lws_context_user(ctx) : NULL;
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
        sm_conn_start(&net->srv, c, wsi, ip);
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
            sm_conn_on_peer_close(c);
        return 0;
    case LWS_CALLBACK_CLOSED:
        sm_conn_on_closed(c);
        if (net->stopping && net->srv.conn_count == 0)
            schedule_finish(net);
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
        .per_session_data_size = sizeof(sm_conn),
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

static void lws_emit(int level, const char *line)
{
    sm_log_level l = level & LLL_ERR ? SM_LOG_ERROR : level & LLL_WARN ? SM_LOG_WARN : SM_LOG_DEBUG;
    sm_log(l, "lws: %s", line);
}

/* ---- loop callbacks ---- */

static void finish_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    sm_net *net = w->data;
    if (net->finished)
        return;
    net->finished = true;
    ev_timer_stop(loop, &net->tick);
    ev_timer_stop(loop, &net->grace);
    ev_idle_stop(loop, &net->slice);
    ev_signal_stop(loop, &net->sigterm);
    ev_signal_stop(loop, &net->sigint);
    /* Already shutting down: another SIGTERM must not kill the process half way through. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    lws_context_destroy(net->ctx);
    net->ctx = NULL;
    ev_break(loop, EVBREAK_ALL);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sm_net *net = w->data;
    sm_log(SM_LOG_WARN, "%zu connections did not close in time; dropping them", net->srv.conn_count);
    schedule_finish(net);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    sm_net *net = w->data;
    if (net->stopping) {
        schedule_finish(net);
        return;
    }
    net->stopping = true;
    sm_log(SM_LOG_INFO, "signal %d: closing %zu sessions (SERVER_CLOSING)", w->signum, net->srv.reg.count);
    sm_server_shutdown(&net->srv);
    if (net->srv.conn_count == 0) {
        schedule_finish(net);
        return;
    }
    ev_timer_set(&net->grace, SHUTDOWN_GRACE_S, 0.);
    ev_timer_start(loop, &net->grace);
}

static void slice_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    sm_net *net = w->data;
    if (!net->finished)
        sm_server_run_slice(&net->srv);
    if (net->finished || !sm_server_has_pending_work(&net->srv))
        ev_idle_stop(loop, w);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sm_net *net = w->data;
    if (!net->stopping)
        sm_server_tick(&net->srv);
}

/* ---- start-up ---- */

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
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

int sm_net_run(const sm_config *cfg, const sm_net_opts *opts)
{
    int levels = LLL_ERR | LLL_WARN | (opts->verbose ? LLL_NOTICE : 0);
    lws_set_log_level(levels, lws_emit);
    if (opts->verbose)
        sm_log_set_level(SM_LOG_DEBUG);
    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);

    sm_net *net = calloc(1, sizeof *net);
    if (!net) {
        sm_log(SM_LOG_ERROR, "out of memory");
        return 1;
    }
    net->cfg = cfg;
    net->loop = ev_default_loop(EVBACKEND_EPOLL);
    if (!net->loop)
        net->loop = ev_default_loop(0);
    if (!net->loop) {
        sm_log(SM_LOG_ERROR, "cannot create the libev loop");
        free(net);
        return 1;
    }
    sm_transport tr = {.ctx = net, .want_write = tr_want_write, .kill = tr_kill, .want_slice = tr_want_slice,
                       .pause_rx = tr_pause_rx};
    ev_idle_init(&net->slice, slice_cb);
    ev_set_priority(&net->slice, EV_MAXPRI);
    net->slice.data = net;
    sm_error err;
    sm_error_clear(&err);
    if (sm_server_init(&net->srv, cfg, &tr, LWS_PRE, &err) != SM_OK) {
        sm_log(SM_LOG_ERROR, "%s", err.message);
        free(net);
        return 1;
    }

    const char *bind = cfg->bind ? cfg->bind : "127.0.0.1";
    bool any = strcmp(bind, "0.0.0.0") == 0 || strcmp(bind, "::") == 0;
    bool v6 = strchr(bind, ':') != NULL;
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
    info.user = net;
    info.max_http_header_pool = 256; /* handshakes beyond this wait: bounded memory in a storm */
    info.timeout_secs = 10;
    net->ctx = lws_create_context(&info);
    if (!net->ctx) {
        sm_log(SM_LOG_ERROR, "cannot create the libwebsockets context (is libwebsockets-evlib-ev installed?)");
        sm_server_free(&net->srv);
        free(net);
        return 1;
    }
    info.port = cfg->port;
    info.iface = any ? NULL : bind;
    info.protocols = protocols;
    info.vhost_name = "sessmond";
    info.retry_and_idle_policy = &idle_policy;
    info.ssl_cert_filepath = cfg->tls_cert;
    info.ssl_private_key_filepath = cfg->tls_key;
    net->vh = lws_create_vhost(net->ctx, &info);
    if (!net->vh) {
        sm_log(SM_LOG_ERROR, "cannot listen on %s port %d (in use, or not a local address?%s)", bind, cfg->port,
               cfg->tls_cert ? " or the TLS certificate and key were refused: see the lines above" : "");
        lws_context_destroy(net->ctx);
        sm_server_free(&net->srv);
        free(net);
        return 1;
    }
    int port = lws_get_vhost_listen_port(net->vh);
    if (opts->port_file && write_port_file(opts->port_file, port) != 0)
        sm_log(SM_LOG_WARN, "cannot write the port file %s: %s", opts->port_file, strerror(errno));
    printf("sessmond: listening on %s://%s%s%s:%d\n", cfg->tls_cert ? "wss" : "ws", v6 ? "[" : "", bind,
           v6 ? "]" : "", port);
    fflush(stdout);

    ev_signal_init(&net->sigterm, signal_cb, SIGTERM);
    ev_signal_init(&net->sigint, signal_cb, SIGINT);
    net->sigterm.data = net->sigint.data = net;
    ev_signal_start(net->loop, &net->sigterm);
    ev_signal_start(net->loop, &net->sigint);
    double period = (double)sm_server_tick_ms(&net->srv) / 1000.0;
    ev_timer_init(&net->tick, tick_cb, period, period);
    net->tick.data = net;
    ev_timer_start(net->loop, &net->tick);
    ev_timer_init(&net->grace, grace_cb, SHUTDOWN_GRACE_S, 0.);
    net->grace.data = net;
    ev_timer_init(&net->finish, finish_cb, 0., 0.);
    net->finish.data = net;

    ev_run(net->loop, 0);

    net->finished = true;
    if (net->ctx)
        lws_context_destroy(net->ctx);
    sm_log(SM_LOG_INFO, "stopped: %llu sessions opened, %llu closed", (unsigned long long)net->srv.sessions_opened,
           (unsigned long long)net->srv.sessions_closed);
    sm_server_free(&net->srv);
    ev_loop_destroy(net->loop);
    free(net);
    return 0;
}
