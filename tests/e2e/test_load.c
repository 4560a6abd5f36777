/* sessmon-load against a real sessmond (demo config): sessions, sources, properties, --from, churn, stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "client/sessmon.h"
#include "core/clock.h"
#include "test_server.h"

#ifndef SESSMON_LOAD_PATH
#error "SESSMON_LOAD_PATH must be defined by the build"
#endif

#define MAX_SEEN 2048

/* ---- The observer: an admin session with a listener that records every session it sees. ---- */

static const char *const watched_keys[] = {"$ClientIP", "$Country", "$Latitude", "$Principal", "$ClientType",
                                           "$Environment", "Department", "Tier", "AppVersion", "Region",
                                           "Status", "UserId"};
#define WATCHED (sizeof watched_keys / sizeof watched_keys[0])

typedef struct seen {
    char id[64];
    bool alive;
    char values[WATCHED][96]; /* "" = absent */
} seen;

typedef struct observer {
    sm_client *client;
    sm_session *session;
    sm_listener *listener;
    char own_id[64];
    bool snapshot_done;
    bool closed;
    seen *seen;
    size_t seen_count;
    unsigned live_opens, property_events, disconnected, reconnected, closed_by_client, closed_other;
} observer;

static seen *find_seen(observer *o, const char *id, bool create)
{
    for (size_t i = 0; i < o->seen_count; i++)
        if (strcmp(o->seen[i].id, id) == 0)
            return &o->seen[i];
    if (!create || o->seen_count >= MAX_SEEN)
        return NULL;
    seen *s = &o->seen[o->seen_count++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    return s;
}

static void apply_props(seen *s, const sm_property *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < WATCHED; k++)
            if (strcmp(p[i].key, watched_keys[k]) == 0)
                snprintf(s->values[k], sizeof s->values[k], "%s", p[i].value ? p[i].value : "");
}

static void ev_open(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    observer *o = context;
    if (strcmp(ev->session_id, o->own_id) == 0)
        return;
    seen *s = find_seen(o, ev->session_id, true);
    if (!s)
        return;
    memset(s->values, 0, sizeof s->values);
    s->alive = true;
    apply_props(s, ev->properties, ev->property_count);
    if (!ev->snapshot)
        o->live_opens++;
}

static void ev_update(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    observer *o = context;
    seen *s = find_seen(o, ev->session_id, false);
    if (ev->update == SM_UPDATE_PROPERTIES) {
        o->property_events++;
        if (s)
            apply_props(s, ev->properties, ev->property_count);
    } else if (ev->update == SM_UPDATE_DISCONNECTED) {
        o->disconnected++;
    } else if (ev->update == SM_UPDATE_RECONNECTED) {
        o->reconnected++;
    }
}

static void ev_close(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    observer *o = context;
    seen *s = find_seen(o, ev->session_id, false);
    if (s)
        s->alive = false;
    if (strcmp(ev->session_id, o->own_id) == 0)
        return;
    if (ev->reason == SM_REASON_CLOSED_BY_CLIENT) {
        o->closed_by_client++;
    } else {
        o->closed_other++;
        fprintf(stderr, "observer: %s closed with %s\n", ev->session_id, sm_reason_name(ev->reason));
    }
}

static void ev_snapshot_end(sm_listener *l, uint64_t count, void *context)
{
    (void)l;
    (void)count;
    ((observer *)context)->snapshot_done = true;
}

static void obs_open(sm_session *s, const sm_session_info *info, void *context)
{
    (void)s;
    snprintf(((observer *)context)->own_id, 64, "%s", info->session_id);
}

static void obs_close(sm_session *s, sm_reason reason, const sm_client_error *error, void *context)
{
    (void)s;
    (void)reason;
    (void)error;
    ((observer *)context)->closed = true;
}

static void observer_start(observer *o, const char *url)
{
    memset(o, 0, sizeof *o);
    o->seen = calloc(MAX_SEEN, sizeof *o->seen);
    assert_non_null(o->seen);
    o->client = sm_client_new(NULL, NULL);
    assert_non_null(o->client);
    sm_session_params sp = {0};
    sp.url = url;
    sp.principal = "admin";
    sp.password = "admin";
    sp.on_open = obs_open;
    sp.on_close = obs_close;
    sp.context = o;
    o->session = sm_session_open(o->client, &sp, NULL);
    assert_non_null(o->session);
    sm_listener_params lp = {0};
    lp.keys = watched_keys;
    lp.key_count = WATCHED;
    lp.filter = "$Principal ne 'viewer'"; /* the sessmon list check below runs as viewer */
    lp.on_session_open = ev_open;
    lp.on_session_update = ev_update;
    lp.on_session_close = ev_close;
    lp.on_snapshot_end = ev_snapshot_end;
    lp.context = o;
    o->listener = sm_listener_register(o->session, &lp, NULL);
    assert_non_null(o->listener);
    int64_t end = sm_mono_ms() + 10000;
    while (!o->snapshot_done && sm_mono_ms() < end)
        sm_client_run_once(o->client, 20);
    assert_true(o->snapshot_done);
}

/* Closes the observer's session gracefully: cut, it would linger DISCONNECTED in the next test. */
static void observer_stop(observer *o)
{
    if (sm_session_close(o->session, NULL) == SM_CLIENT_OK) {
        int64_t end = sm_mono_ms() + 5000;
        while (!o->closed && sm_mono_ms() < end)
            sm_client_run_once(o->client, 20);
    }
    sm_client_free(o->client);
    free(o->seen);
    memset(o, 0, sizeof *o);
}

static size_t alive(const observer *o)
{
    size_t n = 0;
    for (size_t i = 0; i < o->seen_count; i++)
        n += o->seen[i].alive;
    return n;
}

static const char *value(const seen *s, const char *key)
{
    for (size_t k = 0; k < WATCHED; k++)
        if (strcmp(watched_keys[k], key) == 0)
            return s->values[k];
    return "";
}

/* ---- sessmon-load as a child process, its JSON progress read from a pipe. ---- */

typedef struct load_proc {
    pid_t pid;
    int out_fd;
    char errpath[300];
    char buf[1 << 16];
    size_t len;
    cJSON *last; /* the newest progress object */
} load_proc;

static void load_start(load_proc *lp, const char *const *args)
{
    memset(lp, 0, sizeof *lp);
    const char *tmp = getenv("TMPDIR");
    snprintf(lp->errpath, sizeof lp->errpath, "%s/sessmon-load-err-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int errfd = mkstemp(lp->errpath);
    assert_true(errfd >= 0);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    const char *argv[64];
    int n = 0;
    argv[n++] = SESSMON_LOAD_PATH;
    for (size_t i = 0; args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pfd[1], 1);
        dup2(errfd, 2);
        close(pfd[0]);
        close(pfd[1]);
        close(errfd);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        execv(SESSMON_LOAD_PATH, (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    close(errfd);
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    lp->pid = pid;
    lp->out_fd = pfd[0];
}

/* Reads whatever progress arrived; keeps the last complete JSON line. */
static void load_read(load_proc *lp)
{
    for (;;) {
        if (lp->len >= sizeof lp->buf - 1)
            lp->len = 0;
        ssize_t r = read(lp->out_fd, lp->buf + lp->len, sizeof lp->buf - 1 - lp->len);
        if (r <= 0)
            return;
        lp->len += (size_t)r;
        char *nl;
        while ((nl = memchr(lp->buf, '\n', lp->len))) {
            *nl = '\0';
            cJSON *obj = cJSON_Parse(lp->buf);
            if (obj) {
                cJSON_Delete(lp->last);
                lp->last = obj;
            }
            size_t used = (size_t)(nl - lp->buf) + 1;
            memmove(lp->buf, nl + 1, lp->len - used);
            lp->len -= used;
        }
    }
}

static double field(const load_proc *lp, const char *name)
{
    const cJSON *v = lp->last ? cJSON_GetObjectItemCaseSensitive(lp->last, name) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* One step of waiting: services the observer (or sleeps) and reads progress. */
static void pump(load_proc *lp, observer *o)
{
    if (o)
        sm_client_run_once(o->client, 20);
    else
        usleep(20000);
    load_read(lp);
}

/* Pumps until cond holds or ms pass. */
#define WAIT_UNTIL(lp, o, cond, ms)                    \
    do {                                               \
        int64_t end_ = sm_mono_ms() + (ms);            \
        while (!(cond) && sm_mono_ms() < end_)         \
            pump((lp), (o));                           \
    } while (0)

static void dump_stderr(const load_proc *lp)
{
    FILE *f = fopen(lp->errpath, "r");
    if (!f)
        return;
    char line[512];
    fprintf(stderr, "---- sessmon-load stderr ----\n");
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

static bool stderr_has(const load_proc *lp, const char *needle)
{
    FILE *f = fopen(lp->errpath, "r");
    if (!f)
        return false;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* Waits for the process to exit (servicing o meanwhile); returns its status, -1 on timeout. */
static int load_wait(load_proc *lp, observer *o, int ms)
{
    int64_t end = sm_mono_ms() + ms;
    while (sm_mono_ms() < end) {
        int st;
        pid_t r = waitpid(lp->pid, &st, WNOHANG);
        if (r == lp->pid) {
            lp->pid = 0;
            load_read(lp);
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        pump(lp, o);
    }
    return -1;
}

static void load_cleanup(load_proc *lp)
{
    if (lp->pid > 0) {
        kill(lp->pid, SIGKILL);
        waitpid(lp->pid, NULL, 0);
        dump_stderr(lp);
    }
    if (lp->out_fd > 0)
        close(lp->out_fd);
    cJSON_Delete(lp->last);
    unlink(lp->errpath);
    memset(lp, 0, sizeof *lp);
}

/* ---- Fixture: sessmond with the demo config (geo table, demo principals). ---- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int server_setup(void **state)
{
    static sm_test_server server;
    char *config = read_file(SESSMON_SOURCE_DIR "/demo/sessmond.json");
    if (!config)
        return -1;
    int rc = sm_test_server_start(&server, config);
    free(config);
    *state = &server;
    setenv("SM_LOAD_CLIENT_PW", "client", 1);
    setenv("SM_LOAD_ADMIN_PW", "admin", 1);
    return rc;
}

static int server_teardown(void **state)
{
    return sm_test_server_stop(*state) == 0 ? 0 : -1;
}

/* ---- Tests ---- */

static const struct {
    const char *ip, *country, *region;
} demo_geo[] = {
    {"127.0.0.2", "FR", "EU"}, {"127.0.0.3", "US", "US"},   {"127.0.0.4", "GB", "EU"},    {"127.0.0.5", "DE", "EU"},
    {"127.0.0.6", "JP", "APAC"}, {"127.0.0.7", "BR", "LATAM"}, {"127.0.0.8", "IN", "APAC"}, {"127.0.0.9", "AU", "APAC"},
};

static bool one_of(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return true;
    return false;
}

static void opens_realistic_sessions_and_stops_cleanly(void **state)
{
    sm_test_server *srv = *state;
    observer o;
    observer_start(&o, srv->url);
    load_proc lp;
    const char *args[] = {"--url", srv->url, "--sessions", "200", "--principal", "client", "--password-env",
                          "SM_LOAD_CLIENT_PW", "--seed", "5", "--json-progress", NULL};
    load_start(&lp, args);
    WAIT_UNTIL(&lp, &o, field(&lp, "open") == 200 && alive(&o) == 200, 20000);
    if (alive(&o) != 200)
        dump_stderr(&lp);
    assert_int_equal((int)field(&lp, "open"), 200);
    assert_int_equal(alive(&o), 200);

    static const char *const departments[] = {"Accounts", "Payroll", "Sales", "Engineering", "Support", "Trading"};
    static const char *const tiers[] = {"gold", "silver", "bronze"};
    static const char *const types[] = {"C", "JAVA", "JAVASCRIPT_BROWSER", "PYTHON", "ANDROID", "IOS"};
    unsigned per_source[8] = {0}, anonymous = 0, client = 0, type_seen[6] = {0};
    for (size_t i = 0; i < o.seen_count; i++) {
        const seen *s = &o.seen[i];
        if (!s->alive)
            continue;
        size_t g = 0;
        while (g < 8 && strcmp(demo_geo[g].ip, value(s, "$ClientIP")) != 0)
            g++;
        if (g == 8)
            fail_msg("session %s came from %s, not a default source", s->id, value(s, "$ClientIP"));
        per_source[g]++;
        assert_string_equal(value(s, "$Country"), demo_geo[g].country);
        assert_string_equal(value(s, "Region"), demo_geo[g].region);
        assert_string_not_equal(value(s, "$Latitude"), "NaN");
        assert_true(one_of(value(s, "Department"), departments, 6));
        assert_true(one_of(value(s, "Tier"), tiers, 3));
        assert_true(value(s, "AppVersion")[0] && value(s, "Status")[0] && value(s, "UserId")[0]);
        assert_true(value(s, "$Environment")[0]);
        for (size_t t = 0; t < 6; t++)
            type_seen[t] += strcmp(value(s, "$ClientType"), types[t]) == 0;
        if (strcmp(value(s, "$Principal"), "client") == 0)
            client++;
        else if (value(s, "$Principal")[0] == '\0')
            anonymous++;
        else
            fail_msg("unexpected principal %s", value(s, "$Principal"));
    }
    for (size_t g = 0; g < 8; g++)
        assert_int_equal(per_source[g], 25); /* round-robin over 127.0.0.2..9 */
    assert_true(client > 50 && anonymous > 50);
    unsigned kinds = 0;
    for (size_t t = 0; t < 6; t++)
        kinds += type_seen[t] > 0;
    assert_true(kinds >= 5);

    /* The sessmon command line sees them too. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "SESSMON_PASSWORD=viewer %s list --url %s --principal viewer --json --filter \"Region is 'LATAM'\"",
             SESSMON_PATH, srv->url);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096];
    unsigned latam = 0;
    while (fgets(line, sizeof line, p))
        latam += strstr(line, "\"session\"") != NULL;
    assert_int_equal(pclose(p), 0);
    assert_int_equal(latam, 25);

    /* SIGTERM: every session is closed by its client, nothing is left dangling. */
    unsigned before = o.closed_by_client;
    kill(lp.pid, SIGTERM);
    int status = load_wait(&lp, &o, 15000);
    assert_int_equal(status, 0);
    WAIT_UNTIL(&lp, &o, alive(&o) == 0, 5000);
    assert_int_equal(alive(&o), 0);
    assert_int_equal(o.closed_by_client - before, 200);
    assert_int_equal(o.disconnected, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(lp.last, "state")->valuestring, "stopped");
    load_cleanup(&lp);
    observer_stop(&o);
}

static void from_file_opens_exactly_the_described_sessions(void **state)
{
    sm_test_server *srv = *state;
    char path[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sessmon-load-from-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text =
        "{\"properties\":{\"UserId\":\"from-1\",\"Tier\":\"gold\"},\"source\":\"127.0.0.5\"}\n"
        "\n"
        "{\"principal\":\"client\",\"password\":\"client\",\"properties\":{\"UserId\":\"from-2\"},"
        "\"clientType\":\"ANDROID\",\"environment\":\"Android 14 / test\"}\n"
        "{\"principal\":\"operator\",\"password\":\"operator\",\"properties\":{\"UserId\":\"from-3\","
        "\"Department\":\"Trading\"}}\n"
        "{\"source\":\"127.0.0.7\"}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    observer o;
    observer_start(&o, srv->url);
    load_proc lp;
    /* The rates and --sessions are ignored with --from. */
    const char *args[] = {"--url", srv->url, "--from", path, "--sessions", "500", "--close-rate", "50",
                          "--json-progress", NULL};
    load_start(&lp, args);
    WAIT_UNTIL(&lp, &o, field(&lp, "open") == 4 && alive(&o) == 4, 15000);
    if (alive(&o) != 4)
        dump_stderr(&lp);
    assert_int_equal(alive(&o), 4);
    assert_int_equal((int)field(&lp, "target"), 4);
    bool found[4] = {false};
    for (size_t i = 0; i < o.seen_count; i++) {
        const seen *s = &o.seen[i];
        const char *uid = value(s, "UserId");
        if (strcmp(uid, "from-1") == 0) {
            found[0] = true;
            assert_string_equal(value(s, "Tier"), "gold");
            assert_string_equal(value(s, "$ClientIP"), "127.0.0.5");
            assert_string_equal(value(s, "$Country"), "DE");
            assert_string_equal(value(s, "$Principal"), "");
            assert_string_equal(value(s, "Department"), "");
        } else if (strcmp(uid, "from-2") == 0) {
            found[1] = true;
            assert_string_equal(value(s, "$Principal"), "client");
            assert_string_equal(value(s, "$ClientType"), "ANDROID");
            assert_string_equal(value(s, "$Environment"), "Android 14 / test");
        } else if (strcmp(uid, "from-3") == 0) {
            found[2] = true;
            assert_string_equal(value(s, "$Principal"), "operator");
            assert_string_equal(value(s, "Department"), "Trading");
        } else {
            found[3] = true;
            assert_string_equal(uid, "");
            assert_string_equal(value(s, "$ClientIP"), "127.0.0.7");
            assert_string_equal(value(s, "Tier"), "");
        }
    }
    assert_true(found[0] && found[1] && found[2] && found[3]);
    /* Held: nothing closes or joins for a while. */
    WAIT_UNTIL(&lp, &o, false, 1500);
    assert_int_equal(alive(&o), 4);
    assert_int_equal(o.live_opens, 4);

    kill(lp.pid, SIGINT);
    assert_int_equal(load_wait(&lp, &o, 15000), 0);
    WAIT_UNTIL(&lp, &o, alive(&o) == 0, 5000);
    assert_int_equal(alive(&o), 0);
    assert_int_equal(o.closed_by_client, 4);
    load_cleanup(&lp);
    observer_stop(&o);
    unlink(path);
}

static void churn_updates_drops_and_replaces(void **state)
{
    sm_test_server *srv = *state;
    observer o;
    observer_start(&o, srv->url);
    load_proc lp;
    const char *args[] = {"--url", srv->url, "--sessions", "60", "--admin", "admin", "--admin-password-env",
                          "SM_LOAD_ADMIN_PW", "--update-rate", "50", "--drop-rate", "10", "--close-rate", "10",
                          "--duration", "4", "--json-progress", NULL};
    load_start(&lp, args);
    int status = load_wait(&lp, &o, 30000);
    if (status != 0)
        dump_stderr(&lp);
    assert_int_equal(status, 0);
    WAIT_UNTIL(&lp, &o, alive(&o) == 0, 5000);
    /* The control session is the admin one: 61 opened at first, then the replacements. */
    assert_true(o.live_opens >= 61 + 20);
    assert_true(o.property_events >= 80);
    assert_true(o.disconnected >= 15);
    assert_true(o.reconnected >= 15);
    assert_true(o.closed_by_client >= 61 + 20);
    assert_int_equal(o.closed_other, 0);
    assert_int_equal(alive(&o), 0);
    assert_true(field(&lp, "updates") >= 80);
    assert_true(field(&lp, "drops") >= 15);
    assert_true(field(&lp, "reconnects") >= 15);
    assert_int_equal((int)field(&lp, "failed"), 0);
    load_cleanup(&lp);
    observer_stop(&o);
}

static void several_worker_processes(void **state)
{
    sm_test_server *srv = *state;
    observer o;
    observer_start(&o, srv->url);
    load_proc lp;
    const char *args[] = {"--url", srv->url, "--sessions", "120", "--per-process", "50", "--sources", "127.0.0.20-22",
                          "--json-progress", NULL};
    load_start(&lp, args);
    WAIT_UNTIL(&lp, &o, field(&lp, "open") == 120 && alive(&o) == 120, 20000);
    assert_int_equal((int)field(&lp, "workers"), 3);
    assert_int_equal(alive(&o), 120);
    unsigned from_21 = 0;
    for (size_t i = 0; i < o.seen_count; i++)
        from_21 += o.seen[i].alive && strcmp(value(&o.seen[i], "$ClientIP"), "127.0.0.21") == 0;
    assert_int_equal(from_21, 40);
    kill(lp.pid, SIGTERM);
    assert_int_equal(load_wait(&lp, &o, 20000), 0);
    WAIT_UNTIL(&lp, &o, alive(&o) == 0, 5000);
    assert_int_equal(alive(&o), 0);
    assert_int_equal(o.disconnected, 0);
    load_cleanup(&lp);
    observer_stop(&o);
}

static void rejects_bad_input(void **state)
{
    (void)state;
    char path[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sessmon-load-bad-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"principal\":\"\"}\n{\"properties\":{\"Tier\":7}}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    load_proc lp;
    const char *bad_from[] = {"--from", path, NULL};
    load_start(&lp, bad_from);
    assert_int_equal(load_wait(&lp, NULL, 10000), 2);
    assert_true(stderr_has(&lp, "line 2:"));
    load_cleanup(&lp);
    unlink(path);

    const char *bad_url[] = {"--url", "ws://10.1.2.3:9595", NULL};
    load_start(&lp, bad_url);
    assert_int_equal(load_wait(&lp, NULL, 10000), 2);
    assert_true(stderr_has(&lp, "127.0.0.0/8"));
    load_cleanup(&lp);

    const char *bad_source[] = {"--sources", "192.168.1.1-192.168.1.9", NULL};
    load_start(&lp, bad_source);
    assert_int_equal(load_wait(&lp, NULL, 10000), 2);
    assert_true(stderr_has(&lp, "only loopback"));
    load_cleanup(&lp);

    const char *missing[] = {"--from", "/nonexistent/sessions.ndjson", NULL};
    load_start(&lp, missing);
    assert_int_equal(load_wait(&lp, NULL, 10000), 2);
    assert_true(stderr_has(&lp, "cannot open"));
    load_cleanup(&lp);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rejects_bad_input),
        cmocka_unit_test(opens_realistic_sessions_and_stops_cleanly),
        cmocka_unit_test(from_file_opens_exactly_the_described_sessions),
        cmocka_unit_test(churn_updates_drops_and_replaces),
        cmocka_unit_test(several_worker_processes),
    };
    return cmocka_run_group_tests(tests, server_setup, server_teardown);
}
