/* A minimal raw WebSocket client for the benchmarks: control connections to sessmond without libsessmon. */
#ifndef SM_BENCH_WS_H
#define SM_BENCH_WS_H

#include <stdbool.h>
#include <stddef.h>

/* The client's upgrade request for 127.0.0.1:port into out; its length. */
int sm_bench_ws_handshake(char *out, size_t cap, int port);

double sm_bench_ws_now_ms(void);
/* Prints "bench: what" and exits 1 (children started with PR_SET_PDEATHSIG die with the bench). */
void sm_bench_die(const char *what) __attribute__((noreturn));

/* A masked text frame of len bytes into out (sized >= len + 14); returns its size. */
size_t sm_bench_ws_frame(unsigned char *out, const char *text, size_t len);
/* One server frame at buf: its total size, 0 when incomplete. */
size_t sm_bench_ws_parse(const unsigned char *buf, size_t len, int *opcode, const unsigned char **payload,
                         size_t *plen);
/* A TCP connection to 127.0.0.1:port from source (NULL = any); -1 on failure. */
int sm_bench_tcp_connect(int port, const char *source, bool nonblock);

/* Many anonymous sessions opened at once (non-blocking, one epoll set). */
enum { SM_BENCH_CONNECTING, SM_BENCH_HANDSHAKE, SM_BENCH_OPENING, SM_BENCH_DONE, SM_BENCH_FAILED };
typedef struct sm_bench_conn {
    int fd;    /* -1 once failed and closed */
    int state; /* SM_BENCH_DONE: the session is open and fd is left open for the caller */
    unsigned char *buf;
    size_t len;
} sm_bench_conn;
/* Writes the open request of connection idx into out (NUL-terminated); returns its length. */
typedef int (*sm_bench_open_text)(char *out, size_t cap, int idx, void *arg);
/* Opens n sessions on 127.0.0.1:port, connection i from sources[i % nsources], at most
 * max_in_flight under way at once, giving up after timeout_ms. Returns how many opened. */
int sm_bench_open_sessions(sm_bench_conn *cs, int n, int port, const char *const *sources, int nsources,
                           int max_in_flight, double timeout_ms, sm_bench_open_text open_text, void *arg);

/* A blocking control connection with a session opened as admin/admin (the demo principal). */
typedef struct sm_bench_ctl {
    int fd;
    unsigned char *buf;
    size_t len, cap;
} sm_bench_ctl;

void sm_bench_ctl_open(sm_bench_ctl *c, int port);
void sm_bench_ctl_send(sm_bench_ctl *c, const char *text);
/* The next text message (NUL-terminated, caller frees), or NULL after timeout_ms. */
char *sm_bench_ctl_recv(sm_bench_ctl *c, int timeout_ms);
/* Sends a request and waits for its reply or error (dies on an error): the time it took. */
double sm_bench_ctl_request(sm_bench_ctl *c, const char *text, long long id, char **reply);
void sm_bench_ctl_close(sm_bench_ctl *c);

#endif
