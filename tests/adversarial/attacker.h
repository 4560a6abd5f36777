/* Attack helpers for the adversarial tests: many raw TCP connections from chosen loopback sources, hostile property values, and log files read back. */
#ifndef SM_TESTS_ADVERSARIAL_ATTACKER_H
#define SM_TESTS_ADVERSARIAL_ATTACKER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/clock.h"

/* A set of connections an attacker holds open. */
typedef struct sm_horde {
    int *fds;
    int count; /* connections made (fds[0..count)) */
} sm_horde;

/* Starts a non-blocking connect to 127.0.0.1:port from src; the fd, or -1. */
static inline int sm_horde_connect_one(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (src) {
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            return -1;
        }
    }
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Opens n connections to port; source(i, buf) names the source address of connection i (NULL
 * function = any). Connections the kernel cannot make are skipped. Waits up to wait_ms for the
 * connects to complete, then optionally sends `first` on each (a slow, partial request). */
static inline void sm_horde_open(sm_horde *h, int port, int n, const char *(*source)(int i, char *buf, size_t len),
                                 const char *first, int wait_ms)
{
    h->fds = calloc((size_t)n, sizeof *h->fds);
    h->count = 0;
    if (!h->fds)
        return;
    for (int i = 0; i < n; i++) {
        char buf[32];
        int fd = sm_horde_connect_one(port, source ? source(i, buf, sizeof buf) : NULL);
        if (fd >= 0)
            h->fds[h->count++] = fd;
    }
    int64_t deadline = sm_mono_ms() + wait_ms;
    for (int i = 0; i < h->count; i++) {
        struct pollfd p = {.fd = h->fds[i], .events = POLLOUT};
        int64_t left = deadline - sm_mono_ms();
        if (poll(&p, 1, left > 0 ? (int)left : 0) == 1 && first)
            (void)!send(h->fds[i], first, strlen(first), MSG_NOSIGNAL);
    }
}

/* How many of the connections the server has not closed (no EOF or error readable). */
static inline int sm_horde_alive(const sm_horde *h)
{
    int alive = 0;
    for (int i = 0; i < h->count; i++) {
        char c;
        ssize_t r = recv(h->fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            alive++;
    }
    return alive;
}

static inline void sm_horde_close(sm_horde *h)
{
    for (int i = 0; i < h->count; i++)
        close(h->fds[i]);
    free(h->fds);
    h->fds = NULL;
    h->count = 0;
}

/* Size of a file in bytes, or -1. */
static inline long long sm_file_size(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long long n = ftell(f);
    fclose(f);
    return n;
}

/* Lines of a file that contain needle, or -1. */
static inline long long sm_count_lines_with(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    long long n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

/* {"K":"<len random a/b bytes>"} (rand(), so srand decides the bytes): every byte keeps a regex
 * DFA guessing. Caller frees; NULL when out of memory. */
static inline char *sm_hostile_ab_props(int len)
{
    char *props = malloc((size_t)len + 16);
    if (!props)
        return NULL;
    strcpy(props, "{\"K\":\"");
    size_t n = strlen(props);
    for (int j = 0; j < len; j++)
        props[n++] = (rand() & 1) ? 'a' : 'b';
    strcpy(props + n, "\"}");
    return props;
}

#endif
