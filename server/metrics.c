/* sessmond's metrics: cheap counters on the hot paths and the Prometheus text page built from them (docs/metrics.md). */
#include "server/metrics.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/intern.h"
#include "server/audit.h"
#include "server/cluster.h"
#include "server/outq.h"
#include "server/server.h"

smd_counters smd_metrics;

static const int64_t latency_bounds_us[SMD_LATENCY_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* ---- tallies ---- */

/* Open sessions per principal, keyed by the interned principal string (one pointer per distinct
 * name): an open addressing table that only allocates when a principal first appears. An entry
 * holds a reference to its string, dropped when its count returns to 0. */
typedef struct tally_entry {
    const char *principal; /* NULL = free slot */
    size_t count;
} tally_entry;

struct smd_tally {
    tally_entry *slots;
    size_t cap, used;
    size_t disconnected; /* sessions DISCONNECTED now */
    size_t untracked;    /* sessions whose principal found no room (out of memory) */
};

smd_tally *smd_tally_new(void)
{
    return calloc(1, sizeof(smd_tally));
}

void smd_tally_free(smd_tally *t, smd_server *srv)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].principal)
            sm_intern_unref(srv->strings, t->slots[i].principal);
    free(t->slots);
    free(t);
}

static size_t slot_of(const tally_entry *slots, size_t cap, const char *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    size_t i = (size_t)(h >> 32) & (cap - 1);
    while (slots[i].principal && slots[i].principal != p)
        i = (i + 1) & (cap - 1);
    return i;
}

static bool tally_grow(smd_tally *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 16;
    tally_entry *n = calloc(ncap, sizeof *n);
    if (!n)
        return false;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].principal)
            n[slot_of(n, ncap, t->slots[i].principal)] = t->slots[i];
    free(t->slots);
    t->slots = n;
    t->cap = ncap;
    return true;
}

/* Removes slot i, moving later entries of its probe run back (no tombstones). */
static void tally_remove_at(smd_tally *t, size_t i)
{
    size_t mask = t->cap - 1;
    t->slots[i].principal = NULL;
    t->slots[i].count = 0;
    t->used--;
    for (size_t j = (i + 1) & mask; t->slots[j].principal; j = (j + 1) & mask) {
        tally_entry e = t->slots[j];
        t->slots[j].principal = NULL;
        t->slots[j].count = 0;
        t->slots[slot_of(t->slots, t->cap, e.principal)] = e;
    }
}

/* ---- counting ---- */

int64_t smd_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void smd_metrics_observe(sm_msg_type type, int64_t us)
{
    if ((unsigned)type >= SM_MSG_TYPE_COUNT)
        return;
    smd_histogram *h = &smd_metrics.latency[type];
    if (us < 0)
        us = 0;
    size_t b = 0;
    while (b < SMD_LATENCY_BUCKETS && us > latency_bounds_us[b])
        b++;
    h->bucket[b]++;
    h->count++;
    h->sum_us += (uint64_t)us;
}

void smd_metrics_session_opened(smd_server *srv, const smd_session *s)
{
    smd_metrics.opened++;
    smd_tally *t = srv->tally;
    const char *p = s->fixed[SMD_FIX_PRINCIPAL];
    if (!t)
        return;
    if ((t->used + 1) * 2 > t->cap && !tally_grow(t)) {
        t->untracked++;
        return;
    }
    tally_entry *e = &t->slots[slot_of(t->slots, t->cap, p)];
    if (!e->principal) {
        e->principal = sm_intern_ref(p);
        t->used++;
    }
    e->count++;
}

void smd_metrics_session_resumed(smd_server *srv)
{
    smd_metrics.resumed++;
    if (srv->tally && srv->tally->disconnected)
        srv->tally->disconnected--;
}

void smd_metrics_session_disconnected(smd_server *srv)
{
    smd_metrics.disconnected++;
    if (srv->tally)
        srv->tally->disconnected++;
}

void smd_metrics_session_closed(smd_server *srv, const smd_session *s, sm_close_reason reason)
{
    if ((unsigned)reason < SM_CLOSE_REASON_COUNT)
        smd_metrics.closed[reason]++;
    smd_tally *t = srv->tally;
    if (!t)
        return;
    if (s->state == SM_STATE_DISCONNECTED && t->disconnected)
        t->disconnected--;
    const char *p = s->fixed[SMD_FIX_PRINCIPAL];
    size_t i = t->cap ? slot_of(t->slots, t->cap, p) : 0;
    if (!t->cap || !t->slots[i].principal) {
        if (t->untracked)
            t->untracked--;
        return;
    }
    if (--t->slots[i].count == 0) {
        const char *held = t->slots[i].principal;
        tally_remove_at(t, i);
        sm_intern_unref(srv->strings, held);
    }
}

/* ---- the page ---- */

static void head(sm_buf *b, const char *name, const char *type, const char *help)
{
    sm_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value_u(sm_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    head(b, name, type, help);
    sm_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A label value as the text format wants it: backslash, double quote and line feed escaped. */
static void label_value(sm_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            sm_buf_puts(b, "\\\\");
        else if (*s == '"')
            sm_buf_puts(b, "\\\"");
        else if (*s == '\n')
            sm_buf_puts(b, "\\n");
        else
            sm_buf_putc(b, *s);
    }
}

static int by_count_desc(const void *a, const void *b)
{
    const tally_entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->principal, y->principal);
}

static void render_sessions(const smd_server *srv, const smd_metrics_transport *tr, sm_buf *b)
{
    const smd_tally *t = srv->tally;
    size_t disconnected = t ? t->disconnected : 0;
    if (disconnected > srv->reg.count)
        disconnected = srv->reg.count;
    head(b, "sessmond_sessions", "gauge", "Sessions held by this node, by state.");
    sm_buf_printf(b, "sessmond_sessions{state=\"active\"} %zu\n", srv->reg.count - disconnected);
    sm_buf_printf(b, "sessmond_sessions{state=\"disconnected\"} %zu\n", disconnected);
    value_u(b, "sessmond_connections", "gauge", "WebSocket connections established (with or without a session).",
            srv->conn_count);
    value_u(b, "sessmond_connections_pending", "gauge",
            "Connections accepted and not yet logged in (the pre-login gate).", tr->pending);
    value_u(b, "sessmond_logins_in_progress", "gauge", "Opens waiting for their password checks.", srv->login_count);
    value_u(b, "sessmond_listeners", "gauge", "Session listeners registered (cluster proxies included).",
            srv->listener_count);
    value_u(b, "sessmond_queued_bytes", "gauge", "Heap bytes held by outbound queues.", smd_outq_total_bytes());

    size_t n = 0;
    tally_entry *top = NULL;
    if (t && t->used && (top = malloc(t->used * sizeof *top)))
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].principal)
                top[n++] = t->slots[i];
    if (n > 1)
        qsort(top, n, sizeof *top, by_count_desc);
    head(b, "sessmond_sessions_by_principal", "gauge",
         "Sessions of the principals with the most sessions (at most 20; \"\" is anonymous).");
    size_t shown = n < SMD_METRICS_TOP_PRINCIPALS ? n : SMD_METRICS_TOP_PRINCIPALS;
    uint64_t others = t ? t->untracked : 0;
    for (size_t i = 0; i < n; i++) {
        if (i >= shown) {
            others += top[i].count;
            continue;
        }
        sm_buf_puts(b, "sessmond_sessions_by_principal{principal=\"");
        label_value(b, top[i].principal);
        sm_buf_printf(b, "\"} %zu\n", top[i].count);
    }
    free(top);
    value_u(b, "sessmond_sessions_other_principals", "gauge",
            "Sessions of the principals not named in sessmond_sessions_by_principal.", others);
    value_u(b, "sessmond_principals_with_sessions", "gauge", "Distinct principals (anonymous included) with sessions.",
            t ? t->used : 0);

    value_u(b, "sessmond_sessions_opened_total", "counter", "Sessions opened.", smd_metrics.opened);
    value_u(b, "sessmond_sessions_resumed_total", "counter", "Sessions resumed on a new connection.",
            smd_metrics.resumed);
    value_u(b, "sessmond_sessions_disconnected_total", "counter",
            "Sessions whose connection was lost (they wait for a resume).", smd_metrics.disconnected);
    head(b, "sessmond_sessions_closed_total", "counter", "Sessions closed, by close reason (docs/protocol.md).");
    for (int r = SM_CLOSE_NONE + 1; r < SM_CLOSE_REASON_COUNT; r++)
        sm_buf_printf(b, "sessmond_sessions_closed_total{reason=\"%s\"} %llu\n",
                      sm_close_reason_name((sm_close_reason)r), (unsigned long long)smd_metrics.closed[r]);
    head(b, "sessmond_controller_closes_total", "counter",
         "Sessions closed by a request of another session (CLOSED_BY_CONTROLLER), by operation.");
    sm_buf_printf(b, "sessmond_controller_closes_total{op=\"close_session\"} %llu\n",
                  (unsigned long long)smd_metrics.closed_by_id);
    sm_buf_printf(b, "sessmond_controller_closes_total{op=\"close_by_filter\"} %llu\n",
                  (unsigned long long)smd_metrics.closed_by_filter);
}

static void render_traffic(sm_buf *b)
{
    value_u(b, "sessmond_listener_events_total", "counter",
            "Events queued to listeners (to clients, and to other nodes' listeners in cluster mode).",
            smd_metrics.events_queued);
    uint64_t limit = smd_metrics.messages_dropped_limit;
    uint64_t all = smd_metrics.messages_dropped > limit ? smd_metrics.messages_dropped : limit;
    head(b, "sessmond_messages_dropped_total", "counter", "Outbound messages discarded unsent, by cause.");
    sm_buf_printf(b, "sessmond_messages_dropped_total{cause=\"queue_limit\"} %llu\n", (unsigned long long)limit);
    sm_buf_printf(b, "sessmond_messages_dropped_total{cause=\"connection_closed\"} %llu\n",
                  (unsigned long long)(all - limit));
    value_u(b, "sessmond_queue_limit_closes_total", "counter",
            "Sessions closed because their outbound queue passed its limit.",
            smd_metrics.closed[SM_CLOSE_MESSAGE_QUEUE_LIMIT_REACHED]);

    static const char *const outcomes[SMD_LOGIN_OUTCOME_COUNT] = {"ok", "failed", "abandoned", "throttled", "busy"};
    head(b, "sessmond_logins_total", "counter",
         "Logins with a password, by result (failed: wrong password or unknown principal; throttled: refused by a "
         "back-off; busy: refused by the check budget; abandoned: the client left during its check).");
    for (int i = 0; i < SMD_LOGIN_OUTCOME_COUNT; i++)
        sm_buf_printf(b, "sessmond_logins_total{result=\"%s\"} %llu\n", outcomes[i],
                      (unsigned long long)smd_metrics.logins[i]);
    value_u(b, "sessmond_logins_failed_total", "counter",
            "Failed logins (wrong password, unknown principal, or abandoned during the check).",
            smd_metrics.logins[SMD_LOGIN_OUTCOME_FAILED] + smd_metrics.logins[SMD_LOGIN_OUTCOME_ABANDONED]);
    value_u(b, "sessmond_logins_throttled_total", "counter",
            "Logins refused without a password check (back-off or check budget).",
            smd_metrics.logins[SMD_LOGIN_OUTCOME_THROTTLED] + smd_metrics.logins[SMD_LOGIN_OUTCOME_BUSY]);

    static const char *const refusals[SMD_REFUSED_COUNT] = {"per_address", "per_subnet", "evicted", "handshake_timeout",
                                                            "no_descriptors"};
    head(b, "sessmond_connections_refused_total", "counter",
         "Connections refused or dropped before login by the connection gate, by cause.");
    for (int i = 0; i < SMD_REFUSED_COUNT; i++)
        sm_buf_printf(b, "sessmond_connections_refused_total{cause=\"%s\"} %llu\n", refusals[i],
                      (unsigned long long)smd_metrics.refused[i]);
    value_u(b, "sessmond_accept_pauses_total", "counter", "Times accepting paused because descriptors ran out.",
            smd_metrics.accept_pauses_no_fds);
    head(b, "sessmond_audit_records_total", "counter",
         "Audit log records: written to the file, or dropped (buffer full, file unwritable).");
    sm_buf_printf(b, "sessmond_audit_records_total{result=\"written\"} %llu\n", (unsigned long long)smd_audit_written());
    sm_buf_printf(b, "sessmond_audit_records_total{result=\"dropped\"} %llu\n", (unsigned long long)smd_audit_dropped());
}

static void render_latency(sm_buf *b)
{
    static const sm_msg_type ops[] = {SM_MSG_GET,          SM_MSG_SET,          SM_MSG_SET_BY_FILTER,
                                      SM_MSG_CLOSE_SESSION, SM_MSG_CLOSE_BY_FILTER, SM_MSG_ADD_LISTENER,
                                      SM_MSG_REMOVE_LISTENER, SM_MSG_PING,      SM_MSG_CLOSE_SELF};
    head(b, "sessmond_request_duration_seconds", "histogram",
         "Requests from decoding to their reply queued (set/close by filter: until their last slice), by operation.");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const smd_histogram *h = &smd_metrics.latency[ops[i]];
        const char *op = sm_msg_type_name(ops[i]); /* the wire names: lowercase already */
        uint64_t cumulative = 0;
        for (int k = 0; k < SMD_LATENCY_BUCKETS; k++) {
            cumulative += h->bucket[k];
            sm_buf_printf(b, "sessmond_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n", op,
                          (double)latency_bounds_us[k] / 1e6, (unsigned long long)cumulative);
        }
        sm_buf_printf(b, "sessmond_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n", op,
                      (unsigned long long)h->count);
        sm_buf_printf(b, "sessmond_request_duration_seconds_sum{op=\"%s\"} %.6f\n", op, (double)h->sum_us / 1e6);
        sm_buf_printf(b, "sessmond_request_duration_seconds_count{op=\"%s\"} %llu\n", op,
                      (unsigned long long)h->count);
    }
}

static void render_cluster(const smd_server *srv, sm_buf *b)
{
    smd_cluster_stats cs;
    if (!smd_cluster_get_stats(srv, &cs))
        return;
    value_u(b, "sessmond_cluster_redis_connected", "gauge", "1 when this node is connected to Redis and joined.",
            cs.redis_connected);
    value_u(b, "sessmond_cluster_degraded", "gauge",
            "1 when other nodes cannot be reached through Redis (local sessions are still served).",
            !cs.redis_connected);
    value_u(b, "sessmond_cluster_live_nodes", "gauge", "Other nodes alive and in touch (this one not counted).",
            cs.live_nodes);
    value_u(b, "sessmond_cluster_pending_requests", "gauge", "This node's cross-node requests waiting for answers.",
            cs.pending_requests);
    value_u(b, "sessmond_cluster_remote_requests", "gauge", "Other nodes' requests running on this node.",
            cs.remote_requests);
    value_u(b, "sessmond_cluster_proxies", "gauge", "Other nodes' listeners evaluated on this node.", cs.proxies);
    value_u(b, "sessmond_cluster_answers_missing_nodes_total", "counter",
            "Cross-node replies that named nodes that did not answer in time.", cs.answers_missing_nodes);
}

/* ---- process figures, the way the Prometheus client libraries report them ---- */

#define FD_POLL_CHUNK 4096

/* Open descriptors, counted by polling every slot of the descriptor table without waiting (a slot
 * that is not open answers POLLNVAL): about 20 ns a slot, where reading /proc/self/fd cost 8 us an
 * entry here (150 ms at 19,000 descriptors, all of it on the event loop). The table's size
 * (FDSize) bounds the slots to look at. -1 when unknown. */
static long open_fds(size_t fd_limit)
{
    long table = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "FDSize: %ld", &table) == 1)
            break;
    fclose(f);
    if (table <= 0)
        return -1;
    if (fd_limit && (size_t)table > fd_limit)
        table = (long)fd_limit;
    static struct pollfd slots[FD_POLL_CHUNK];
    long open = 0;
    for (long base = 0; base < table; base += FD_POLL_CHUNK) {
        /* poll() refuses more entries than the descriptor limit: chunks stay under it */
        long n = table - base < FD_POLL_CHUNK ? table - base : FD_POLL_CHUNK;
        for (long i = 0; i < n; i++)
            slots[i] = (struct pollfd){.fd = (int)(base + i), .events = 0, .revents = 0};
        if (poll(slots, (nfds_t)n, 0) < 0)
            return -1;
        for (long i = 0; i < n; i++)
            open += !(slots[i].revents & POLLNVAL);
    }
    return open;
}

static void render_process(const smd_metrics_transport *tr, sm_buf *b)
{
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char text[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    /* Fields after the command name, which is in parentheses and may hold anything. */
    const char *p = strrchr(text, ')');
    unsigned long utime = 0, stime = 0, vsize = 0;
    unsigned long long start = 0;
    long rss = 0;
    bool stat_ok = p && ticks > 0 &&
                   sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %lu %ld",
                          &utime, &stime, &start, &vsize, &rss) == 5;
    static unsigned long long boot; /* the boot time does not change: read once */
    if (!boot && (f = fopen("/proc/stat", "r"))) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "btime %llu", &boot) == 1)
                break;
        fclose(f);
    }
    if (stat_ok) {
        head(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        sm_buf_printf(b, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)ticks);
        value_u(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize);
        value_u(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                (uint64_t)(rss > 0 ? rss : 0) * (uint64_t)(page > 0 ? page : 4096));
        if (boot) {
            head(b, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
            sm_buf_printf(b, "process_start_time_seconds %.2f\n", (double)boot + (double)start / (double)ticks);
        }
    }
    long fds = open_fds(tr->fd_limit);
    if (fds >= 0)
        value_u(b, "process_open_fds", "gauge", "Number of open file descriptors.", (uint64_t)fds);
    value_u(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.", tr->fd_limit);
}

int smd_metrics_render(const smd_server *srv, const smd_metrics_transport *tr, sm_buf *out)
{
    render_sessions(srv, tr, out);
    render_traffic(out);
    render_latency(out);
    render_cluster(srv, out);
    value_u(out, "sessmond_admin_requests_total", "counter", "Requests answered on the admin listener.",
            smd_metrics.admin_requests);
    value_u(out, "sessmond_admin_connections_refused_total", "counter",
            "Admin connections closed unanswered (over admin.maxConnections, or timed out).",
            smd_metrics.admin_refused);
    value_u(out, "sessmond_shutting_down", "gauge", "1 once the server is shutting down.", tr->stopping);
    render_process(tr, out);
    return out->overflow ? SM_ERR_NOMEM : SM_OK;
}

int smd_metrics_health(const smd_server *srv, const smd_metrics_transport *tr, sm_buf *out)
{
    if (tr->stopping || srv->shutting_down) {
        sm_buf_puts(out, "shutting down\n");
        return 503;
    }
    sm_buf_puts(out, "ok\n");
    smd_cluster_stats cs;
    if (smd_cluster_get_stats(srv, &cs))
        sm_buf_printf(out, "cluster: %s, %zu other nodes live\n", cs.redis_connected ? "connected" : "degraded",
                      cs.live_nodes);
    if (tr->out_of_fds)
        sm_buf_puts(out, "warning: out of file descriptors, new connections are refused\n");
    return 200;
}
