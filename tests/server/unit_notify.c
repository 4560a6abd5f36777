/* sessmond unit tests of smd_notify: path and abstract sockets, unset, bad addresses, oversize states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/notify.h"

/* A datagram socket bound to name ('@' = abstract), as systemd's manager has; -1 on failure. */
static int bind_receiver(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(addr.sun_path, name, len);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '@' ? 0 : 1));
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    if (bind(fd, (struct sockaddr *)&addr, alen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The next datagram within timeout_ms, NUL-terminated in buf; its length or -1. */
static ssize_t receive_within(int fd, char *buf, size_t cap, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static ssize_t receive(int fd, char *buf, size_t cap)
{
    return receive_within(fd, buf, cap, 2000);
}

static void test_unset_is_a_no_op(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(smd_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(smd_notify("READY=1"), 0);
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@sessmon-unit-notify-%ld", (long)getpid());
    int fd = bind_receiver(name);
    assert_true(fd >= 0);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(smd_notify("READY=1\nSTATUS=listening"), 1);
    assert_int_equal(smd_notify("STOPPING=1"), 1);
    char buf[256];
    assert_int_equal(receive(fd, buf, sizeof buf), (ssize_t)strlen("READY=1\nSTATUS=listening"));
    assert_string_equal(buf, "READY=1\nSTATUS=listening");
    assert_true(receive(fd, buf, sizeof buf) > 0);
    assert_string_equal(buf, "STOPPING=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/sessmon-notify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = bind_receiver(path);
    assert_true(fd >= 0);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(smd_notify("RELOADING=1"), 1);
    char buf[64];
    assert_true(receive(fd, buf, sizeof buf) > 0);
    assert_string_equal(buf, "RELOADING=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

/* Whatever the environment holds, the answer is -1 with a reason, never a crash or a stray write. */
static void test_bad_addresses(void **state)
{
    (void)state;
    static const char *const bad[] = {"relative/path", "@", "/", "vsock:2:1234", "/nonexistent-dir/notify"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        errno = 0;
        assert_int_equal(smd_notify("READY=1"), -1);
        assert_true(errno != 0);
    }
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    assert_int_equal(smd_notify("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
}

static void test_bad_states(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@sessmon-unit-notify-states-%ld", (long)getpid());
    int fd = bind_receiver(name);
    assert_true(fd >= 0);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(smd_notify(""), -1);
    assert_int_equal(smd_notify(NULL), -1);
    size_t big = 5000;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'x', big);
    huge[big] = '\0';
    assert_int_equal(smd_notify(huge), -1);
    free(huge);
    char buf[64];
    /* Sending is synchronous on a local datagram socket: had anything gone, it would be queued. */
    assert_int_equal(receive_within(fd, buf, sizeof buf, 0), -1);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_is_a_no_op), cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_path_socket),      cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_bad_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
