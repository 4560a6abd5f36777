/* sessmon-load's worker: one poll loop holding a share of the sessions, with ramp, churn and a clean stop. */
#include "tools/load/worker.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/resource.h>

#include <sessmon.h>

#include "core/clock.h"
#include "core/proc.h"
#include "tools/load/profile.h"
#include "tools/load/stats.h"

/* Service period of the sessions' client: a pass polls all its sockets (inside lws) and walks all
 * its sessions, 0.3-0.6 us per session (more once they outgrow the CPU caches), so the period
 * grows with the sessions (1.5 ms per 100): the passes then cost about the same CPU per second at
 * 1,000 sessions as at 15,000, and the I/O of a period waits for the next pass (up to 225 ms at
 * 15,000; the library's timers tolerate it). */
#define TICK_MIN_MS 10
#define TICK_MAX_MS 250
#define TICK_MS_PER_1000_SESSIONS 15
/* While sessions connect, or close on a stop, each handshake step waits for a pass: pass this
 * often then (a ramp or a stop is short). */
#define BUSY_PASS_MS 2
/* Churn budgets are spent this often: their work is per action, not per session. */
#define RATES_MS 5
#define REPORT_MS 500
#define PROGRESS_MS 1000
#define RETRY_DELAY_MS 1000   /* before a failed or lost slot is opened again */
/* Updates sent and not yet answered, per worker: bounds memory and the server's backlog, yet
 * covers 10,000/s with replies up to 0.4 s late (or updates sent through the sessions
 * themselves, whose replies wait for the sessions' next pass). */
#define MAX_UPDATES_IN_FLIGHT 4000
#define MAX_ERROR_LINES 10    /* error messages printed before only counting them */
#define SESSION_ID_MAX 64
/* Connections in their handshake at once: each holds lws timers in one sorted list whose inserts
 * cost O(list length), so thousands at once slow everything down. */
#define MAX_CONNECTING 256
#define MAX_CLOSING 512
#define NO_PRINCIPAL 0xFF

typedef enum slot_state {
    SLOT_EMPTY,        /* nothing open; queued for (re)opening unless DONE */
    SLOT_CONNECTING,
    SLOT_OPEN,
    SLOT_RECONNECTING,
    SLOT_CLOSING,      /* we asked for the close */
    SLOT_DONE,         /* --from mode: closed for good */
    SLOT_STATE_COUNT
} slot_state;

typedef struct worker worker;

typedef struct slot {
    worker *w;
    sm_session *s;
    const sm_load_spec *spec; /* --from mode */
    int64_t ready_at;         /* EMPTY: earliest time to open again */
    uint32_t open_pos;        /* index in worker.open_set while OPEN */
    uint32_t global;          /* session number across workers (source round-robin) */
    uint8_t state;
    uint8_t principal; /* index into opt->principals, NO_PRINCIPAL = anonymous */
    bool can_modify;   /* the session itself holds modify_session */
    bool ever_opened;  /* the current session was opened at least once */
    sm_profile profile;
    char id[SESSION_ID_MAX];
} slot;

struct worker {
    const sm_load_worker_params *p;
    const sm_load_options *opt;
    sm_client *client;     /* the simulated sessions */
    sm_client *ctl_client; /* the control session alone: its passes cost no walk over the others */
    int64_t next_sessions_pass;
    sm_rng rng;
    slot *slots;
    size_t slot_count;
    uint32_t *open_set; /* indices of OPEN slots, for O(1) random picks */
    size_t open_count;
    uint32_t *queue; /* FIFO ring of EMPTY slots waiting to be opened */
    size_t q_head, q_len;
    size_t counts[SLOT_STATE_COUNT];
    sm_session *control;
    bool control_open;
    unsigned control_principal_warned;
    double open_budget, close_budget, update_budget, drop_budget;
    sm_load_stats stats;
    bool stopping;
    bool control_closing;
    size_t stop_cursor; /* next slot to close while stopping */
    int64_t stop_deadline;
    int64_t start, last_tick, next_report, next_progress;
    int tick_ms;
    sm_load_stats last_printed;
    int64_t last_printed_at;
    unsigned error_lines;
    struct pollfd *fds;
    int fds_cap;
};

static bool from_mode(const worker *w)
{
    return w->p->specs != NULL;
}

/* Prints an error about a session (escaped), at most MAX_ERROR_LINES of them in normal mode. */
static void report_error(worker *w, const slot *sl, const char *what, const sm_client_error *e)
{
    unsigned limit = from_mode(w) ? 50 : MAX_ERROR_LINES;
    if (w->error_lines > limit)
        return;
    if (w->error_lines++ == limit) {
        fprintf(stderr, "sessmon-load: more errors; counting them only\n");
        return;
    }
    char msg[SM_CLIENT_ERROR_MESSAGE_MAX * 4 + 8];
    sm_load_escape(e ? e->message : "", msg, sizeof msg);
    const char *code = e ? sm_client_errcode_name(e->code) : "?";
    if (sl && sl->spec)
        fprintf(stderr, "sessmon-load: --from line %u: %s: %s: %s\n", sl->spec->line, what, code, msg);
    else
        fprintf(stderr, "sessmon-load: %s: %s: %s\n", what, code, msg);
}

/* ---- slot bookkeeping ---- */

static void set_state(worker *w, slot *sl, slot_state st)
{
    w->counts[sl->state]--;
    w->counts[st]++;
    if (sl->state == SLOT_OPEN && st != SLOT_OPEN) {
        uint32_t last = w->open_set[--w->open_count];
        w->open_set[sl->open_pos] = last;
        w->slots[last].open_pos = sl->open_pos;
    } else if (sl->state != SLOT_OPEN && st == SLOT_OPEN) {
        sl->open_pos = (uint32_t)w->open_count;
        w->open_set[w->open_count++] = (uint32_t)(sl - w->slots);
    }
    sl->state = (uint8_t)st;
}

static void enqueue(worker *w, slot *sl, int64_t ready_at)
{
    sl->ready_at = ready_at;
    w->queue[(w->q_head + w->q_len) % w->slot_count] = (uint32_t)(sl - w->slots);
    w->q_len++;
}

static const char *slot_source(const worker *w, const slot *sl)
{
    if (sl->spec && sl->spec->source[0])
        return sl->spec->source;
    if (w->opt->source_count == 0)
        return NULL;
    return w->opt->sources[sl->global % w->opt->source_count];
}

static uint8_t pick_principal(worker *w)
{
    const sm_load_options *o = w->opt;
    unsigned total = o->anonymous_weight;
    for (size_t i = 0; i < o->principal_count; i++)
        total += o->principals[i].weight;
    size_t x = sm_rng_below(&w->rng, total);
    if (x < o->anonymous_weight)
        return NO_PRINCIPAL;
    x -= o->anonymous_weight;
    for (size_t i = 0; i < o->principal_count; i++) {
        if (x < o->principals[i].weight)
            return (uint8_t)i;
        x -= o->principals[i].weight;
    }
    return NO_PRINCIPAL;
}

/* ---- session callbacks ---- */

static void on_open(sm_session *s, const sm_session_info *info, void *context)
{
    slot *sl = context;
    worker *w = sl->w;
    snprintf(sl->id, sizeof sl->id, "%s", strlen(info->session_id) < sizeof sl->id ? info->session_id : "");
    sl->can_modify = (info->permissions & SM_PERMISSION_MODIFY_SESSION) != 0;
    if (sl->state == SLOT_RECONNECTING) {
        if (info->resumed)
            w->stats.reconnects++;
        else
            w->stats.replaced++;
    }
    if (!info->resumed)
        w->stats.opened++;
    sl->ever_opened = true;
    if (sl->state == SLOT_CONNECTING || sl->state == SLOT_RECONNECTING) {
        if (w->stopping && sm_session_close(s, NULL) == SM_CLIENT_OK)
            set_state(w, sl, SLOT_CLOSING);
        else
            set_state(w, sl, SLOT_OPEN);
    }
}

static void on_disconnect(sm_session *s, const sm_client_error *cause, void *context)
{
    slot *sl = context;
    (void)s;
    (void)cause;
    if (sl->state == SLOT_OPEN)
        set_state(sl->w, sl, SLOT_RECONNECTING);
}

static void on_close(sm_session *s, sm_reason reason, const sm_client_error *error, void *context)
{
    slot *sl = context;
    worker *w = sl->w;
    sm_session_free(s); /* deferred by the library until this callback returns */
    sl->s = NULL;
    int64_t now = sm_mono_ms();
    if (sl->state == SLOT_CLOSING) {
        w->stats.closed++;
    } else if (!sl->ever_opened) {
        w->stats.failed++;
        report_error(w, sl, "cannot open a session", error);
    } else {
        w->stats.lost++;
        if (from_mode(w)) {
            char what[96];
            snprintf(what, sizeof what, "session closed by the server (%s)", sm_reason_name(reason));
            report_error(w, sl, what, error);
        }
    }
    bool refill = !from_mode(w) && !w->stopping;
    int64_t ready = now + (sl->state == SLOT_CLOSING ? 0 : RETRY_DELAY_MS);
    set_state(w, sl, refill ? SLOT_EMPTY : SLOT_DONE);
    if (refill)
        enqueue(w, sl, ready);
}

static void on_control_open(sm_session *s, const sm_session_info *info, void *context)
{
    worker *w = context;
    (void)s;
    w->control_open = true;
    if (!(info->permissions & SM_PERMISSION_MODIFY_SESSION) && !w->control_principal_warned++) {
        char name[600];
        sm_load_escape(w->opt->admin, name, sizeof name);
        fprintf(stderr, "sessmon-load: --admin %s lacks modify_session: updates will be refused\n", name);
    }
}

static void on_control_disconnect(sm_session *s, const sm_client_error *cause, void *context)
{
    worker *w = context;
    (void)s;
    (void)cause;
    w->control_open = false;
}

static void on_control_close(sm_session *s, sm_reason reason, const sm_client_error *error, void *context)
{
    worker *w = context;
    (void)reason;
    w->control_open = false;
    w->control = NULL;
    sm_session_free(s);
    if (!w->stopping && error && error->code != SM_CLIENT_OK)
        report_error(w, NULL, "the --admin control session ended", error);
}

static void on_update_reply(sm_session *s, const sm_reply *reply, void *context)
{
    worker *w = context;
    (void)s;
    w->stats.updates_in_flight--;
    if (!reply->error) {
        w->stats.updates++;
    } else if (reply->error->code != SM_CLIENT_ERR_CANCELLED && reply->error->code != SM_CLIENT_ERR_CLOSED) {
        w->stats.update_errors++;
        /* Normal churn: the target closed while the update was in flight (NO_SUCH_SESSION), or
         * the session carrying it was dropped on purpose (CONNECTION_LOST with --drop-rate). */
        bool churn = reply->error->code == SM_CLIENT_ERR_NO_SUCH_SESSION ||
                     (reply->error->code == SM_CLIENT_ERR_CONNECTION_LOST && w->opt->drop_rate > 0);
        if (!churn)
            report_error(w, NULL, "property update failed", reply->error);
    }
}

/* ---- actions ---- */

static void open_slot(worker *w, slot *sl)
{
    const sm_load_options *o = w->opt;
    sm_property props[SM_PROFILE_MAX_PROPS];
    char user[16];
    sm_session_params sp;
    memset(&sp, 0, sizeof sp);
    sp.url = o->url;
    sp.local_address = slot_source(w, sl);
    if (sl->spec) {
        sp.principal = sl->spec->principal;
        sp.password = sl->spec->password;
        sp.properties = sl->spec->props;
        sp.property_count = sl->spec->prop_count;
        sp.client_type = sl->spec->client_type;
        sp.environment = sl->spec->environment;
    } else {
        sm_profile_draw(&sl->profile, &w->rng, sp.local_address);
        sl->principal = pick_principal(w);
        if (sl->principal != NO_PRINCIPAL) {
            sp.principal = o->principals[sl->principal].name;
            sp.password = o->principals[sl->principal].password;
        }
        sp.property_count = sm_profile_props(&sl->profile, props, user, sizeof user);
        sp.properties = props;
        sp.client_type = sm_profile_client_type(&sl->profile);
        sp.environment = sm_profile_environment(&sl->profile);
    }
    sp.on_open = on_open;
    sp.on_disconnect = on_disconnect;
    sp.on_close = on_close;
    sp.context = sl;
    sp.allow_self_signed = true; /* loopback only: the demo's certificate is self-signed */
    sl->ever_opened = false;
    sl->can_modify = false;
    sl->id[0] = '\0';
    sm_client_error err = {0};
    sl->s = sm_session_open(w->client, &sp, &err);
    if (!sl->s) {
        w->stats.failed++;
        report_error(w, sl, "cannot open a session", &err);
        if (from_mode(w)) {
            set_state(w, sl, SLOT_DONE);
        } else {
            set_state(w, sl, SLOT_EMPTY);
            enqueue(w, sl, sm_mono_ms() + RETRY_DELAY_MS);
        }
        return;
    }
    set_state(w, sl, SLOT_CONNECTING);
}

static slot *random_open(worker *w)
{
    if (w->open_count == 0)
        return NULL;
    return &w->slots[w->open_set[sm_rng_below(&w->rng, w->open_count)]];
}

static void close_one(worker *w)
{
    slot *sl = random_open(w);
    if (!sl)
        return;
    set_state(w, sl, SLOT_CLOSING);
    if (sm_session_close(sl->s, NULL) != SM_CLIENT_OK)
        set_state(w, sl, SLOT_RECONNECTING); /* already closing on its own: on_close will tell */
}

static void drop_one(worker *w)
{
    slot *sl = random_open(w);
    if (!sl)
        return;
    if (sm_session_drop_connection(sl->s, NULL) == SM_CLIENT_OK) {
        w->stats.drops++;
        /* The library notices on its next read; meanwhile the slot must not be picked again. */
        set_state(w, sl, SLOT_RECONNECTING);
    }
}

static void update_one(worker *w)
{
    if (w->stats.updates_in_flight >= MAX_UPDATES_IN_FLIGHT) {
        w->stats.updates_skipped++;
        w->stats.updates_skipped_window++;
        return;
    }
    slot *sl = random_open(w);
    sm_session *via = !sl || !sl->id[0] ? NULL : sl->can_modify ? sl->s : (w->control_open ? w->control : NULL);
    if (!via) {
        w->stats.updates_skipped++;
        w->stats.updates_skipped_no_session++;
        return;
    }
    sm_property change;
    if (sl->spec) {
        /* --from sessions keep their own properties; only Status moves. */
        static const char *const statuses[] = {"online", "idle", "away", "busy"};
        change = (sm_property){"Status", statuses[sm_rng_below(&w->rng, 4)]};
    } else {
        sm_profile_mutate(&sl->profile, &w->rng, &change);
    }
    sm_set_params sp;
    memset(&sp, 0, sizeof sp);
    sp.session_id = sl->id;
    sp.properties = &change;
    sp.property_count = 1;
    sp.on_reply = on_update_reply;
    sp.context = w;
    sp.timeout_ms = 10000;
    if (sm_set_properties(via, &sp, NULL) == SM_CLIENT_OK)
        w->stats.updates_in_flight++;
    else
        w->stats.update_errors++;
}

static void open_control(worker *w)
{
    sm_session_params sp;
    memset(&sp, 0, sizeof sp);
    sp.url = w->opt->url;
    sp.principal = w->opt->admin;
    sp.password = w->opt->admin_password;
    sp.client_type = "C";
    sp.environment = "sessmon-load control session";
    sp.retry_initial_connect = true;
    sp.allow_self_signed = true;
    sp.on_open = on_control_open;
    sp.on_disconnect = on_control_disconnect;
    sp.on_close = on_control_close;
    sp.context = w;
    sm_client_error err = {0};
    w->control = sm_session_open(w->ctl_client ? w->ctl_client : w->client, &sp, &err);
    if (!w->control)
        report_error(w, NULL, "cannot open the --admin control session", &err);
}

/* Spends a per-second budget in whole actions; the cap keeps a stall from turning into a burst.
 * *forgone (optional) counts the actions the cap threw away: the loop ran late. */
static unsigned take(double *budget, double rate, double dt, uint64_t *forgone)
{
    if (rate <= 0)
        return 0;
    *budget += rate * dt;
    double cap = rate * 0.2 + 1.0;
    if (*budget > cap) {
        if (forgone)
            *forgone += (uint64_t)(*budget - cap);
        *budget = cap;
    }
    unsigned n = (unsigned)*budget;
    *budget -= n;
    return n;
}

static void run_rates(worker *w, int64_t now)
{
    double dt = (double)(now - w->last_tick) / 1000.0;
    w->last_tick = now;
    if (dt <= 0)
        return;
    double share = (double)w->p->count;
    size_t live = w->counts[SLOT_CONNECTING] + w->counts[SLOT_OPEN] + w->counts[SLOT_RECONNECTING] +
                  w->counts[SLOT_CLOSING];
    unsigned opens = take(&w->open_budget, w->opt->ramp / share, dt, NULL);
    while (opens > 0 && w->q_len > 0) {
        slot *sl = &w->slots[w->queue[w->q_head]];
        if (sl->ready_at > now || (!from_mode(w) && live >= w->p->target) ||
            w->counts[SLOT_CONNECTING] >= MAX_CONNECTING)
            break;
        w->q_head = (w->q_head + 1) % w->slot_count;
        w->q_len--;
        open_slot(w, sl);
        opens--;
        live++;
    }
    if (w->q_len == 0 || opens > 0)
        w->open_budget = 0; /* unused opens do not pile up */
    if (from_mode(w))
        return;
    for (unsigned n = take(&w->close_budget, w->opt->close_rate / share, dt, NULL); n > 0; n--)
        close_one(w);
    for (unsigned n = take(&w->update_budget, w->opt->update_rate / share, dt, &w->stats.updates_late); n > 0; n--)
        update_one(w);
    for (unsigned n = take(&w->drop_budget, w->opt->drop_rate / share, dt, NULL); n > 0; n--)
        drop_one(w);
}

/* Closes sessions in batches: every close arms lws timers in its sorted list (see
 * MAX_CONNECTING), so closing 15k at once would take longer than closing them in turn. */
static void continue_stop(worker *w)
{
    while (w->stop_cursor < w->slot_count && w->counts[SLOT_CLOSING] < MAX_CLOSING) {
        slot *sl = &w->slots[w->stop_cursor++];
        /* Sessions still (re)connecting are closed by on_open: closed now, a resuming one would
         * linger on the server as DISCONNECTED until its reconnect timeout. */
        if (!sl->s || sl->state != SLOT_OPEN)
            continue;
        if (sm_session_close(sl->s, NULL) == SM_CLIENT_OK)
            set_state(w, sl, SLOT_CLOSING);
    }
    if (w->stop_cursor >= w->slot_count && w->control && !w->control_closing) {
        w->control_closing = true;
        sm_session_close(w->control, NULL);
    }
}

static void begin_stop(worker *w, int64_t now)
{
    w->stopping = true;
    w->stats.stopping = 1;
    /* Auto: closing runs at about 1500 sessions/s per worker when it is large. */
    int timeout = w->opt->stop_timeout_ms >= 0 ? w->opt->stop_timeout_ms : 5000 + (int)w->slot_count;
    w->stop_deadline = now + timeout;
    w->stop_cursor = 0;
    w->q_len = 0;
    continue_stop(w);
}

static size_t live_sessions(const worker *w)
{
    return w->counts[SLOT_CONNECTING] + w->counts[SLOT_OPEN] + w->counts[SLOT_RECONNECTING] +
           w->counts[SLOT_CLOSING] + (w->control ? 1 : 0);
}

static void fill_gauges(worker *w)
{
    w->stats.target = from_mode(w) ? w->p->spec_count : w->p->target;
    w->stats.open = w->counts[SLOT_OPEN];
    w->stats.connecting = w->counts[SLOT_CONNECTING];
    w->stats.reconnecting = w->counts[SLOT_RECONNECTING];
    w->stats.waiting = w->counts[SLOT_EMPTY];
}

static uint64_t cpu_ms_self(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000u;
}

static void report(worker *w, int64_t now, bool final)
{
    fill_gauges(w);
    w->stats.cpu_ms = cpu_ms_self();
    w->stats.done = final ? 1 : 0;
    if (w->p->report_fd >= 0) {
        /* A byte copy: GCC 12 misreads &w->stats as its first member in the write() check. */
        unsigned char rec[sizeof w->stats];
        memcpy(rec, &w->stats, sizeof rec);
        ssize_t r;
        do {
            r = write(w->p->report_fd, rec, sizeof rec);
        } while (r < 0 && errno == EINTR);
        return;
    }
    if (w->opt->quiet || (!final && now < w->next_progress))
        return;
    w->next_progress = now + PROGRESS_MS;
    /* The last line gives the averages over the whole run. */
    sm_load_stats zero;
    memset(&zero, 0, sizeof zero);
    const sm_load_stats *prev = final ? &zero : &w->last_printed;
    sm_load_line line;
    memset(&line, 0, sizeof line);
    line.state = final ? "stopped" : (w->stopping ? "stopping" : "running");
    line.elapsed = (double)(now - w->start) / 1000.0;
    line.dt = final ? line.elapsed : (double)(now - w->last_printed_at) / 1000.0;
    line.workers = 1;
    line.rss_kb = sm_proc_rss_kb(0);
    line.updates_asked = from_mode(w) ? 0 : w->opt->update_rate;
    line.cpu_pct = line.dt > 0 ? (double)(w->stats.cpu_ms - prev->cpu_ms) / (line.dt * 10.0) : -1;
    sm_load_progress_print(stdout, w->opt->json_progress, &line, &w->stats, prev);
    w->last_printed = w->stats;
    w->last_printed_at = now;
}

/* Polls the control session and the wake pipe only; the sessions' client is serviced on its own
 * period instead of whenever one of its sockets stirs. A pass over it costs a poll of all its
 * sockets: driven by I/O it would run for nearly every reply of the control session. */
static void wait_and_service(worker *w, int64_t now, int timeout)
{
    int mine = 0;
    if (w->p->wake_fd >= 0) {
        w->fds[0] = (struct pollfd){.fd = w->p->wake_fd, .events = POLLIN};
        mine = 1;
    }
    int ctl = 0;
    if (w->ctl_client) {
        ctl = sm_client_pollfds(w->ctl_client, w->fds + mine, w->fds_cap - mine);
        if (ctl > w->fds_cap - mine)
            ctl = w->fds_cap - mine;
        int lib = sm_client_timeout_ms(w->ctl_client);
        if (lib >= 0 && lib < timeout)
            timeout = lib;
    }
    int64_t due = w->next_sessions_pass - now;
    if (due < timeout)
        timeout = due < 0 ? 0 : (int)due;
    int n = poll(w->fds, (nfds_t)(ctl + mine), timeout);
    if (n > 0 && mine && (w->fds[0].revents & POLLIN)) {
        char buf[64];
        while (read(w->p->wake_fd, buf, sizeof buf) > 0) {
        }
    }
    if (w->ctl_client)
        sm_client_service(w->ctl_client);
    now = sm_mono_ms();
    if (now >= w->next_sessions_pass) {
        sm_client_service(w->client);
        /* Not sm_client_timeout_ms: the library's deadlines (liveness checks, request timeouts,
         * back-off) are spread over all sessions, so the next one is always near, and finding it
         * walks every session. All of them tolerate a period's delay. */
        int period = w->counts[SLOT_CONNECTING] > 0 || w->stopping ? BUSY_PASS_MS : w->tick_ms;
        w->next_sessions_pass = sm_mono_ms() + period;
    }
}

static int setup(worker *w, const sm_load_worker_params *p)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    w->opt = p->opt;
    sm_rng_seed(&w->rng, p->opt->seed * 1000003u + p->index);
    w->slot_count = p->specs ? p->spec_count : p->target;
    size_t n = w->slot_count ? w->slot_count : 1;
    w->slots = calloc(n, sizeof *w->slots);
    w->open_set = calloc(n, sizeof *w->open_set);
    w->queue = calloc(n, sizeof *w->queue);
    w->fds_cap = 16; /* the wake pipe and the control session */
    w->fds = calloc((size_t)w->fds_cap, sizeof *w->fds);
    if (!w->slots || !w->open_set || !w->queue || !w->fds) {
        fprintf(stderr, "sessmon-load: out of memory for %zu sessions\n", w->slot_count);
        return -1;
    }
    w->counts[SLOT_EMPTY] = w->slot_count;
    w->tick_ms = (int)(w->slot_count * TICK_MS_PER_1000_SESSIONS / 1000);
    if (w->tick_ms < TICK_MIN_MS)
        w->tick_ms = TICK_MIN_MS;
    if (w->tick_ms > TICK_MAX_MS)
        w->tick_ms = TICK_MAX_MS;
    for (size_t i = 0; i < w->slot_count; i++) {
        slot *sl = &w->slots[i];
        sl->w = w;
        sl->global = (uint32_t)(i * p->count + p->index);
        sl->principal = NO_PRINCIPAL;
        if (p->specs)
            sl->spec = p->specs[i];
        enqueue(w, sl, 0);
    }
    sm_client_params cp;
    memset(&cp, 0, sizeof cp);
    /* 0 sizes lws's tables from the (raised) open-file limit. A smaller explicit value makes lws
     * 4.1 look sockets up by a linear scan of its table on every event (max_fds_unrelated_to_ulimit),
     * which made 15k sessions crawl. */
    cp.max_sessions = 0;
    cp.rx_buffer_size = 1024;
    cp.no_tls = strncmp(p->opt->url, "wss://", 6) != 0;
    sm_client_error err = {0};
    w->client = sm_client_new(&cp, &err);
    if (w->client && p->opt->admin && !p->specs) {
        cp.max_sessions = 1;
        /* Thousands of replies a second: read them in large gulps, not 1 KiB per pass. */
        cp.rx_buffer_size = 65536;
        w->ctl_client = sm_client_new(&cp, &err);
    }
    if (!w->client || (p->opt->admin && !p->specs && !w->ctl_client)) {
        char msg[SM_CLIENT_ERROR_MESSAGE_MAX * 4 + 8];
        sm_load_escape(err.message, msg, sizeof msg);
        fprintf(stderr, "sessmon-load: cannot create the client: %s\n", msg);
        return -1;
    }
    return 0;
}

static void teardown(worker *w)
{
    sm_client_free(w->ctl_client);
    sm_client_free(w->client);
    free(w->slots);
    free(w->open_set);
    free(w->queue);
    free(w->fds);
}

int sm_load_worker_run(const sm_load_worker_params *p)
{
    worker w;
    if (setup(&w, p) != 0) {
        teardown(&w);
        return 1;
    }
    if (p->opt->admin && !p->specs)
        open_control(&w);
    int64_t now = sm_mono_ms();
    w.start = w.last_tick = w.last_printed_at = now;
    w.next_report = now + REPORT_MS;
    w.next_progress = now + PROGRESS_MS;
    int64_t end = p->opt->duration > 0 ? now + (int64_t)(p->opt->duration * 1000.0) : 0;
    for (;;) {
        now = sm_mono_ms();
        if (*p->stop >= 2)
            break; /* a second signal: give up on closing gracefully */
        if (!w.stopping && (*p->stop || (end && now >= end)))
            begin_stop(&w, now);
        if (w.stopping && ((live_sessions(&w) == 0 && w.stop_cursor >= w.slot_count) || now >= w.stop_deadline))
            break;
        if (!w.stopping)
            run_rates(&w, now);
        else
            continue_stop(&w);
        if (now >= w.next_report) {
            report(&w, now, false);
            w.next_report = now + (p->report_fd >= 0 ? REPORT_MS : 100);
        }
        int timeout = (int)(w.next_report - now);
        bool busy = w.q_len > 0 || w.opt->close_rate > 0 || w.opt->update_rate > 0 || w.opt->drop_rate > 0;
        if ((w.stopping || busy) && timeout > RATES_MS)
            timeout = RATES_MS;
        if (timeout < 0)
            timeout = 0;
        wait_and_service(&w, now, timeout);
    }
    size_t unclosed = w.counts[SLOT_CLOSING] + w.counts[SLOT_CONNECTING] + w.counts[SLOT_OPEN] +
                      w.counts[SLOT_RECONNECTING];
    if (unclosed && !p->opt->quiet)
        fprintf(stderr, "sessmon-load: %zu sessions not closed within the stop timeout; cutting them\n", unclosed);
    sm_client_free(w.ctl_client);
    w.ctl_client = NULL;
    sm_client_free(w.client);
    w.client = NULL;
    for (size_t i = 0; i < w.slot_count; i++)
        if (w.slots[i].s)
            w.slots[i].s = NULL;
    report(&w, sm_mono_ms(), true);
    teardown(&w);
    return 0;
}
