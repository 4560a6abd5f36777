/* examples/watch_countries against a real sessmond: snapshot counts, live changes, filter, escaping, exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/sessmon.h"
#include "core/clock.h"
#include "test_server.h"

#ifndef WATCH_COUNTRIES_PATH
#error "WATCH_COUNTRIES_PATH must be defined by the build"
#endif

#define WAIT_MS 10000
#define MAX_SLOTS 8

/* A geo table for the source addresses the tests bind to; 127.0.0.1 stays unknown (""). Cut
 * sessions close at once (reconnectTimeoutMs 0) so no test sees another's leftovers. */
static const char overrides[] = "{\"geo\":[{\"cidr\":\"127.0.0.2\",\"country\":\"FR\"},"
                                "{\"cidr\":\"127.0.0.3\",\"country\":\"US\"}],"
                                "\"limits\":{\"reconnectTimeoutMs\":0}}";

/* ---- The example as a child process: stdout and stderr collected through pipes. ---- */

typedef struct child {
    pid_t pid; /* 0 once reaped */
    int status;
    int out_fd, err_fd;
    char out[1 << 16]; /* starts with '\n' so every line can be searched as "\nLINE\n" */
    char err[1 << 13];
    size_t out_len, err_len;
} child;

static void child_start(child *c, const char *password, const char *const *args)
{
    memset(c, 0, sizeof *c);
    c->out[c->out_len++] = '\n';
    c->status = -1;
    int out[2], err[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    const char *argv[16] = {WATCH_COUNTRIES_PATH};
    for (int i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a test that failed */
        if (getppid() != parent)
            _exit(127);
        dup2(out[1], 1);
        dup2(err[1], 2);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        if (password)
            setenv("SESSMON_PASSWORD", password, 1);
        else
            unsetenv("SESSMON_PASSWORD");
        execv(WATCH_COUNTRIES_PATH, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    c->out_fd = out[0];
    c->err_fd = err[0];
    fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
}

static void drain(int fd, char *buf, size_t cap, size_t *len)
{
    ssize_t r;
    while (fd > 0 && *len < cap - 1 && (r = read(fd, buf + *len, cap - 1 - *len)) > 0)
        *len += (size_t)r;
    buf[*len] = '\0';
}

static void child_poll(child *c)
{
    drain(c->out_fd, c->out, sizeof c->out, &c->out_len);
    drain(c->err_fd, c->err, sizeof c->err, &c->err_len);
    int st;
    if (c->pid > 0 && waitpid(c->pid, &st, WNOHANG) == c->pid) {
        c->pid = 0;
        c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        drain(c->out_fd, c->out, sizeof c->out, &c->out_len);
        drain(c->err_fd, c->err, sizeof c->err, &c->err_len);
    }
}

static void child_cleanup(child *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
        c->pid = 0;
    }
    if (c->out_fd > 0)
        close(c->out_fd);
    if (c->err_fd > 0)
        close(c->err_fd);
    c->out_fd = c->err_fd = 0;
}

/* ---- The test's own sessions (the ones the example counts). ---- */

typedef struct slot {
    sm_session *s;
    char id[128];
    bool closed;
} slot;

typedef struct fixture {
    sm_test_server server;
    sm_client *client;
    slot slots[MAX_SLOTS];
    child example;
} fixture;

static void slot_open(sm_session *s, const sm_session_info *info, void *context)
{
    (void)s;
    snprintf(((slot *)context)->id, sizeof ((slot *)context)->id, "%s", info->session_id);
}

static void slot_close(sm_session *s, sm_reason reason, const sm_client_error *error, void *context)
{
    (void)s, (void)reason, (void)error;
    ((slot *)context)->closed = true;
}

/* One wait step: services our sessions and collects the example's output. */
static void pump(fixture *f)
{
    sm_client_run_once(f->client, 20);
    child_poll(&f->example);
}

#define WAIT_UNTIL(f, cond)                            \
    do {                                               \
        int64_t end_ = sm_mono_ms() + WAIT_MS;         \
        while (!(cond) && sm_mono_ms() < end_)         \
            pump(f);                                   \
    } while (0)

static slot *open_session(fixture *f, int i, const char *principal, const char *source, const char *department)
{
    slot *sl = &f->slots[i];
    memset(sl, 0, sizeof *sl);
    sm_property dept = {"Department", department};
    sm_session_params p = {.url = f->server.url, .principal = principal, .password = principal,
                           .local_address = source, .properties = department ? &dept : NULL,
                           .property_count = department ? 1 : 0, .no_reconnect = true,
                           .on_open = slot_open, .on_close = slot_close, .context = sl};
    sl->s = sm_session_open(f->client, &p, NULL);
    assert_non_null(sl->s);
    WAIT_UNTIL(f, sl->id[0] || sl->closed);
    assert_true(sl->id[0] != '\0');
    return sl;
}

static void close_session(fixture *f, slot *sl)
{
    assert_int_equal(sm_session_close(sl->s, NULL), SM_CLIENT_OK);
    WAIT_UNTIL(f, sl->closed);
    assert_true(sl->closed);
}

static void reply_done(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    *(int *)context = r->error ? 2 : 1;
}

/* Sets $Country of target through the admin session (slot 0). */
static void set_country(fixture *f, const slot *target, const char *country)
{
    int done = 0;
    sm_property p = {"$Country", country};
    sm_set_params sp = {.session_id = target->id, .properties = &p, .property_count = 1,
                        .on_reply = reply_done, .context = &done};
    assert_int_equal(sm_set_properties(f->slots[0].s, &sp, NULL), SM_CLIENT_OK);
    WAIT_UNTIL(f, done != 0);
    assert_int_equal(done, 1);
}

/* Waits until the example printed line (a whole line); shows everything it printed if not. */
static void expect_line(fixture *f, const char *line)
{
    char needle[512];
    snprintf(needle, sizeof needle, "\n%s\n", line);
    WAIT_UNTIL(f, strstr(f->example.out, needle));
    if (!strstr(f->example.out, needle)) {
        print_message("expected line: %s\n---- stdout ----%s---- stderr ----\n%s\n", line, f->example.out,
                      f->example.err);
        fail();
    }
}

/* Waits for the example to exit and checks its status; shows its output if the status differs. */
static void expect_exit(fixture *f, int code)
{
    WAIT_UNTIL(f, f->example.pid == 0);
    if (f->example.status != code)
        print_message("---- stdout ----%s---- stderr ----\n%s\n", f->example.out, f->example.err);
    assert_int_equal(f->example.status, code);
}

/* ---- Fixtures ---- */

static int group_setup(void **state)
{
    static fixture f;
    *state = &f;
    return sm_test_server_start_with(&f.server, overrides);
}

static int group_teardown(void **state)
{
    return sm_test_server_stop(&((fixture *)*state)->server) == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
    fixture *f = *state;
    memset(f->slots, 0, sizeof f->slots);
    f->client = sm_client_new(NULL, NULL);
    return f->client ? 0 : -1;
}

/* Closes what a test left open, gracefully, so the next test's snapshot starts empty. */
static int test_teardown(void **state)
{
    fixture *f = *state;
    child_cleanup(&f->example);
    for (int i = 0; i < MAX_SLOTS; i++)
        if (f->slots[i].s && !f->slots[i].closed)
            sm_session_close(f->slots[i].s, NULL);
    int64_t end = sm_mono_ms() + 3000;
    for (int i = 0; i < MAX_SLOTS; i++)
        while (f->slots[i].s && !f->slots[i].closed && sm_mono_ms() < end)
            sm_client_run_once(f->client, 20);
    sm_client_free(f->client);
    f->client = NULL;
    return 0;
}

/* ---- Tests ---- */

static void counts_the_snapshot_then_follows_live_changes(void **state)
{
    fixture *f = *state;
    open_session(f, 0, "admin", "127.0.0.1", NULL);
    slot *fr1 = open_session(f, 1, "client", "127.0.0.2", "Sales");
    slot *fr2 = open_session(f, 2, "client", "127.0.0.2", NULL);
    open_session(f, 3, "client", "127.0.0.3", "Ops");

    const char *args[] = {"--url", f->server.url, "--principal", "viewer", "--seconds", "60", NULL};
    child_start(&f->example, "viewer", args);
    expect_line(f, "snapshot: 4 sessions"); /* its own viewer session is left out */
    expect_line(f, "countries: (none)=1 FR=2 US=1");

    close_session(f, fr2);
    char line[512];
    snprintf(line, sizeof line, "remove %s FR: FR=1", fr2->id);
    expect_line(f, line);

    /* A live open, with a department holding a terminal escape sequence: shown as \xNN. */
    slot *us2 = open_session(f, 4, "client", "127.0.0.3", "Ops\x1b[2J");
    snprintf(line, sizeof line, "add %s US Department=Ops\\x1B[2J: US=2", us2->id);
    expect_line(f, line);

    set_country(f, fr1, "us");
    snprintf(line, sizeof line, "move %s FR -> US: FR=0 US=3", fr1->id);
    expect_line(f, line);

    kill(f->example.pid, SIGTERM);
    expect_exit(f, 0);
    expect_line(f, "countries: (none)=1 US=3"); /* the summary on the way out */
    assert_string_equal(f->example.err, "");
}

static void filter_enter_and_leave_change_the_counts(void **state)
{
    fixture *f = *state;
    open_session(f, 0, "admin", "127.0.0.1", NULL);
    slot *fr = open_session(f, 1, "client", "127.0.0.2", NULL);
    open_session(f, 2, "client", "127.0.0.3", NULL);

    const char *args[] = {"--url", f->server.url, "--filter", "$Country is 'FR'", "--seconds", "60", NULL};
    child_start(&f->example, "viewer", args);
    expect_line(f, "snapshot: 1 sessions");
    expect_line(f, "countries: FR=1");

    char line[512];
    set_country(f, fr, "DE"); /* leaves the filter: the listener says FILTER_LEAVE, not PROPERTIES */
    snprintf(line, sizeof line, "remove %s FR: FR=0", fr->id);
    expect_line(f, line);
    set_country(f, fr, "FR");
    snprintf(line, sizeof line, "add %s FR: FR=1", fr->id);
    expect_line(f, line);

    kill(f->example.pid, SIGINT);
    expect_exit(f, 0);
}

static void stops_by_itself_after_seconds(void **state)
{
    fixture *f = *state;
    const char *args[] = {"--url", f->server.url, "--seconds", "1", NULL};
    int64_t start = sm_mono_ms();
    child_start(&f->example, "viewer", args);
    expect_exit(f, 0);
    assert_true(sm_mono_ms() - start < 5000);
    expect_line(f, "snapshot: 0 sessions");
}

/* Runs the example to its end and checks the exit code and a piece of its error message. */
static void expect_failure(fixture *f, const char *password, const char *const *args, int code, const char *message)
{
    child_start(&f->example, password, args);
    expect_exit(f, code);
    if (!strstr(f->example.err, message))
        print_message("stderr: %s\n", f->example.err);
    assert_non_null(strstr(f->example.err, message));
    child_cleanup(&f->example);
}

static void fails_with_clear_messages_and_exit_codes(void **state)
{
    fixture *f = *state;
    const char *url = f->server.url;
    expect_failure(f, "wrong", (const char *[]){"--url", url, NULL}, 4, "AUTHENTICATION_FAILED");
    expect_failure(f, "client", (const char *[]){"--url", url, "--principal", "client", NULL}, 4, "ACCESS_DENIED");
    expect_failure(f, "viewer", (const char *[]){"--url", url, "--filter", "$Country is", NULL}, 5,
                   "INVALID_FILTER");
    expect_failure(f, NULL, (const char *[]){"--url", url, NULL}, 2, "set SESSMON_PASSWORD");
    expect_failure(f, "viewer", (const char *[]){"--url", "http://127.0.0.1", NULL}, 2, "INVALID_ARGUMENT");
    expect_failure(f, "viewer", (const char *[]){"--seconds", "0", NULL}, 2, "usage:");
    expect_failure(f, "viewer", (const char *[]){"--url", NULL}, 2, "usage:");
    /* Asked for, the usage is no failure: stdout, exit 0. */
    child_start(&f->example, "viewer", (const char *[]){"--help", NULL});
    expect_exit(f, 0);
    assert_non_null(strstr(f->example.out, "usage: watch_countries"));
    child_cleanup(&f->example);
    /* Port 1 on loopback: nothing listens there. */
    expect_failure(f, "viewer", (const char *[]){"--url", "ws://127.0.0.1:1", NULL}, 3, "CONNECT_FAILED");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(counts_the_snapshot_then_follows_live_changes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(filter_enter_and_leave_change_the_counts, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(stops_by_itself_after_seconds, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(fails_with_clear_messages_and_exit_codes, test_setup, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
