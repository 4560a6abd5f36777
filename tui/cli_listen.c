/* The sessmon subcommands on a listener: list (the snapshot as a table) and watch (every event). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "tui/app.h"
#include "tui/cli.h"
#include "tui/cli_out.h"

#define CLI_WATCH_GIVE_UP_MS 30000

static const char *const default_list_keys[] = {"$Principal", "$ClientType", "$ClientIP", "$StartTime"};

/* ---- Listener-based commands: list and watch ---- */

typedef struct row {
    char *session_id;
    sm_remote_state state;
    sm_property *props;
    size_t prop_count;
} row;

typedef struct listing {
    cli *c;
    const char *own_id;
    row *rows;
    size_t count, cap;
    bool snapshot_done;
    bool ended;
    bool failed;
    sm_client_error error;
    volatile int done;
} listing;

static const char *remote_state_name(sm_remote_state st)
{
    switch (st) {
    case SM_REMOTE_DISCONNECTED: return "DISCONNECTED";
    case SM_REMOTE_CLOSED: return "CLOSED";
    default: return "ACTIVE";
    }
}

static void free_rows(listing *ls)
{
    for (size_t i = 0; i < ls->count; i++) {
        free(ls->rows[i].session_id);
        for (size_t k = 0; k < ls->rows[i].prop_count; k++) {
            free((char *)ls->rows[i].props[k].key);
            free((char *)ls->rows[i].props[k].value);
        }
        free(ls->rows[i].props);
    }
    free(ls->rows);
}

static void list_on_open(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    listing *ls = context;
    if (ls->own_id && strcmp(ev->session_id, ls->own_id) == 0)
        return;
    if (ls->count == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 64;
        row *bigger = realloc(ls->rows, cap * sizeof *bigger);
        if (!bigger)
            return;
        ls->rows = bigger;
        ls->cap = cap;
    }
    row *r = &ls->rows[ls->count];
    r->session_id = strdup(ev->session_id);
    r->state = ev->state;
    r->prop_count = 0;
    r->props = ev->property_count ? calloc(ev->property_count, sizeof *r->props) : NULL;
    if (!r->session_id || (ev->property_count && !r->props)) {
        free(r->session_id);
        free(r->props);
        return;
    }
    for (size_t i = 0; i < ev->property_count; i++) {
        char *key = strdup(ev->properties[i].key);
        char *value = strdup(ev->properties[i].value ? ev->properties[i].value : "");
        if (!key || !value) {
            free(key);
            free(value);
            break; /* out of memory: the row keeps the properties copied so far */
        }
        r->props[i].key = key;
        r->props[i].value = value;
        r->prop_count++;
    }
    ls->count++;
}

static void list_on_snapshot_end(sm_listener *l, uint64_t count, void *context)
{
    (void)count;
    listing *ls = context;
    ls->snapshot_done = true;
    ls->done = 1;
    sm_listener_close(l);
}

static void list_on_registration_error(sm_listener *l, const sm_client_error *err, void *context)
{
    (void)l;
    listing *ls = context;
    ls->failed = true;
    ls->error = *err;
    ls->done = 1;
}

static void list_on_error(sm_listener *l, const sm_client_error *err, void *context)
{
    list_on_registration_error(l, err, context);
}

static void list_on_close(sm_listener *l, void *context)
{
    (void)l;
    listing *ls = context;
    ls->ended = true;
    ls->done = 1;
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row *)a)->session_id, ((const row *)b)->session_id);
}

static const char *row_value(const row *r, const char *key)
{
    for (size_t i = 0; i < r->prop_count; i++)
        if (strcmp(r->props[i].key, key) == 0)
            return r->props[i].value;
    return NULL;
}

static bool has_selector(const cli *c)
{
    for (size_t i = 0; i < c->key_count; i++)
        if (c->keys[i][0] == '*')
            return true;
    return false;
}

/* Columns of the list table: the named keys as given, or, with a selector, every key seen. */
static const char **list_columns(const cli *c, const listing *ls, size_t *n)
{
    if (!has_selector(c)) {
        const char **cols = calloc(c->key_count ? c->key_count : 1, sizeof *cols);
        if (cols && c->key_count)
            memcpy(cols, c->keys, c->key_count * sizeof *cols);
        *n = c->key_count;
        return cols;
    }
    size_t total = 0;
    for (size_t i = 0; i < ls->count; i++)
        total += ls->rows[i].prop_count;
    const char **cols = calloc(total ? total : 1, sizeof *cols);
    if (!cols)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < ls->count; i++)
        for (size_t j = 0; j < ls->rows[i].prop_count; j++)
            cols[k++] = ls->rows[i].props[j].key;
    smt_cli_sort_any(cols, k, sizeof *cols, smt_cli_key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || strcmp(cols[u - 1], cols[i]) != 0)
            cols[u++] = cols[i];
    *n = u;
    return cols;
}

static void print_listing(const cli *c, listing *ls)
{
    smt_cli_sort_any(ls->rows, ls->count, sizeof *ls->rows, row_cmp);
    if (c->json) {
        for (size_t i = 0; i < ls->count; i++) {
            row *r = &ls->rows[i];
            smt_cli_sort_any(r->props, r->prop_count, sizeof *r->props, smt_cli_props_cmp);
            fputs("{\"session\":", stdout);
            smt_cli_json_string(stdout, r->session_id);
            printf(",\"state\":\"%s\",\"properties\":", remote_state_name(r->state));
            smt_cli_json_props(stdout, r->props, r->prop_count);
            fputs("}\n", stdout);
        }
        return;
    }
    size_t ncols = 0;
    const char **cols = list_columns(c, ls, &ncols);
    smt_cli_table t;
    if (!cols || smt_cli_table_init(&t, ncols + 2) != 0) {
        free(cols);
        return;
    }
    const char **cells = calloc(ncols + 2, sizeof *cells);
    if (cells) {
        cells[0] = "SESSION";
        cells[1] = "STATE";
        for (size_t k = 0; k < ncols; k++)
            cells[k + 2] = cols[k];
        smt_cli_table_add(&t, cells);
        for (size_t i = 0; i < ls->count; i++) {
            cells[0] = ls->rows[i].session_id;
            cells[1] = remote_state_name(ls->rows[i].state);
            for (size_t k = 0; k < ncols; k++)
                cells[k + 2] = row_value(&ls->rows[i], cols[k]);
            smt_cli_table_add(&t, cells);
        }
        smt_cli_table_print(&t, stdout);
    }
    free(cells);
    free(cols);
    smt_cli_table_free(&t);
}

/* sessmon __complete ids|keys: the IDs (starting with the prefix), or every key seen, one a line. */
static void print_completion(const cli *c, listing *ls, const char *prefix)
{
    size_t n = 0;
    const char **words = c->complete == SMT_COMPLETE_IDS ? NULL : list_columns(c, ls, &n);
    if (c->complete == SMT_COMPLETE_IDS) {
        smt_cli_sort_any(ls->rows, ls->count, sizeof *ls->rows, row_cmp);
        size_t plen = prefix ? strlen(prefix) : 0;
        for (size_t i = 0, shown = 0; i < ls->count && shown < SMT_COMPLETE_MAX_WORDS; i++)
            if (strncmp(ls->rows[i].session_id, prefix ? prefix : "", plen) == 0 &&
                smt_cli_plain_word(ls->rows[i].session_id)) {
                printf("%s\n", ls->rows[i].session_id);
                shown++;
            }
        return;
    }
    for (size_t i = 0; words && i < n && i < SMT_COMPLETE_MAX_WORDS; i++)
        if (smt_cli_plain_word(words[i]))
            printf("%s\n", words[i]);
    free(words);
}

int smt_cli_list(cli *c)
{
    if (c->positional_count && !c->complete)
        return smt_cli_usage_error("list takes no argument like '%s'", smt_cli_arg_safe(c->positional[0]));
    if (!c->key_count && !c->complete) {
        c->keys = malloc(sizeof default_list_keys);
        if (!c->keys)
            return SMT_EXIT_FAILURE;
        memcpy(c->keys, default_list_keys, sizeof default_list_keys);
        c->key_count = sizeof default_list_keys / sizeof *default_list_keys;
    }
    int rc = smt_cli_connect_once(c);
    if (rc)
        return rc;
    listing ls;
    memset(&ls, 0, sizeof ls);
    ls.c = c;
    const sm_session_info *info = sm_session_get_info(c->session);
    /* Our own session is left out, except for the keys: it has every fixed one. */
    ls.own_id = info && c->complete != SMT_COMPLETE_KEYS ? info->session_id : NULL;
    sm_listener_params lp = {
        .keys = c->keys, .key_count = c->key_count, .filter = c->filter,
        .on_session_open = list_on_open, .on_snapshot_end = list_on_snapshot_end,
        .on_registration_error = list_on_registration_error, .on_error = list_on_error,
        .on_close = list_on_close, .context = &ls,
    };
    sm_client_error err;
    if (!sm_listener_register(c->session, &lp, &err)) {
        smt_cli_disconnect(c);
        return smt_cli_fail("list", &err);
    }
    sm_client_run_until(c->client, &ls.done, smt_cli_wait_ms(c, c->timeout_ms, 1));
    if (c->complete && !ls.failed) {
        /* What arrived in time is better than nothing for a Tab. */
        print_completion(c, &ls, c->positional_count > 1 ? c->positional[1] : NULL);
        fflush(stdout);
        ls.done = ls.ended;
        sm_client_run_until(c->client, &ls.done, smt_cli_wait_ms(c, 1000, 50));
    } else if (ls.failed) {
        rc = smt_cli_fail("list", &ls.error);
    } else if (!ls.snapshot_done) {
        sm_client_error t = {SM_CLIENT_ERR_TIMEOUT, "the session list did not arrive in time"};
        rc = smt_cli_fail("list", c->closed ? &c->close_error : &t);
    } else {
        print_listing(c, &ls);
        /* Let the listener's removal finish before closing the session. */
        ls.done = ls.ended;
        sm_client_run_until(c->client, &ls.done, smt_cli_wait_ms(c, 1000, 50));
    }
    smt_cli_disconnect(c); /* while ls, the listener's context, still exists */
    free_rows(&ls);
    return rc;
}

/* watch: one line per event until SIGINT/SIGTERM or the session ends for good. */

static volatile sig_atomic_t stop_signal;
static int signal_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    int saved = errno;
    if (signal_pipe[1] >= 0) {
        ssize_t w = write(signal_pipe[1], "x", 1);
        (void)w;
    }
    errno = saved;
}

struct watch {
    cli *c;
    const char *own_id;
    uint64_t snapshot_shown; /* snapshot OPEN lines printed (our own session is left out) */
    bool failed;
    sm_client_error error;
};
typedef struct watch watch;

static void print_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    printf("%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void print_escaped(const char *s)
{
    char *e = smt_cli_escape(s);
    fputs(e ? e : "", stdout);
    free(e);
}

static const char *event_name(const char *kind, const sm_session_event *ev)
{
    if (!strcmp(kind, "update")) {
        switch (ev->update) {
        case SM_UPDATE_DISCONNECTED: return "DISCONNECTED";
        case SM_UPDATE_RECONNECTED: return "RECONNECTED";
        case SM_UPDATE_FAILED_OVER: return "FAILED_OVER";
        default: return "PROPERTIES";
        }
    }
    return kind;
}

static void print_event(watch *w, const char *name, const sm_session_event *ev)
{
    if (w->own_id && strcmp(ev->session_id, w->own_id) == 0)
        return;
    if (ev->snapshot)
        w->snapshot_shown++;
    if (w->c->json) {
        printf("{\"time\":%lld,\"event\":\"%s\",\"session\":", (long long)sm_wall_ms(), name);
        smt_cli_json_string(stdout, ev->session_id);
        printf(",\"state\":\"%s\"", remote_state_name(ev->state));
        if (ev->snapshot)
            fputs(",\"snapshot\":true", stdout);
        if (!strcmp(name, "CLOSED"))
            printf(",\"reason\":\"%s\"", sm_reason_name(ev->reason));
        if (strcmp(name, "FILTER_LEAVE") != 0) {
            fputs(",\"properties\":", stdout);
            smt_cli_json_props(stdout, ev->properties, ev->property_count);
        }
        if (ev->previous_count) {
            fputs(",\"changed\":", stdout);
            smt_cli_json_props(stdout, ev->previous, ev->previous_count);
        }
        fputs("}\n", stdout);
        return;
    }
    print_time();
    printf("%-12s ", ev->snapshot ? "SNAPSHOT" : name);
    print_escaped(ev->session_id);
    printf(" %s", remote_state_name(ev->state));
    if (!strcmp(name, "CLOSED"))
        printf(" reason=%s", sm_reason_name(ev->reason));
    for (size_t i = 0; i < ev->property_count; i++) {
        putchar(' ');
        print_escaped(ev->properties[i].key);
        putchar('=');
        print_escaped(ev->properties[i].value);
    }
    for (size_t i = 0; i < ev->previous_count; i++) {
        fputs(" (", stdout);
        print_escaped(ev->previous[i].key);
        fputs(" was ", stdout);
        if (ev->previous[i].value)
            print_escaped(ev->previous[i].value);
        else
            fputs("unset", stdout);
        putchar(')');
    }
    putchar('\n');
}

static void watch_open(sm_listener *l, const sm_session_event *ev, void *ctx) { (void)l; print_event(ctx, "OPEN", ev); }
static void watch_update(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    print_event(ctx, event_name("update", ev), ev);
}
static void watch_closed(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    print_event(ctx, "CLOSED", ev);
}
static void watch_enter(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    print_event(ctx, "FILTER_ENTER", ev);
}
static void watch_leave(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    print_event(ctx, "FILTER_LEAVE", ev);
}

static void watch_note(watch *w, const char *event, const char *human, const char *message, long long count)
{
    if (w->c->json) {
        printf("{\"time\":%lld,\"event\":\"%s\"", (long long)sm_wall_ms(), event);
        if (count >= 0)
            printf(",\"count\":%lld", count);
        if (message) {
            fputs(",\"message\":", stdout);
            smt_cli_json_string(stdout, message);
        }
        fputs("}\n", stdout);
        return;
    }
    print_time();
    printf("-- %s", human);
    if (count >= 0)
        printf(" %lld", count);
    if (message) {
        char *e = smt_cli_escape_message(message);
        fputs(": ", stdout);
        fputs(e ? e : "", stdout);
        free(e);
    }
    putchar('\n');
}

static void watch_registered(sm_listener *l, const sm_registration *r, void *ctx)
{
    (void)l;
    watch *w = ctx;
    /* After a reconnection our own session may be a new one. */
    const sm_session_info *info = sm_session_get_info(w->c->session);
    w->own_id = info ? info->session_id : NULL;
    w->snapshot_shown = 0;
    if (r->resync)
        watch_note(w, "RESYNC", "reconnected; the snapshot below replaces everything above", NULL, -1);
}

static void watch_snapshot_end(sm_listener *l, uint64_t count, void *ctx)
{
    (void)l;
    (void)count; /* the server's count includes our own session, which is not shown */
    watch *w = ctx;
    watch_note(w, "SNAPSHOT_END", "end of snapshot, sessions:", NULL, (long long)w->snapshot_shown);
}

static void watch_failed(sm_listener *l, const sm_client_error *err, void *ctx)
{
    (void)l;
    watch *w = ctx;
    w->failed = true;
    w->error = *err;
    w->c->done = 1;
}

static void watch_closed_listener(sm_listener *l, void *ctx)
{
    (void)l;
    watch *w = ctx;
    w->c->done = 1;
}

static void watch_disconnect(sm_session *s, const sm_client_error *cause, void *ctx)
{
    (void)s;
    cli *c = ctx;
    if (c->watch)
        watch_note(c->watch, "CONNECTION_LOST", "connection lost, reconnecting", cause->message, -1);
}

int smt_cli_watch(cli *c)
{
    if (c->positional_count)
        return smt_cli_usage_error("watch takes no argument like '%s'", smt_cli_arg_safe(c->positional[0]));
    watch w;
    memset(&w, 0, sizeof w);
    w.c = c;
    c->watch = &w;
    sm_session_params sp = {0};
    sp.reconnect_give_up_ms = CLI_WATCH_GIVE_UP_MS;
    sp.on_disconnect = watch_disconnect;
    int rc = smt_cli_connect(c, &sp);
    if (rc) {
        c->watch = NULL;
        return rc;
    }
    const sm_session_info *info = sm_session_get_info(c->session);
    w.own_id = info ? info->session_id : NULL;
    sm_listener_params lp = {
        .keys = c->keys, .key_count = c->key_count, .filter = c->filter,
        .has_after = c->has_after, .after = c->after,
        .on_registered = watch_registered, .on_registration_error = watch_failed,
        .on_session_open = watch_open, .on_session_update = watch_update,
        .on_session_close = watch_closed, .on_filter_enter = watch_enter, .on_filter_leave = watch_leave,
        .on_snapshot_end = watch_snapshot_end, .on_error = watch_failed,
        .on_close = watch_closed_listener, .context = &w,
    };
    sm_client_error err;
    if (!sm_listener_register(c->session, &lp, &err)) {
        c->watch = NULL;
        return smt_cli_fail("watch", &err);
    }
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        smt_cli_disconnect(c);
        c->watch = NULL;
        return SMT_EXIT_FAILURE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The library's own poll integration: one poll over its fds and our signal pipe. */
    struct pollfd *fds = NULL;
    int cap = 0;
    c->done = 0;
    while (!c->done && !stop_signal) {
        int need = sm_client_pollfds(c->client, NULL, 0) + 1;
        if (need > cap) {
            struct pollfd *bigger = realloc(fds, (size_t)need * sizeof *fds);
            if (!bigger)
                break;
            fds = bigger;
            cap = need;
        }
        fds[0].fd = signal_pipe[0];
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        int n = 1 + sm_client_pollfds(c->client, fds + 1, cap - 1);
        if (poll(fds, (nfds_t)n, sm_client_timeout_ms(c->client)) < 0 && errno != EINTR)
            break;
        sm_client_service(c->client);
        if (fflush(stdout) != 0 && errno == EPIPE)
            break; /* the reader went away (e.g. `| head`) */
    }
    free(fds);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    /* How it ended, before our own close below adds a close of its own. */
    bool session_ended = c->closed;
    sm_client_error session_error = c->close_error;
    smt_cli_disconnect(c); /* while w, the listener's context, still exists */
    c->watch = NULL;
    fflush(stdout);
    if (stop_signal)
        return SMT_EXIT_OK;
    if (w.failed)
        return smt_cli_fail("watch", session_ended ? &session_error : &w.error);
    if (session_ended)
        return smt_cli_fail("watch", &session_error);
    return SMT_EXIT_OK;
}

