/* sessmond under a fake systemd: READY=1 once it listens, RELOADING=1/READY=1 at SIGHUP, STOPPING=1 at SIGTERM. */
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_server.h"
#include "wsraw.h"

/* The fake manager's socket and the daemon under test; the teardown ends both, whatever failed. */
typedef struct fake_systemd {
    char name[108]; /* NOTIFY_SOCKET value ('@' = abstract) */
    char dir[64];   /* temp dir of a path socket, "" for abstract */
    int fd;
    pid_t pid;
} fake_systemd;

static int bind_manager(fake_systemd *f, bool abstract)
{
    if (abstract) {
        snprintf(f->name, sizeof f->name, "@sessmon-test-notify-%ld-%ld", (long)getpid(), (long)time(NULL));
    } else {
        snprintf(f->dir, sizeof f->dir, "/tmp/sessmon-notify-XXXXXX");
        if (!mkdtemp(f->dir))
            return -1;
        snprintf(f->name, sizeof f->name, "%s/notify", f->dir);
    }
    f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (f->fd < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(f->name);
    memcpy(addr.sun_path, f->name, len);
    if (abstract)
        addr.sun_path[0] = '\0';
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
    return bind(f->fd, (struct sockaddr *)&addr, alen);
}

/* Starts sessmond (demo configuration, any free port) with NOTIFY_SOCKET set to notify_socket. */
static pid_t start_daemon(const char *notify_socket)
{
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    setenv("NOTIFY_SOCKET", notify_socket, 1);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0 && !getenv("SESSMON_TEST_VERBOSE")) {
        dup2(null, 1);
        dup2(null, 2);
    }
    execl(SESSMOND_PATH, SESSMOND_PATH, "--bind", "127.0.0.1", "--port", "0", (char *)NULL);
    _exit(127);
}

/* Waits (<= timeout_ms) for a datagram holding the line `want`; copies the datagram into buf. */
static bool await_state(int fd, const char *want, char *buf, size_t cap, int timeout_ms)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) != 1)
            return false;
        ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
        if (n < 0)
            continue;
        buf[n] = '\0';
        for (char *line = buf; line && *line;) {
            char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            if (len == strlen(want) && strncmp(line, want, len) == 0)
                return true;
            line = nl ? nl + 1 : NULL;
        }
    }
}

/* The port from "STATUS=listening on ws://127.0.0.1:PORT", -1 when absent. */
static int status_port(const char *msg)
{
    const char *status = strstr(msg, "STATUS=listening on ws://127.0.0.1:");
    return status ? atoi(status + strlen("STATUS=listening on ws://127.0.0.1:")) : -1;
}

/* SIGTERM, then waits <= 10 s (SIGKILL after); the exit status, 128 + signal when killed. */
static int stop_daemon(fake_systemd *f)
{
    if (f->pid <= 0)
        return -1;
    kill(f->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1000; i++) {
        if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
            f->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    kill(f->pid, SIGKILL);
    waitpid(f->pid, &st, 0);
    f->pid = 0;
    return 128 + SIGKILL;
}

static int setup(void **state)
{
    fake_systemd *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->fd = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake_systemd *f = *state;
    stop_daemon(f);
    if (f->fd >= 0)
        close(f->fd);
    if (f->dir[0]) {
        unlink(f->name);
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

/* A WebSocket handshake on port, made at once (no retry): what readiness promises. */
static void assert_serves(int port)
{
    assert_true(port > 0);
    sm_ws ws;
    int connected = sm_ws_connect_port(&ws, port);
    sm_ws_close(&ws);
    assert_int_equal(connected, SM_WS_OK);
}

/* Binds the fake manager, starts sessmond under it and waits for READY=1; the port it names. */
static int start_until_ready(fake_systemd *f, bool abstract)
{
    assert_int_equal(bind_manager(f, abstract), 0);
    f->pid = start_daemon(f->name);
    assert_true(f->pid > 0);
    char msg[512];
    assert_true(await_state(f->fd, "READY=1", msg, sizeof msg, 10000));
    return status_port(msg);
}

static void ready_then_stopping(fake_systemd *f, bool abstract)
{
    /* Readiness means the port is bound and listening. */
    assert_serves(start_until_ready(f, abstract));
    assert_int_equal(kill(f->pid, SIGTERM), 0);
    char msg[512];
    assert_true(await_state(f->fd, "STOPPING=1", msg, sizeof msg, 10000));
    assert_int_equal(stop_daemon(f), 0);
}

/* SIGHUP: RELOADING=1 (with MONOTONIC_USEC, as Type=notify-reload wants), then READY=1 again
 * once the reload is done; the server keeps serving. */
static void test_reload(void **state)
{
    fake_systemd *f = *state;
    int port = start_until_ready(f, true);
    assert_int_equal(kill(f->pid, SIGHUP), 0);
    char msg[512];
    assert_true(await_state(f->fd, "RELOADING=1", msg, sizeof msg, 10000));
    assert_non_null(strstr(msg, "\nMONOTONIC_USEC="));
    assert_true(await_state(f->fd, "READY=1", msg, sizeof msg, 10000));
    assert_serves(port);
    assert_int_equal(stop_daemon(f), 0);
}

static void test_abstract_socket(void **state)
{
    ready_then_stopping(*state, true);
}

static void test_path_socket(void **state)
{
    ready_then_stopping(*state, false);
}

/* A NOTIFY_SOCKET nobody listens on costs the readiness message only: the server runs, and says
 * why systemd was not told. */
static void test_unreachable_socket_is_not_fatal(void **state)
{
    (void)state;
    setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
    sm_test_server srv;
    int started = sm_test_server_start_with(&srv, NULL);
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(started, 0);
    char path[300], log[8192] = "";
    FILE *f = fopen(sm_test_server_log(&srv, path, sizeof path), "r");
    if (f) {
        size_t n = fread(log, 1, sizeof log - 1, f);
        log[n] = '\0';
        fclose(f);
    }
    assert_int_equal(sm_test_server_stop(&srv), 0);
    assert_non_null(strstr(log, "cannot notify systemd through NOTIFY_SOCKET"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_abstract_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_socket_is_not_fatal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
