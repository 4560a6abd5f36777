/* Example libsessmon program: counts a server's sessions per $Country, live, inside its own poll() loop. */
#define _POSIX_C_SOURCE 200809L /* sigaction, clock_gettime: also builds with a plain `cc -std=c11` */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sessmon.h> /* the installed header is all a libsessmon program needs */

typedef struct watched {
    char *id, *country; /* country "" = the server's geo table does not know the address */
} watched;

typedef struct app {
    watched *sessions; /* linear search keeps the example short; use a hash table for 100k+ */
    size_t count, cap;
    char own_id[128];   /* our own session is left out of the counts */
    bool snapshot_done; /* change lines start once the snapshot has been counted */
    bool stop, session_closed;
    int exit_code;
} app;

static int signal_pipe[2] = {-1, -1};

/* Server strings are untrusted: control characters become \xNN so they cannot drive the terminal,
 * long values are cut (at a character boundary) and "" shows as (none). Returned by value, so
 * several fit in one printf (a temporary lives until the end of the full expression). */
typedef struct shown {
    char s[160];
} shown;
static shown show(const char *text)
{
    shown out;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(*text ? text : "(none)"); *p; p++) {
        if ((*p & 0xC0) != 0x80 && n > sizeof out.s - 12) { /* room for this character and "..." */
            n += (size_t)snprintf(out.s + n, sizeof out.s - n, "...");
            break;
        }
        if (*p < 0x20 || *p == 0x7F || *p == '\\')
            n += (size_t)snprintf(out.s + n, sizeof out.s - n, *p == '\\' ? "\\\\" : "\\x%02X", *p);
        else
            out.s[n++] = (char)*p;
    }
    out.s[n] = '\0';
    return out;
}

/* Out of memory in an example: say so and stop (a real program might drop the session instead). */
static void *need(void *p)
{
    if (!p) {
        fputs("watch_countries: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static const sm_property *find_prop(const sm_property *p, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(p[i].key, key) == 0)
            return &p[i];
    return NULL;
}

static watched *find(app *a, const char *id)
{
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->sessions[i].id, id) == 0)
            return &a->sessions[i];
    return NULL;
}

static size_t count_in(const app *a, const char *country)
{
    size_t n = 0;
    for (size_t i = 0; i < a->count; i++)
        n += strcmp(a->sessions[i].country, country) == 0;
    return n;
}

static int by_country(const void *x, const void *y)
{
    return strcmp(((const watched *)x)->country, ((const watched *)y)->country);
}

static void print_summary(app *a)
{
    if (a->count > 0) /* qsort(NULL, 0, ...) is undefined behaviour */
        qsort(a->sessions, a->count, sizeof *a->sessions, by_country); /* find() needs no order */
    printf("countries:");
    for (size_t i = 0; i < a->count; i++)
        if (i == 0 || strcmp(a->sessions[i].country, a->sessions[i - 1].country) != 0)
            printf(" %s=%zu", show(a->sessions[i].country).s, count_in(a, a->sessions[i].country));
    printf("\n");
}

static void forget_all(app *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->sessions[i].id), free(a->sessions[i].country);
    a->count = 0;
}

/* Reports e and picks the exit code, as the sessmon command line does (docs/client.md). */
static void fail(app *a, const char *what, const sm_client_error *e)
{
    sm_client_errcode c = e->code;
    fprintf(stderr, "watch_countries: %s: %s: %s\n", what, sm_client_errcode_name(c), show(e->message).s);
    a->exit_code = c == SM_CLIENT_ERR_INVALID_ARGUMENT ? 2
                   : c == SM_CLIENT_ERR_CONNECT_FAILED || c == SM_CLIENT_ERR_CONNECTION_LOST ||
                           c == SM_CLIENT_ERR_CLOSED ? 3
                   : c == SM_CLIENT_ERR_AUTHENTICATION_FAILED || c == SM_CLIENT_ERR_ACCESS_DENIED ? 4
                   : c == SM_CLIENT_ERR_INVALID_FILTER ? 5 : 1;
    a->stop = true;
}

/* OPEN (snapshot or live) and FILTER_ENTER: the event carries every requested property. */
static void on_appear(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    app *a = ctx;
    if (strcmp(ev->session_id, a->own_id) == 0 || find(a, ev->session_id))
        return;
    const sm_property *c = find_prop(ev->properties, ev->property_count, "$Country");
    const sm_property *d = find_prop(ev->properties, ev->property_count, "Department");
    if (a->count == a->cap)
        a->sessions = need(realloc(a->sessions, (a->cap = a->cap * 2 + 16) * sizeof *a->sessions));
    watched *w = &a->sessions[a->count++];
    *w = (watched){need(strdup(ev->session_id)), need(strdup(c ? c->value : ""))};
    if (a->snapshot_done)
        printf("add %s %s%s%s: %s=%zu\n", show(w->id).s, show(w->country).s, d ? " Department=" : "",
               d ? show(d->value).s : "", show(w->country).s, count_in(a, w->country));
}

/* CLOSED and FILTER_LEAVE carry no properties: the country is the one remembered. */
static void on_disappear(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    app *a = ctx;
    watched *w = find(a, ev->session_id);
    if (!w)
        return;
    watched gone = *w;
    *w = a->sessions[--a->count];
    printf("remove %s %s: %s=%zu\n", show(gone.id).s, show(gone.country).s, show(gone.country).s,
           count_in(a, gone.country));
    free(gone.id), free(gone.country);
}

/* PROPERTIES: `previous` lists the keys that changed; one missing from `properties` was deleted. */
static void on_update(sm_listener *l, const sm_session_event *ev, void *ctx)
{
    (void)l;
    app *a = ctx;
    watched *w = find(a, ev->session_id); /* DISCONNECTED sessions still count: they may resume */
    if (!w || ev->update != SM_UPDATE_PROPERTIES || !find_prop(ev->previous, ev->previous_count, "$Country"))
        return;
    const sm_property *now = find_prop(ev->properties, ev->property_count, "$Country");
    char *old = w->country;
    w->country = need(strdup(now ? now->value : ""));
    printf("move %s %s -> %s: %s=%zu %s=%zu\n", show(w->id).s, show(old).s, show(w->country).s,
           show(old).s, count_in(a, old), show(w->country).s, count_in(a, w->country));
    free(old);
}

static void on_registered(sm_listener *l, const sm_registration *r, void *ctx)
{
    (void)l;
    app *a = ctx;
    if (r->resync) { /* reconnected: all reported before is void, a new snapshot follows */
        printf("resync: reconnected, counting again\n");
        forget_all(a);
        a->snapshot_done = false;
    }
}

static void on_snapshot_end(sm_listener *l, uint64_t count, void *ctx)
{
    (void)l, (void)count; /* the server's count includes our own session */
    app *a = ctx;
    a->snapshot_done = true;
    printf("snapshot: %zu sessions\n", a->count);
    print_summary(a);
}

static void on_refused(sm_listener *l, const sm_client_error *e, void *ctx)
{
    (void)l, fail(ctx, "listener refused", e);
}

static void on_open(sm_session *s, const sm_session_info *info, void *ctx)
{
    (void)s; /* again after a reconnection: the ID changes when the server could not resume */
    snprintf(((app *)ctx)->own_id, sizeof ((app *)ctx)->own_id, "%s", info->session_id);
}

static void on_disconnect(sm_session *s, const sm_client_error *cause, void *ctx)
{
    (void)s, (void)ctx;
    fprintf(stderr, "watch_countries: connection lost (%s), reconnecting\n", show(cause->message).s);
}

static void on_close(sm_session *s, sm_reason reason, const sm_client_error *e, void *ctx)
{
    (void)s, (void)reason;
    app *a = ctx;
    a->session_closed = a->stop = true;
    if (e->code != SM_CLIENT_OK && a->exit_code == 0)
        fail(a, "session ended", e);
}

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno; /* the self-pipe wakes poll(): a flag set just before poll() would wait */
    ssize_t r = write(signal_pipe[1], "", 1);
    (void)r; /* a full pipe already holds a wake-up */
    errno = saved;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The poll integration: our own fd (the signal pipe) beside the library's sockets, our own
 * deadline beside the library's timers, and sm_client_service() after every wake-up. */
static void run(app *a, sm_client *cl, const bool *until, int64_t deadline)
{
    while (!*until && (deadline < 0 || mono_ms() < deadline)) {
        struct pollfd fds[1 + 4] = {{.fd = signal_pipe[0], .events = POLLIN}};
        int wanted = sm_client_pollfds(cl, fds + 1, 4); /* one session: one socket */
        int timeout = sm_client_timeout_ms(cl);           /* -1 = nothing scheduled */
        int64_t left = deadline - mono_ms();
        if (deadline >= 0 && (timeout < 0 || left < timeout))
            timeout = left > 0 ? (int)left : 0;
        if (poll(fds, 1 + (wanted < 4 ? wanted : 4), timeout) < 0 && errno != EINTR) {
            perror("watch_countries: poll");
            a->exit_code = 1, a->stop = true;
            return;
        }
        char drain[16];
        if ((fds[0].revents & POLLIN) && read(signal_pipe[0], drain, sizeof drain) > 0)
            a->stop = true;
        sm_client_service(cl);
        fflush(stdout); /* line by line, even into a pipe */
    }
}

typedef struct options {
    const char *url, *principal, *filter;
    long seconds; /* 0 = until a signal */
} options;

/* Every option takes a value: --url URL --principal NAME --filter F --seconds N. */
static bool parse_args(int argc, char **argv, options *o)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *name = argv[i], *value = argv[i + 1];
        char *end = NULL;
        if (strcmp(name, "--url") == 0)
            o->url = value;
        else if (strcmp(name, "--principal") == 0)
            o->principal = value;
        else if (strcmp(name, "--filter") == 0)
            o->filter = value;
        else if (strcmp(name, "--seconds") != 0 || (o->seconds = strtol(value, &end, 10)) < 1 ||
                 o->seconds > 31536000 || *end)
            return false;
    }
    return argc % 2 == 1;
}

int main(int argc, char **argv)
{
    options o = {.url = "ws://127.0.0.1:9595", .principal = "viewer"};
    bool help = argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (help || !parse_args(argc, argv, &o)) {
        fputs("usage: watch_countries [--url URL] [--principal NAME] [--filter F] [--seconds 1..31536000]\n"
              "password from $SESSMON_PASSWORD; exit 0 stopped, 1 error, 2 usage, 3 connection,\n"
              "4 authentication or access, 5 invalid filter\n", help ? stdout : stderr);
        return help ? 0 : 2;
    }
    const char *password = getenv("SESSMON_PASSWORD"); /* not an option: ps would show it */
    if (*o.principal && !password) {
        fprintf(stderr, "watch_countries: set SESSMON_PASSWORD for principal %s\n", show(o.principal).s);
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    if (pipe(signal_pipe) != 0 || fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0) {
        perror("watch_countries: signal pipe");
        return 1;
    }

    app a = {0};
    sm_client_error err;
    sm_client *cl = sm_client_new(&(sm_client_params){.max_sessions = 1}, &err);
    sm_session_params sp = {.url = o.url, .principal = o.principal, .password = password,
                            .reconnect_give_up_ms = 30000, /* then on_close with CONNECTION_LOST */
                            .on_open = on_open, .on_disconnect = on_disconnect, .on_close = on_close,
                            .context = &a};
    static const char *const keys[] = {"$Country", "Department"};
    sm_listener_params lp = {.keys = keys, .key_count = 2, .filter = o.filter, /* NULL = every session */
                             .on_registered = on_registered, .on_registration_error = on_refused,
                             .on_session_open = on_appear, .on_filter_enter = on_appear,
                             .on_session_close = on_disappear, .on_filter_leave = on_disappear,
                             .on_session_update = on_update, .on_snapshot_end = on_snapshot_end,
                             .context = &a};
    /* Both calls only queue work: connecting, the open and add_listener all happen inside run(). */
    sm_session *s = cl ? sm_session_open(cl, &sp, &err) : NULL;
    if (!s || !sm_listener_register(s, &lp, &err)) {
        fail(&a, "cannot start", &err);
        sm_client_free(cl);
        return a.exit_code;
    }
    run(&a, cl, &a.stop, o.seconds > 0 ? mono_ms() + o.seconds * 1000 : -1);
    if (!a.session_closed) { /* close, not just free: the server would keep us DISCONNECTED */
        sm_session_close(s, NULL);
        run(&a, cl, &a.session_closed, mono_ms() + 2000);
    }
    if (a.snapshot_done)
        print_summary(&a);
    sm_client_free(cl); /* frees the session and its listener too */
    forget_all(&a);
    free(a.sessions);
    return a.exit_code;
}
