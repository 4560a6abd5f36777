/* The sessmon subcommands (the real binary) against a real sessmond: output, NDJSON and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "client/sessmon.h"
#include "helpers.h"
#include "test_server.h"

#ifndef SESSMON_PATH
#error "SESSMON_PATH must be defined by the build"
#endif

#define OUT_MAX 65536

static sm_test_server srv;
static sm_client *cl;
static th_session admin;

/* A running sessmon child. */
typedef struct child {
    pid_t pid;
    int out_fd, err_fd;
    char out[OUT_MAX], err[OUT_MAX];
    size_t out_len, err_len;
    int status;
} child;

/* Starts sessmon with args (NULL-terminated) as `principal` (NULL = anonymous) with password
 * (NULL = SESSMON_PASSWORD unset), in a new session without a controlling terminal. */
static void start_cli(child *c, const char *principal, const char *password, const char *const *args)
{
    memset(c, 0, sizeof *c);
    int out[2], err[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(err, O_CLOEXEC), 0);
    fflush(stdout);
    fflush(stderr);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        setsid();
        int in = open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        setenv("SESSMON_URL", srv.url, 1);
        if (principal)
            setenv("SESSMON_PRINCIPAL", principal, 1);
        else
            unsetenv("SESSMON_PRINCIPAL");
        if (password)
            setenv("SESSMON_PASSWORD", password, 1);
        else
            unsetenv("SESSMON_PASSWORD");
        setenv("LC_ALL", "C.UTF-8", 1);
        const char *argv[64];
        size_t n = 0;
        argv[n++] = "sessmon";
        for (size_t i = 0; args[i] && n < 63; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(SESSMON_PATH, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    c->out_fd = out[0];
    c->err_fd = err[0];
    fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
}

/* Reads what the child wrote, servicing our own client meanwhile, for up to ms. Returns true
 * when the child's stdout is at EOF. */
static bool pump(child *c, int ms)
{
    int64_t end = sm_mono_ms() + ms;
    for (;;) {
        struct pollfd fds[2] = {{c->out_fd, POLLIN, 0}, {c->err_fd, POLLIN, 0}};
        poll(fds, 2, 10);
        bool eof = false;
        int *fd[2] = {&c->out_fd, &c->err_fd};
        char *buf[2] = {c->out, c->err};
        size_t *len[2] = {&c->out_len, &c->err_len};
        for (int i = 0; i < 2; i++) {
            if (*fd[i] < 0) {
                if (i == 0)
                    eof = true;
                continue;
            }
            ssize_t r = read(*fd[i], buf[i] + *len[i], OUT_MAX - 1 - *len[i]);
            if (r > 0) {
                *len[i] += (size_t)r;
                buf[i][*len[i]] = '\0';
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(*fd[i]);
                *fd[i] = -1;
                if (i == 0)
                    eof = true;
            }
        }
        sm_client_run_once(cl, 0);
        if (eof || sm_mono_ms() >= end)
            return eof;
    }
}

/* Waits for the child to exit (killing it after timeout) and returns its exit code. */
static int finish(child *c, int timeout_ms)
{
    int64_t end = sm_mono_ms() + timeout_ms;
    for (;;) {
        pump(c, 20);
        int st;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) {
            while (c->out_fd >= 0 || c->err_fd >= 0)
                if (!pump(c, 50) && sm_mono_ms() > end + 2000)
                    break;
            if (c->out_fd >= 0)
                close(c->out_fd);
            if (c->err_fd >= 0)
                close(c->err_fd);
            c->out_fd = c->err_fd = -1;
            c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return c->status;
        }
        if (sm_mono_ms() >= end) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            fail_msg("sessmon did not exit in time; stdout: %s stderr: %s", c->out, c->err);
        }
    }
}

static int run_cli(child *c, const char *principal, const char *password, const char *const *args)
{
    start_cli(c, principal, password, args);
    int rc = finish(c, 15000);
    if (getenv("SESSMON_TEST_VERBOSE"))
        fprintf(stderr, "sessmon %s -> %d\nstdout:\n%sstderr:\n%s\n", args[0], rc, c->out, c->err);
    return rc;
}

#define CLI(c, who, pw, ...) run_cli((c), (who), (pw), (const char *const[]){__VA_ARGS__, NULL})

/* Parses NDJSON: every line must be a JSON object. Returns an array (caller deletes). */
static cJSON *parse_ndjson(const char *text)
{
    cJSON *arr = cJSON_CreateArray();
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with a newline */
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        if (!o || !cJSON_IsObject(o))
            fail_msg("not a JSON object line: %.*s", (int)(nl - p), p);
        cJSON_AddItemToArray(arr, o);
        p = nl + 1;
    }
    return arr;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *jprop(const cJSON *o, const char *obj, const char *key)
{
    return jstr(cJSON_GetObjectItemCaseSensitive(o, obj), key);
}

static bool has_control_bytes(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f)
            return true;
    return false;
}

static int group_setup(void **state)
{
    (void)state;
    if (sm_test_server_start(&srv, NULL) != 0)
        return -1;
    sm_client_params cp = {.no_tls = true};
    cl = sm_client_new(&cp, NULL);
    if (!cl || !th_open(cl, &admin, srv.url, "admin", "admin", NULL, 0))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sm_client_free(cl);
    return sm_test_server_stop(&srv) == 0 ? 0 : -1;
}

static void close_target(th_session *t)
{
    if (t->s && !t->closed && sm_session_close(t->s, NULL) == SM_CLIENT_OK)
        TH_WAIT(cl, t->closed, TH_TIMEOUT_MS);
    sm_session_free(t->s);
    t->s = NULL;
}

static void test_list(void **state)
{
    (void)state;
    static th_session t1, t2, t3;
    static child c;
    sm_property a[] = {{"Dept", "CliA"}}, b[] = {{"Dept", "CliB"}};
    assert_non_null(th_open(cl, &t1, srv.url, NULL, NULL, a, 1));
    assert_non_null(th_open(cl, &t2, srv.url, NULL, NULL, a, 1));
    assert_non_null(th_open(cl, &t3, srv.url, NULL, NULL, b, 1));

    assert_int_equal(CLI(&c, "admin", "admin", "list", "--json", "--filter", "Dept is 'CliA'", "--keys",
                         "Dept,$Principal"), 0);
    cJSON *lines = parse_ndjson(c.out);
    assert_int_equal(cJSON_GetArraySize(lines), 2);
    bool seen1 = false, seen2 = false;
    cJSON *o;
    cJSON_ArrayForEach(o, lines) {
        const char *id = jstr(o, "session");
        assert_non_null(id);
        seen1 |= strcmp(id, t1.id) == 0;
        seen2 |= strcmp(id, t2.id) == 0;
        assert_string_equal(jstr(o, "state"), "ACTIVE");
        assert_string_equal(jprop(o, "properties", "Dept"), "CliA");
        assert_string_equal(jprop(o, "properties", "$Principal"), "");
    }
    assert_true(seen1 && seen2);
    cJSON_Delete(lines);

    /* The human table: a header, then one aligned row per session. */
    assert_int_equal(CLI(&c, "viewer", "viewer", "list", "--filter", "Dept is 'CliB'", "--keys", "Dept"), 0);
    assert_true(strncmp(c.out, "SESSION", 7) == 0);
    assert_non_null(strstr(c.out, "STATE"));
    assert_non_null(strstr(c.out, "Dept"));
    assert_non_null(strstr(c.out, t3.id));
    assert_non_null(strstr(c.out, "CliB"));
    assert_null(strstr(c.out, t1.id));

    /* Nothing matches: a bare header, or no NDJSON line at all. */
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--filter", "Dept is 'Nobody'"), 0);
    assert_string_equal(c.out, "SESSION  STATE  $Principal  $ClientType  $ClientIP  $StartTime\n");
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--json", "--filter", "Dept is 'Nobody'"), 0);
    assert_string_equal(c.out, "");

    /* A selector shows every key seen as a column. */
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--filter", "Dept is 'CliB'", "--keys", "*U"), 0);
    assert_non_null(strstr(c.out, "Dept"));

    /* The listing session itself is not listed. */
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--json", "--filter", "$Principal is 'admin'"), 0);
    lines = parse_ndjson(c.out);
    assert_int_equal(cJSON_GetArraySize(lines), 1); /* our own library session `admin` */
    assert_string_equal(jstr(cJSON_GetArrayItem(lines, 0), "session"), admin.id);
    cJSON_Delete(lines);
    close_target(&t1);
    close_target(&t2);
    close_target(&t3);
}

static void test_get(void **state)
{
    (void)state;
    static th_session t;
    static child c;
    sm_property p[] = {{"Dept", "Sales"}, {"Tier", "gold"}};
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, p, 2));

    assert_int_equal(CLI(&c, "operator", "operator", "get", t.id, "--json"), 0);
    cJSON *lines = parse_ndjson(c.out);
    assert_int_equal(cJSON_GetArraySize(lines), 1);
    cJSON *o = cJSON_GetArrayItem(lines, 0);
    assert_string_equal(jstr(o, "session"), t.id);
    assert_string_equal(jprop(o, "properties", "$SessionId"), t.id);
    assert_string_equal(jprop(o, "properties", "Dept"), "Sales");
    cJSON_Delete(lines);

    assert_int_equal(CLI(&c, "operator", "operator", "get", t.id, "Tier", "Missing"), 0);
    assert_string_equal(c.out, "KEY   VALUE\nTier  gold\n");

    assert_int_equal(CLI(&c, "operator", "operator", "get", "no-such-session"), 6);
    assert_non_null(strstr(c.err, "NO_SUCH_SESSION"));
    close_target(&t);
}

static void test_set(void **state)
{
    (void)state;
    static th_session t, u;
    static child c;
    static th_reply r;
    sm_property p[] = {{"Dept", "SetTest"}};
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, p, 1));
    assert_non_null(th_open(cl, &u, srv.url, NULL, NULL, p, 1));

    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "Tier=gold", "--json"), 0);
    cJSON *lines = parse_ndjson(c.out);
    cJSON *o = cJSON_GetArrayItem(lines, 0);
    assert_string_equal(jstr(o, "session"), t.id);
    cJSON *changed = cJSON_GetObjectItemCaseSensitive(o, "changed");
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(changed, "Tier")));
    cJSON_Delete(lines);

    /* Table: each changed key with its old and new value. */
    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "Tier=silver", "--delete", "Dept"), 0);
    assert_non_null(strstr(c.out, "KEY"));
    assert_non_null(strstr(c.out, "OLD"));
    char *tier = strstr(c.out, "Tier");
    assert_non_null(tier);
    assert_non_null(strstr(tier, "gold"));
    assert_non_null(strstr(tier, "silver"));
    assert_non_null(strstr(c.out, "(deleted)"));
    const char *keys[] = {"*U"};
    assert_int_equal(th_get(cl, admin.s, t.id, keys, 1, &r), SM_CLIENT_OK);
    assert_string_equal(r.props, "Tier=silver;");

    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "Tier=silver"), 0);
    assert_string_equal(c.out, "no property changed\n");

    /* By filter: the count. */
    assert_int_equal(CLI(&c, "admin", "admin", "set", "--filter", "Dept is 'SetTest'", "Flag=1", "--json"), 0);
    lines = parse_ndjson(c.out);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(lines, 0), "count")->valueint, 1);
    cJSON_Delete(lines);
    assert_int_equal(CLI(&c, "admin", "admin", "set", "--filter", "Tier is 'silver' or Dept is 'SetTest'", "G=2"), 0);
    assert_string_equal(c.out, "2 sessions matched\n");

    /* Errors. */
    assert_int_equal(CLI(&c, "admin", "admin", "set", "--filter", "Dept is", "X=1"), 5);
    assert_non_null(strstr(c.err, "INVALID_FILTER"));
    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "bad key=1"), 7);
    assert_non_null(strstr(c.err, "INVALID_PROPERTY"));
    assert_int_equal(CLI(&c, "viewer", "viewer", "set", t.id, "X=1"), 4);
    assert_non_null(strstr(c.err, "ACCESS_DENIED"));
    assert_int_equal(CLI(&c, "admin", "admin", "set", "no-such-session", "X=1"), 6);
    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "novalue"), 2);
    /* Fixed keys that cannot be set (typos included) are errors, by ID and by filter, and
     * nothing of the request is applied. */
    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "$country=fr", "$Principal=x"), 7);
    assert_non_null(strstr(c.err, "INVALID_PROPERTY"));
    assert_non_null(strstr(c.err, "$country"));
    assert_non_null(strstr(c.err, "$Country, $Language, $Latitude and $Longitude"));
    assert_int_equal(CLI(&c, "admin", "admin", "set", "--filter", "Dept is 'SetTest'", "Z=1", "$Roles=x"), 7);
    assert_non_null(strstr(c.err, "$Roles"));
    assert_null(strstr(c.out, "matched"));
    assert_int_equal(CLI(&c, "admin", "admin", "set", t.id, "--delete", "$Country"), 7);
    assert_non_null(strstr(c.err, "cannot be deleted"));
    assert_int_equal(th_get(cl, admin.s, t.id, keys, 1, &r), SM_CLIENT_OK);
    assert_null(strstr(r.props, "Z="));
    close_target(&t);
    close_target(&u);
}

/* The CLI's own refusals of a filter read exactly like the server's (docs/protocol.md), and a
 * server message is printed as sent: a backslash stays one backslash. */
static void test_filter_errors_read_as_documented(void **state)
{
    (void)state;
    static child c;
    char *big = malloc(4098);
    assert_non_null(big);
    memset(big, ' ', 4097);
    memcpy(big, "all", 3);
    big[4097] = '\0';
    assert_int_equal(CLI(&c, "admin", "admin", "close", "--filter", big), 5);
    assert_non_null(strstr(c.err, "INVALID_FILTER: filter error at column 4097: expected at most 4096 bytes; "
                                  "the filter is 4097 bytes long"));
    free(big);
    /* A byte that is not UTF-8: refused with its column. */
    assert_int_equal(CLI(&c, "admin", "admin", "close", "--filter", "a is 'x\xff'"), 5);
    assert_non_null(strstr(c.err, "filter error at column 8: expected UTF-8 text"));
    /* The server's message with a backslash in it, not doubled. */
    assert_int_equal(CLI(&c, "admin", "admin", "close", "--filter", "a is 'x\\q'"), 5);
    assert_non_null(strstr(c.err, "INVALID_FILTER: filter error at column 8: expected ', \" or \\ after a backslash "
                                  "(no other escapes exist; write \\\\ for a backslash)"));
    assert_null(strstr(c.err, "\\\\\\\\"));
}

static void test_close(void **state)
{
    (void)state;
    static th_session t, u, v;
    static child c;
    sm_property p[] = {{"Dept", "CloseMe"}};
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, NULL, 0));
    assert_non_null(th_open(cl, &u, srv.url, NULL, NULL, p, 1));
    assert_non_null(th_open(cl, &v, srv.url, NULL, NULL, p, 1));

    assert_int_equal(CLI(&c, "operator", "operator", "close", t.id), 0);
    TH_WAIT(cl, t.closed, TH_TIMEOUT_MS);
    assert_true(t.closed);
    assert_int_equal(t.close_reason, SM_REASON_CLOSED_BY_CONTROLLER);
    assert_non_null(strstr(c.out, t.id));

    assert_int_equal(CLI(&c, "operator", "operator", "close", "--filter", "Dept is 'CloseMe'", "--json"), 0);
    assert_string_equal(c.out, "{\"count\":2}\n");
    TH_WAIT(cl, u.closed && v.closed, TH_TIMEOUT_MS);
    assert_true(u.closed && v.closed);

    assert_int_equal(CLI(&c, "operator", "operator", "close", t.id), 6);
    assert_int_equal(CLI(&c, "viewer", "viewer", "close", "--filter", "all"), 4);
    assert_int_equal(CLI(&c, "operator", "operator", "close", "--filter", "((("), 5);
    assert_int_equal(CLI(&c, "operator", "operator", "close"), 2);
    close_target(&t);
    close_target(&u);
    close_target(&v);
}

static void test_errors_and_usage(void **state)
{
    (void)state;
    static child c;
    /* Authentication. */
    assert_int_equal(CLI(&c, "admin", "wrong", "list"), 4);
    assert_non_null(strstr(c.err, "AUTHENTICATION_FAILED"));
    /* No password and no terminal to ask on. */
    assert_int_equal(CLI(&c, "admin", NULL, "list"), 2);
    assert_non_null(strstr(c.err, "SESSMON_PASSWORD"));
    /* Never from argv. */
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--password", "admin"), 2);
    /* Anonymous needs no password but has no permission to list. */
    assert_int_equal(CLI(&c, NULL, NULL, "list"), 4);
    /* Connection refused. */
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--url", "ws://127.0.0.1:1"), 3);
    assert_non_null(strstr(c.err, "CONNECT_FAILED"));
    /* Usage. */
    assert_int_equal(CLI(&c, "admin", "admin", "get"), 2);
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--no-such-option"), 2);
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--url", "http://x"), 2);
    assert_int_equal(CLI(&c, "admin", "admin", "watch", "--after", "yesterday"), 2);
    assert_int_equal(CLI(&c, "admin", "admin", "get", "x", "--keys", "A"), 2);
    assert_int_equal(CLI(&c, "admin", "admin", "list", "--help"), 0);
    assert_non_null(strstr(c.out, "usage: sessmon list"));
    assert_null(strstr(c.out, "sessmon watch")); /* that subcommand's usage only */
    assert_int_equal(CLI(&c, "admin", "admin", "get", "x", "--after", "now"), 2);
    assert_non_null(strstr(c.err, "get does not take --after"));
    /* sessmon help SUBCOMMAND says the same as SUBCOMMAND --help; without one, every usage. */
    assert_int_equal(CLI(&c, NULL, NULL, "help", "set"), 0);
    assert_non_null(strstr(c.out, "usage: sessmon set   ID KEY=VALUE"));
    assert_non_null(strstr(c.out, "sessmon set   --filter F"));
    assert_null(strstr(c.out, "sessmon list"));
    assert_int_equal(CLI(&c, NULL, NULL, "help"), 0);
    assert_non_null(strstr(c.out, "sessmon list"));
    assert_non_null(strstr(c.out, "sessmon close ID"));
    assert_int_equal(CLI(&c, NULL, NULL, "help", "frobnicate"), 2);
    /* The monitor's --help names every option of docs/tui.md twice: in the usage line and in
     * a line saying what it does. */
    assert_int_equal(CLI(&c, NULL, NULL, "--help"), 0);
    static const char *const monitor_options[] = {"--url", "--principal", "--read-only", "--theme", "--filter",
                                                  "--no-mouse", "--no-settings", "--ca-file", "--list-themes"};
    for (size_t i = 0; i < sizeof monitor_options / sizeof monitor_options[0]; i++) {
        const char *first = strstr(c.out, monitor_options[i]);
        if (!first || !strstr(first + 1, monitor_options[i]))
            fail_msg("sessmon --help does not describe %s:\n%s", monitor_options[i], c.out);
    }
}

static void test_escaping(void **state)
{
    (void)state;
    static th_session t;
    static child c;
    sm_property p[] = {{"Evil", "red\x1b[31m\x07" "bell\x7f\xc2\x9b" "csi\xe2\x80\xae" "ltr\\"}};
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, p, 1));
    assert_int_equal(CLI(&c, "admin", "admin", "get", t.id, "Evil"), 0);
    assert_false(has_control_bytes(c.out));
    assert_null(strstr(c.out, "\xc2\x9b"));
    assert_null(strstr(c.out, "\xe2\x80\xae"));
    assert_non_null(strstr(c.out, "red\\x1B[31m\\x07bell\\x7F\\u009Bcsi\\u202Eltr\\\\"));

    assert_int_equal(CLI(&c, "admin", "admin", "get", t.id, "Evil", "--json"), 0);
    assert_false(has_control_bytes(c.out));
    cJSON *lines = parse_ndjson(c.out);
    assert_string_equal(jprop(cJSON_GetArrayItem(lines, 0), "properties", "Evil"), p[0].value);
    cJSON_Delete(lines);
    close_target(&t);
}

/* Zero-width, BOM, soft hyphen, bidi isolates and tag characters print as nothing (or reorder
 * the line) on a terminal: escaped like the monitor replaces them, the same list for both. */
static void test_escaping_hidden_characters(void **state)
{
    (void)state;
    static th_session t;
    static child c;
    sm_property p[] = {{"Hidden", "zw\xe2\x80\x8b"
                                  "sp\xef\xbb\xbf"
                                  "bom\xc2\xad"
                                  "shy\xe2\x81\xa6"
                                  "iso\xf3\xa0\x81\x81"
                                  "tag"}};
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, p, 1));
    assert_int_equal(CLI(&c, "admin", "admin", "get", t.id, "Hidden"), 0);
    assert_null(strstr(c.out, "\xe2\x80\x8b"));
    assert_null(strstr(c.out, "\xef\xbb\xbf"));
    assert_non_null(strstr(c.out, "zw\\u200Bsp\\uFEFFbom\\u00ADshy\\u2066iso\\U000E0041tag"));

    assert_int_equal(CLI(&c, "admin", "admin", "get", t.id, "Hidden", "--json"), 0);
    assert_null(strstr(c.out, "\xe2\x80\x8b"));
    assert_non_null(strstr(c.out, "zw\\u200bsp\\ufeffbom\\u00adshy\\u2066iso\\udb40\\udc41tag"));
    cJSON *lines = parse_ndjson(c.out);
    assert_string_equal(jprop(cJSON_GetArrayItem(lines, 0), "properties", "Hidden"), p[0].value);
    cJSON_Delete(lines);
    close_target(&t);
}

/* A login refused by sessmond's throttle says so, with the time to wait, distinct from a wrong
 * password (own server: the throttle must not slow the other tests' logins). */
static void test_throttled_login_is_explained(void **state)
{
    (void)state;
    static child c;
    sm_test_server own;
    assert_int_equal(sm_test_server_start_with(&own, "{\"logins\":{\"addressFreeFailures\":1,\"backoffMs\":30000}}"),
                     0);
    assert_int_equal(CLI(&c, "viewer", "wrong", "list", "--url", own.url), 4);
    assert_non_null(strstr(c.err, "AUTHENTICATION_FAILED: bad principal or password"));
    assert_int_equal(CLI(&c, "viewer", "viewer", "list", "--url", own.url), 1);
    assert_non_null(strstr(c.err, "LIMIT_EXCEEDED: too many failed logins from this address; retry in 30 s"));
    assert_int_equal(sm_test_server_stop(&own), 0);
}

static void test_watch(void **state)
{
    (void)state;
    static th_session t, u;
    static child c;
    static th_reply r;
    sm_property p[] = {{"Dept", "Watch"}};
    assert_non_null(th_open(cl, &t, srv.url, NULL, NULL, p, 1));

    start_cli(&c, "viewer", "viewer",
              (const char *const[]){"watch", "--json", "--filter", "Dept is 'Watch'", "--keys", "Dept,Tier", NULL});
    int64_t end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (!strstr(c.out, "SNAPSHOT_END") && sm_mono_ms() < end)
        pump(&c, 20);
    assert_non_null(strstr(c.out, "SNAPSHOT_END"));

    sm_property upd[] = {{"Tier", "gold"}};
    assert_int_equal(th_set(cl, admin.s, t.id, upd, 1, &r), SM_CLIENT_OK);
    assert_non_null(th_open(cl, &u, srv.url, NULL, NULL, p, 1));
    close_target(&u);
    end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (!strstr(c.out, "\"CLOSED\"") && sm_mono_ms() < end)
        pump(&c, 20);

    kill(c.pid, SIGINT);
    assert_int_equal(finish(&c, 5000), 0);
    cJSON *lines = parse_ndjson(c.out);
    bool snap = false, props = false, opened = false, closed = false, end_seen = false;
    cJSON *o;
    cJSON_ArrayForEach(o, lines) {
        const char *ev = jstr(o, "event");
        assert_non_null(ev);
        assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "time")));
        const char *id = jstr(o, "session");
        if (!strcmp(ev, "OPEN") && id && !strcmp(id, t.id)) {
            snap = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "snapshot"));
            assert_string_equal(jprop(o, "properties", "Dept"), "Watch");
        } else if (!strcmp(ev, "SNAPSHOT_END")) {
            end_seen = true;
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(o, "count")->valueint, 1);
        } else if (!strcmp(ev, "PROPERTIES")) {
            props = true;
            assert_string_equal(id, t.id);
            assert_string_equal(jprop(o, "properties", "Tier"), "gold");
            assert_string_equal(jprop(o, "properties", "Dept"), "Watch"); /* the whole requested set */
            assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(o, "changed"), "Tier")));
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "changed")), 1);
        } else if (!strcmp(ev, "OPEN") && id && !strcmp(id, u.id)) {
            opened = true;
            assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "snapshot")));
        } else if (!strcmp(ev, "CLOSED")) {
            closed = true;
            assert_string_equal(id, u.id);
            assert_string_equal(jstr(o, "reason"), "CLOSED_BY_CLIENT");
            assert_string_equal(jprop(o, "properties", "Dept"), "Watch"); /* who left */
        }
    }
    assert_true(snap && end_seen && props && opened && closed);
    cJSON_Delete(lines);

    /* Human format and SIGTERM. */
    start_cli(&c, "viewer", "viewer", (const char *const[]){"watch", "--filter", "Dept is 'Watch'", "--keys", "Tier", NULL});
    end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (!strstr(c.out, "end of snapshot") && sm_mono_ms() < end)
        pump(&c, 20);
    assert_non_null(strstr(c.out, "SNAPSHOT"));
    assert_non_null(strstr(c.out, t.id));
    kill(c.pid, SIGTERM);
    assert_int_equal(finish(&c, 5000), 0);

    /* A listener the principal may not register. */
    assert_int_equal(CLI(&c, "client", "client", "watch"), 4);
    close_target(&t);
}

/* watch survives a server crash: it reports the loss, reconnects and resynchronises. */
static void test_watch_reconnects(void **state)
{
    (void)state;
    static child c;
    start_cli(&c, "viewer", "viewer", (const char *const[]){"watch", "--json", NULL});
    int64_t end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (!strstr(c.out, "SNAPSHOT_END") && sm_mono_ms() < end)
        pump(&c, 20);
    assert_non_null(strstr(c.out, "SNAPSHOT_END"));
    sm_test_server_kill(&srv);
    end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (!strstr(c.out, "CONNECTION_LOST") && sm_mono_ms() < end)
        pump(&c, 20);
    assert_non_null(strstr(c.out, "CONNECTION_LOST"));
    assert_int_equal(sm_test_server_restart(&srv), 0);
    end = sm_mono_ms() + 10000;
    while (!strstr(c.out, "RESYNC") && sm_mono_ms() < end)
        pump(&c, 20);
    char *resync = strstr(c.out, "\"RESYNC\"");
    assert_non_null(resync);
    end = sm_mono_ms() + TH_TIMEOUT_MS;
    while (!strstr(resync, "SNAPSHOT_END") && sm_mono_ms() < end)
        pump(&c, 20);
    assert_non_null(strstr(resync, "SNAPSHOT_END"));
    kill(c.pid, SIGINT);
    assert_int_equal(finish(&c, 5000), 0);
    cJSON_Delete(parse_ndjson(c.out));
    /* Our own library session came back as a new one too. */
    TH_WAIT(cl, admin.opens == 2, TH_TIMEOUT_MS);
    assert_true(admin.replaced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_filter_errors_read_as_documented),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_errors_and_usage),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_escaping_hidden_characters),
        cmocka_unit_test(test_throttled_login_is_explained),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_watch_reconnects),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
