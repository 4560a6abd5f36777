/* libsessmon client context: the lws context, logging, poll integration, service and run helpers. */
#include "client/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The public enums mirror core's so values convert by range checks; keep them in step. */
_Static_assert((int)SM_REASON_ABORTED == (int)SM_CLOSE_ABORTED, "sm_reason must mirror sm_close_reason");
_Static_assert((int)SM_REASON_COUNT == (int)SM_CLOSE_REASON_COUNT, "sm_reason must mirror sm_close_reason");
_Static_assert((unsigned)SM_PERMISSION_VIEW_SESSION == (unsigned)SM_PERM_VIEW_SESSION, "permission bits");
_Static_assert((unsigned)SM_PERMISSION_MODIFY_SESSION == (unsigned)SM_PERM_MODIFY_SESSION, "permission bits");
_Static_assert((unsigned)SM_PERMISSION_REGISTER_HANDLER == (unsigned)SM_PERM_REGISTER_HANDLER,
               "permission bits");

/* ---- Logging (process-wide, like lws's own logger) ---- */

static sm_log_fn log_sink;
static void *log_user;
static unsigned log_levels;

static unsigned level_from_lws(int level)
{
    if (level & LLL_ERR)
        return SM_LOG_ERR;
    if (level & LLL_WARN)
        return SM_LOG_WARN;
    if (level & LLL_NOTICE)
        return SM_LOG_NOTICE;
    if (level & LLL_INFO)
        return SM_LOG_INFO;
    return SM_LOG_DEBUG;
}

static void lws_log_emit(int level, const char *line)
{
    if (log_sink)
        log_sink(level_from_lws(level), line, log_user);
}

static void apply_log_levels(void)
{
    int lws_levels = 0;
    if (log_sink) {
        if (log_levels & SM_LOG_ERR)
            lws_levels |= LLL_ERR;
        if (log_levels & SM_LOG_WARN)
            lws_levels |= LLL_WARN;
        if (log_levels & SM_LOG_NOTICE)
            lws_levels |= LLL_NOTICE;
        if (log_levels & SM_LOG_INFO)
            lws_levels |= LLL_INFO;
        if (log_levels & SM_LOG_DEBUG)
            lws_levels |= LLL_DEBUG;
    }
    /* Level 0 makes lws drop every line before formatting it: its default writes to stderr. */
    lws_set_log_level(lws_levels, lws_log_emit);
}

void sm_client_set_log_sink(sm_log_fn fn, void *user, unsigned levels)
{
    log_sink = levels ? fn : NULL;
    log_user = user;
    log_levels = levels;
    apply_log_levels();
}

void sm_cl_log(unsigned level, const char *fmt, ...)
{
    if (!log_sink || !(log_levels & level))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_sink(level, line, log_user);
}

/* ---- Small shared helpers ---- */

sm_client_errcode sm_cl_error(sm_client_error *err, sm_client_errcode code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *const errcode_names[SM_CLIENT_ERR_CODE_COUNT] = {
    [SM_CLIENT_OK] = "OK",
    [SM_CLIENT_ERR_ACCESS_DENIED] = "ACCESS_DENIED",
    [SM_CLIENT_ERR_NO_SUCH_SESSION] = "NO_SUCH_SESSION",
    [SM_CLIENT_ERR_NO_SUCH_LISTENER] = "NO_SUCH_LISTENER",
    [SM_CLIENT_ERR_INVALID_FILTER] = "INVALID_FILTER",
    [SM_CLIENT_ERR_INVALID_PROPERTY] = "INVALID_PROPERTY",
    [SM_CLIENT_ERR_LIMIT_EXCEEDED] = "LIMIT_EXCEEDED",
    [SM_CLIENT_ERR_INVALID_REQUEST] = "INVALID_REQUEST",
    [SM_CLIENT_ERR_AUTHENTICATION_FAILED] = "AUTHENTICATION_FAILED",
    [SM_CLIENT_ERR_INTERNAL_ERROR] = "INTERNAL_ERROR",
    [SM_CLIENT_ERR_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [SM_CLIENT_ERR_NOMEM] = "NOMEM",
    [SM_CLIENT_ERR_CONNECT_FAILED] = "CONNECT_FAILED",
    [SM_CLIENT_ERR_CONNECTION_LOST] = "CONNECTION_LOST",
    [SM_CLIENT_ERR_TIMEOUT] = "TIMEOUT",
    [SM_CLIENT_ERR_CLOSED] = "CLOSED",
    [SM_CLIENT_ERR_CANCELLED] = "CANCELLED",
    [SM_CLIENT_ERR_QUEUE_FULL] = "QUEUE_FULL",
    [SM_CLIENT_ERR_PROTOCOL] = "PROTOCOL",
    [SM_CLIENT_ERR_CLUSTER_UNAVAILABLE] = "CLUSTER_UNAVAILABLE",
};

const char *sm_client_errcode_name(sm_client_errcode code)
{
    if ((int)code < 0 || code >= SM_CLIENT_ERR_CODE_COUNT || !errcode_names[code])
        return "UNKNOWN";
    return errcode_names[code];
}

const char *sm_reason_name(sm_reason reason)
{
    if (reason == SM_REASON_NONE)
        return "NONE";
    const char *name = sm_close_reason_name((sm_close_reason)reason);
    return name ? name : "UNKNOWN";
}

sm_client_errcode sm_cl_errcode_from_wire(sm_errcode code)
{
    switch (code) {
    case SM_CODE_ACCESS_DENIED: return SM_CLIENT_ERR_ACCESS_DENIED;
    case SM_CODE_NO_SUCH_SESSION: return SM_CLIENT_ERR_NO_SUCH_SESSION;
    case SM_CODE_NO_SUCH_LISTENER: return SM_CLIENT_ERR_NO_SUCH_LISTENER;
    case SM_CODE_INVALID_FILTER: return SM_CLIENT_ERR_INVALID_FILTER;
    case SM_CODE_INVALID_PROPERTY: return SM_CLIENT_ERR_INVALID_PROPERTY;
    case SM_CODE_LIMIT_EXCEEDED: return SM_CLIENT_ERR_LIMIT_EXCEEDED;
    case SM_CODE_INVALID_REQUEST: return SM_CLIENT_ERR_INVALID_REQUEST;
    case SM_CODE_AUTHENTICATION_FAILED: return SM_CLIENT_ERR_AUTHENTICATION_FAILED;
    case SM_CODE_INTERNAL_ERROR: return SM_CLIENT_ERR_INTERNAL_ERROR;
    case SM_CODE_CLUSTER_UNAVAILABLE: return SM_CLIENT_ERR_CLUSTER_UNAVAILABLE;
    default: return SM_CLIENT_ERR_PROTOCOL;
    }
}

sm_reason sm_cl_reason_from_wire(sm_close_reason reason)
{
    if ((int)reason <= 0 || reason >= SM_CLOSE_REASON_COUNT)
        return SM_REASON_NONE;
    return (sm_reason)reason;
}

uint64_t sm_cl_random(sm_client *c)
{
    /* xorshift64*: jitter only needs to de-synchronise clients, not to be unpredictable. */
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static sm_property *grow_scratch(sm_property **arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return *arr;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    sm_property *p = realloc(*arr, n * sizeof *p);
    if (!p)
        return NULL;
    *arr = p;
    *cap = n;
    return p;
}

const sm_property *sm_cl_props(sm_client *c, const sm_kvs *kvs, bool second)
{
    if (!kvs->count)
        return NULL;
    sm_property *out = second ? grow_scratch(&c->scratch_b, &c->scratch_b_cap, kvs->count)
                              : grow_scratch(&c->scratch_a, &c->scratch_a_cap, kvs->count);
    if (!out)
        return NULL;
    for (size_t i = 0; i < kvs->count; i++) {
        out[i].key = kvs->items[i].key;
        out[i].value = kvs->items[i].value;
    }
    return out;
}

/* ---- Context lifetime and deferred frees ---- */

sm_client *sm_client_new(const sm_client_params *p, sm_client_error *err)
{
    sm_client_params defaults = {0};
    if (!p)
        p = &defaults;
    apply_log_levels();

    sm_client *c = calloc(1, sizeof *c);
    if (!c) {
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->tls = !p->no_tls;
    /* libwebsockets 4.1.6 accepts a missing CA file silently; every wss:// attempt would then
     * fail as "certificate not accepted", which hides the real mistake. */
    if (c->tls && p->ca_file) {
        FILE *ca = fopen(p->ca_file, "r");
        if (!ca) {
            sm_cl_error(err, SM_CLIENT_ERR_INVALID_ARGUMENT, "cannot read the CA file %.200s: %s", p->ca_file,
                        strerror(errno));
            free(c);
            return NULL;
        }
        fclose(ca);
    }
    if (p->ca_file && !(c->ca_file = strdup(p->ca_file))) {
        free(c);
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    c->rng = (uint64_t)sm_mono_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    if (!c->rng)
        c->rng = 0x9E3779B97F4A7C15ULL;

    c->protocols[0].name = SM_PROTOCOL_NAME;
    c->protocols[0].callback = sm_cl_lws_callback;
    c->protocols[0].per_session_data_size = 0; /* the session object is the wsi user data */
    c->protocols[0].rx_buffer_size = p->rx_buffer_size ? p->rx_buffer_size : SM_CL_RX_BUFFER_DEFAULT;

    /* No keep-alive or hang-up timers per connection: with thousands of sessions lws's
     * sorted timer list makes them O(n) each; liveness is checked by the library instead. */
    c->retry_policy.secs_since_valid_ping = 0;
    c->retry_policy.secs_since_valid_hangup = 0;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = c->protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = c;
    if (p->max_sessions && p->max_sessions <= SM_CL_SMALL_TABLE)
        info.fd_limit_per_thread = p->max_sessions + 16;
    info.pt_serv_buf_size = 65536;
    info.retry_and_idle_policy = &c->retry_policy;
    if (c->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = c->ca_file;
    }
    c->lws = lws_create_context(&info);
    if (!c->lws) {
        free(c->ca_file);
        free(c);
        sm_cl_error(err, SM_CLIENT_ERR_NOMEM, "could not create the libwebsockets context%s",
                    p->ca_file ? " (is the CA file readable?)" : "");
        return NULL;
    }
    return c;
}

static void reap(sm_client *c)
{
    c->reap_needed = false;
    sm_session *s = c->sessions_head;
    while (s) {
        sm_session *next = s->next;
        if (s->dead) {
            sm_cl_session_destroy(s);
        } else {
            sm_listener *l = s->listeners_head;
            while (l) {
                sm_listener *ln = l->next;
                if (l->dead)
                    sm_cl_listener_destroy(l);
                l = ln;
            }
        }
        s = next;
    }
}

static void destroy_client(sm_client *c)
{
    reap(c);
    /* Orphaned connections still reference c through their user pointer while lws tears
     * them down, so c outlives the lws context. */
    lws_context_destroy(c->lws);
    free(c->scratch_a);
    free(c->scratch_b);
    free(c->ca_file);
    free(c);
}

void sm_cl_enter(sm_client *c)
{
    c->depth++;
}

void sm_cl_leave(sm_client *c)
{
    if (--c->depth > 0)
        return;
    if (c->free_requested) {
        destroy_client(c);
        return;
    }
    if (c->reap_needed)
        reap(c);
}

void sm_client_free(sm_client *c)
{
    if (!c || c->free_requested)
        return;
    sm_cl_enter(c);
    c->free_requested = true;
    for (sm_session *s = c->sessions_head; s; s = s->next)
        if (!s->dead)
            sm_session_free(s);
    sm_cl_leave(c); /* destroys now, or when the outermost callback frame returns */
}

/* ---- Poll integration ---- */

int sm_client_pollfds(sm_client *c, struct pollfd *fds, int max)
{
    if (!c || c->free_requested)
        return 0;
    int n = 0;
    for (sm_session *s = c->sessions_head; s; s = s->next) {
        if (s->dead || !s->wsi || s->link == SM_LINK_IDLE)
            continue;
        int fd = lws_get_socket_fd(s->wsi);
        if (fd < 0)
            continue;
        short events = POLLIN;
        /* POLLOUT only with output waiting: the socket is nearly always writable, so asking
         * for it otherwise would spin. Before the upgrade request is out (plain ws), POLLOUT
         * tells us the TCP connect completed. */
        if (sm_cl_session_wants_write(s) || s->drain ||
            (s->link == SM_LINK_CONNECTING && !s->tls && !s->upgrade_sent))
            events |= POLLOUT;
        if (n < max) {
            fds[n].fd = fd;
            fds[n].events = events;
            fds[n].revents = 0;
        }
        n++;
    }
    return n;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

int sm_client_timeout_ms(sm_client *c)
{
    if (!c || c->free_requested)
        return -1;
    if (c->work_pending || c->lws_kick)
        return 0;
    int64_t now = sm_mono_ms();
    int64_t deadline = 0;
    int cap = -1;
    bool any_connection = c->orphans > 0;
    for (sm_session *s = c->sessions_head; s; s = s->next) {
        if (s->dead)
            continue;
        if (s->wsi) {
            any_connection = true;
            if (s->link == SM_LINK_CONNECTING && (cap < 0 || cap > SM_CL_CONNECTING_POLL_MS))
                cap = SM_CL_CONNECTING_POLL_MS;
        }
        deadline = min_deadline(deadline, sm_cl_session_deadline(s));
    }
    if (c->orphans && (cap < 0 || cap > SM_CL_ORPHAN_POLL_MS))
        cap = SM_CL_ORPHAN_POLL_MS;
    if (any_connection && (cap < 0 || cap > SM_CL_IDLE_POLL_MS))
        cap = SM_CL_IDLE_POLL_MS;
    int timeout = -1;
    if (deadline) {
        int64_t left = deadline - now;
        timeout = left <= 0 ? 0 : (left > 1000000 ? 1000000 : (int)left);
    }
    if (cap >= 0 && (timeout < 0 || timeout > cap))
        timeout = cap;
    /* lws may hold decrypted TLS data or buffered rx that no fd will signal. */
    if (timeout != 0 && any_connection && lws_service_adjust_timeout(c->lws, 1, 0) == 0)
        timeout = 0;
    return timeout;
}

static void service_pass(sm_client *c)
{
    c->work_pending = false;
    c->lws_kick = false;
    c->now = sm_mono_ms();
    /* A negative timeout makes lws poll its fds with timeout 0, run due timers and return;
     * 0 or more would block until its next event. */
    if (c->connecting)
        sm_cl_check_connects(c);
    lws_service(c->lws, -1);
    int64_t now = sm_mono_ms();
    for (sm_session *s = c->sessions_head; s && !c->free_requested; s = s->next) {
        if (s->dead)
            continue;
        sm_cl_session_after_service(s);
        sm_cl_session_tick(s, now);
    }
}

void sm_client_service(sm_client *c)
{
    if (!c || c->depth > 0 || c->free_requested)
        return;
    sm_cl_enter(c);
    service_pass(c);
    sm_cl_leave(c);
}

/* One poll over the client's fds; the array grows as the session count does. */
static void wait_for_io(sm_client *c, struct pollfd **fds, int *cap, int max_wait_ms)
{
    int n = sm_client_pollfds(c, *fds, *cap);
    if (n > *cap) {
        struct pollfd *bigger = realloc(*fds, (size_t)n * sizeof **fds);
        if (bigger) {
            *fds = bigger;
            *cap = n;
            n = sm_client_pollfds(c, *fds, *cap);
        } else {
            n = *cap;
        }
    }
    int timeout = sm_client_timeout_ms(c);
    if (max_wait_ms >= 0 && (timeout < 0 || timeout > max_wait_ms))
        timeout = max_wait_ms;
    if (poll(*fds, (nfds_t)n, timeout) < 0 && errno != EINTR)
        sm_cl_log(SM_LOG_WARN, "libsessmon: poll failed: %s", strerror(errno));
}

sm_client_errcode sm_client_run_until(sm_client *c, const volatile int *done, int timeout_ms)
{
    if (!c || c->depth > 0 || c->free_requested)
        return SM_CLIENT_ERR_INVALID_ARGUMENT;
    int64_t end = timeout_ms >= 0 ? sm_mono_ms() + timeout_ms : 0;
    struct pollfd *fds = NULL;
    int cap = 0;
    sm_client_errcode rc = SM_CLIENT_ERR_TIMEOUT;
    sm_cl_enter(c);
    for (;;) {
        if (done && *done) {
            rc = SM_CLIENT_OK;
            break;
        }
        int wait = 100;
        if (end) {
            int64_t left = end - sm_mono_ms();
            if (left <= 0)
                break;
            if (left < wait)
                wait = (int)left;
        }
        wait_for_io(c, &fds, &cap, wait);
        service_pass(c);
        if (c->free_requested) {
            rc = SM_CLIENT_ERR_CANCELLED;
            break;
        }
        if (c->reap_needed)
            reap(c);
    }
    free(fds);
    sm_cl_leave(c);
    return rc;
}

void sm_client_run_once(sm_client *c, int max_wait_ms)
{
    if (!c || c->depth > 0 || c->free_requested)
        return;
    struct pollfd local[64];
    struct pollfd *fds = local;
    int cap = 64;
    sm_cl_enter(c);
    /* wait_for_io reallocs only heap arrays: start on the heap when the stack one is short. */
    if (sm_client_pollfds(c, local, 64) > 64) {
        fds = NULL;
        cap = 0;
    }
    wait_for_io(c, &fds, &cap, max_wait_ms);
    service_pass(c);
    if (fds != local)
        free(fds);
    sm_cl_leave(c);
}
