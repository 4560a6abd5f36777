/* Benchmark of sessmond under the attacks of tests/adversarial at full size: an innocent client's ping p99 beside its 50 ms target. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench/common/bench_util.h"
#include "bench/common/bench_ws.h"
#include "core/proc.h"

#define TARGET_PING_P99_MS 50.0    /* issue 9: an innocent client's ping under every attack */
#define TARGET_CONNECT_MS 1000.0   /* a client from another address connects and opens */
#define TARGET_REFUSAL_MS 50.0     /* a hostile filter is refused as promptly as a ping is answered */
#define TARGET_EVAL_MS_PER_SESSION 2.0 /* worst allowed filter (two regexes) per 4 KB session, docs/filters.md */
#define TARGET_REGEX_RSS_MIB 100.0 /* server growth under the regex attack (the adversarial test's bound) */
#define TARGET_LOGIN_MS 1000.0     /* a real user's first-time login during the flood (one 0.2 s check) */
#define TARGET_FD_CPU_PERCENT 10.0 /* out of descriptors: the server waits, it does not spin */
#define TARGET_FD_LOG_BYTES 4096.0 /* ... and says so in a line or two */
#define PROBE_INTERVAL_MS 5
#define PROBE_REPLY_TIMEOUT_MS 10000
#define VALUE_LEN 4096

/* ---- processes to clean up whatever happens ---- */

static pid_t tracked[64];
static char tmp_dir[64];
static char tmp_files[24][160]; /* every file made in tmp_dir, for the signal handler (no opendir there) */

static void track(pid_t pid)
{
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] == 0) {
            tracked[i] = pid;
            return;
        }
}

/* SIGKILL and reap: for the probe, attackers and a server that failed its case. */
static void kill_tracked(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] == pid)
            tracked[i] = 0;
}

/* The configurations, port files and logs of the servers (flat: no subdirectories). */
static void remove_tmp_dir(void)
{
    if (!tmp_dir[0])
        return;
    DIR *d = opendir(tmp_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[400];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    if (rmdir(tmp_dir) != 0)
        fprintf(stderr, "bench_attacks: could not remove %s\n", tmp_dir);
    tmp_dir[0] = '\0';
}

static void cleanup_at_exit(void)
{
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] > 0)
            kill_tracked(tracked[i]);
    remove_tmp_dir();
}

static void remember_tmp_file(const char *path)
{
    for (size_t i = 0; i < sizeof tmp_files / sizeof *tmp_files; i++)
        if (!tmp_files[i][0] || strcmp(tmp_files[i], path) == 0) {
            snprintf(tmp_files[i], sizeof tmp_files[i], "%s", path);
            return;
        }
}

/* Only async-signal-safe calls: kill and reap the children, remove the files, die of the signal. */
static void on_signal(int sig)
{
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] > 0)
            kill(tracked[i], SIGKILL);
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] > 0)
            waitpid(tracked[i], NULL, 0);
    for (size_t i = 0; i < sizeof tmp_files / sizeof *tmp_files; i++)
        if (tmp_files[i][0])
            unlink(tmp_files[i]);
    if (tmp_dir[0])
        rmdir(tmp_dir);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A forked child that dies with the bench. */
static pid_t fork_child(void)
{
    fflush(stdout);
    pid_t pid = sm_bench_fork();
    if (pid < 0)
        sm_bench_die("fork");
    if (pid == 0) {
        /* the parent's processes and files are not the child's to clean up, should it ever exit() */
        memset(tracked, 0, sizeof tracked);
        memset(tmp_files, 0, sizeof tmp_files);
        tmp_dir[0] = '\0';
        return 0;
    }
    track(pid);
    return pid;
}

/* ---- a raw WebSocket client with its own source address that reports errors instead of dying ---- */

enum { WSC_OK, WSC_TIMEOUT, WSC_CLOSED, WSC_ERR };

typedef struct wsc {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    char close_reason[64];
} wsc;

static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        int left = (int)(deadline - sm_bench_now_ms());
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > 0 ? left : 0);
        if (r > 0)
            return WSC_OK;
        if (r == 0)
            return WSC_TIMEOUT;
        if (errno != EINTR)
            return WSC_ERR;
    }
}

static int wsc_send_raw(wsc *c, const void *data, size_t n, int timeout_ms)
{
    double deadline = sm_bench_now_ms() + timeout_ms;
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return WSC_ERR;
        int rc = wait_fd(c->fd, POLLOUT, deadline);
        if (rc != WSC_OK)
            return rc;
    }
    return WSC_OK;
}

static int wsc_send(wsc *c, const char *text, int timeout_ms)
{
    size_t len = strlen(text);
    unsigned char *f = malloc(len + 14);
    if (!f)
        return WSC_ERR;
    size_t n = sm_bench_ws_frame(f, text, len);
    int rc = wsc_send_raw(c, f, n, timeout_ms);
    free(f);
    return rc;
}

/* The next text message (caller frees *msg). Pings and other control frames are skipped; a close
 * frame gives WSC_CLOSED with its reason. */
static int wsc_recv(wsc *c, int timeout_ms, char **msg)
{
    double deadline = sm_bench_now_ms() + timeout_ms;
    *msg = NULL;
    for (;;) {
        int op;
        const unsigned char *p;
        size_t pl;
        size_t used = sm_bench_ws_parse(c->buf, c->len, &op, &p, &pl);
        if (used) {
            if (op == 8) {
                size_t rl = pl > 2 ? pl - 2 : 0;
                if (rl > sizeof c->close_reason - 1)
                    rl = sizeof c->close_reason - 1;
                memcpy(c->close_reason, p + 2, rl);
                c->close_reason[rl] = '\0';
            } else if (op == 1) {
                *msg = malloc(pl + 1);
                if (!*msg)
                    return WSC_ERR;
                memcpy(*msg, p, pl);
                (*msg)[pl] = '\0';
            }
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
            if (op == 8)
                return WSC_CLOSED;
            if (*msg)
                return WSC_OK;
            continue;
        }
        if (c->len + 65536 > c->cap) {
            size_t cap = (c->len + 65536) * 2;
            unsigned char *b = realloc(c->buf, cap);
            if (!b)
                return WSC_ERR;
            c->buf = b;
            c->cap = cap;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r == 0)
            return WSC_CLOSED;
        if (errno != EAGAIN && errno != EINTR)
            return WSC_ERR;
        int rc = wait_fd(c->fd, POLLIN, deadline);
        if (rc != WSC_OK)
            return rc;
    }
}

static void wsc_close(wsc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* TCP connection from src (NULL = any) and the WebSocket upgrade; rcvbuf > 0 shrinks the receive buffer. */
static int wsc_connect(wsc *c, int port, const char *src, int rcvbuf, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    double deadline = sm_bench_now_ms() + timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return WSC_ERR;
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (src) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &s.sin_addr);
        if (bind(fd, (struct sockaddr *)&s, sizeof s) != 0)
            return WSC_ERR;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        return WSC_ERR;
    int rc = wait_fd(fd, POLLOUT, deadline);
    int err = 0;
    socklen_t el = sizeof err;
    if (rc != WSC_OK)
        return rc;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
        return WSC_ERR;
    char hs[512];
    int hl = sm_bench_ws_handshake(hs, sizeof hs, port);
    rc = wsc_send_raw(c, hs, (size_t)hl, (int)(deadline - sm_bench_now_ms()));
    if (rc != WSC_OK)
        return rc;
    c->cap = 65536;
    c->buf = malloc(c->cap);
    if (!c->buf)
        return WSC_ERR;
    for (;;) {
        ssize_t r = recv(fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
        if (r == 0)
            return WSC_CLOSED;
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR)
                return WSC_ERR;
            rc = wait_fd(fd, POLLIN, deadline);
            if (rc != WSC_OK)
                return rc;
            continue;
        }
        c->len += (size_t)r;
        c->buf[c->len] = '\0';
        char *end = strstr((char *)c->buf, "\r\n\r\n");
        if (!end) {
            if (c->len + 1 >= c->cap)
                return WSC_ERR;
            continue;
        }
        if (strncmp((char *)c->buf, "HTTP/1.1 101", 12) != 0)
            return WSC_ERR;
        size_t head = (size_t)(end - (char *)c->buf) + 4;
        memmove(c->buf, c->buf + head, c->len - head);
        c->len -= head;
        return WSC_OK;
    }
}

/* Sends an open (principal NULL = anonymous; properties a JSON object or NULL) and returns the
 * server's answer (caller frees), or NULL. */
static char *wsc_open(wsc *c, const char *principal, const char *password, const char *properties, int timeout_ms)
{
    size_t cap = 512 + (properties ? strlen(properties) : 0);
    char *open = malloc(cap);
    if (!open)
        return NULL;
    snprintf(open, cap, "{\"type\":\"open\",\"principal\":\"%s\"%s%s%s,\"clientType\":\"C\"%s%s}",
             principal ? principal : "", password ? ",\"password\":\"" : "", password ? password : "",
             password ? "\"" : "", properties ? ",\"properties\":" : "", properties ? properties : "");
    int rc = wsc_send(c, open, timeout_ms);
    free(open);
    char *m = NULL;
    if (rc == WSC_OK)
        wsc_recv(c, timeout_ms, &m);
    return m;
}

/* Connect + open from src; the time it took, or -1. */
static double connect_and_open_ms(int port, const char *src, int timeout_ms)
{
    double t0 = sm_bench_now_ms();
    wsc c;
    double ms = -1;
    if (wsc_connect(&c, port, src, 0, timeout_ms) == WSC_OK) {
        char *m = wsc_open(&c, NULL, NULL, NULL, timeout_ms);
        if (m && strstr(m, "\"opened\""))
            ms = sm_bench_now_ms() - t0;
        free(m);
    }
    wsc_close(&c);
    return ms;
}

/* A request that answers with a reply or an error carrying id: the answer (caller frees), or NULL. */
static char *wsc_request(wsc *c, const char *text, long long id, int timeout_ms)
{
    char want[48];
    snprintf(want, sizeof want, "\"id\":%lld,", id);
    double deadline = sm_bench_now_ms() + timeout_ms;
    if (wsc_send(c, text, timeout_ms) != WSC_OK)
        return NULL;
    for (;;) {
        char *m = NULL;
        if (wsc_recv(c, (int)(deadline - sm_bench_now_ms()), &m) != WSC_OK)
            return NULL;
        if (strstr(m, want) && (strstr(m, "\"reply\"") || strstr(m, "\"error\"")))
            return m;
        free(m);
    }
}

/* ---- sessmond with a configuration of the case's own ---- */

typedef struct server {
    pid_t pid;
    int port;
    char log[128];
} server;

/* Copies every field of patch into base, recursing into objects present in both. */
static void merge_json(cJSON *base, const cJSON *patch)
{
    for (const cJSON *p = patch->child; p; p = p->next) {
        cJSON *b = cJSON_GetObjectItemCaseSensitive(base, p->string);
        if (b && cJSON_IsObject(b) && cJSON_IsObject(p))
            merge_json(b, p);
        else if (b)
            cJSON_ReplaceItemInObjectCaseSensitive(base, p->string, cJSON_Duplicate(p, true));
        else
            cJSON_AddItemToObject(base, p->string, cJSON_Duplicate(p, true));
    }
}

/* Runs argv with input on stdin; its stdout into out (NUL-terminated). 0 when it exited with 0. */
static int run_with_input(char *const argv[], const char *input, char *out, size_t cap)
{
    int in[2], res[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork_child();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(res[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(res[1]);
    if (input && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
        fprintf(stderr, "bench_attacks: short write to %s\n", argv[0]);
    close(in[1]);
    size_t len = 0;
    ssize_t r;
    while (len < cap - 1 && (r = read(res[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(res[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] == pid)
            tracked[i] = 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Starts sessmond on a free port of 127.0.0.1: the demo configuration with overrides (JSON,
 * merged), the bench's long heartbeats (its raw sessions never answer them), and, when nofile > 0,
 * that limit on its file descriptors (soft and hard, as `prlimit --nofile=N:N`). */
static bool server_start(server *s, const char *path, const char *name, const char *overrides, int nofile)
{
    char *argv[] = {(char *)path, "--print-config", NULL};
    size_t cap = 1 << 20;
    char *demo = malloc(cap);
    if (!demo || run_with_input(argv, NULL, demo, cap) != 0) {
        free(demo);
        return false;
    }
    cJSON *root = cJSON_Parse(demo);
    free(demo);
    cJSON *patch = cJSON_Parse("{\"limits\":{\"heartbeatIntervalMs\":3600000,\"heartbeatTimeoutMs\":3600000}}");
    cJSON *extra = overrides ? cJSON_Parse(overrides) : NULL;
    if (!root || !patch || (overrides && !extra)) {
        fprintf(stderr, "bench_attacks: bad configuration for %s\n", name);
        cJSON_Delete(root);
        cJSON_Delete(patch);
        cJSON_Delete(extra);
        return false;
    }
    merge_json(root, patch);
    if (extra)
        merge_json(root, extra);
    cJSON_Delete(patch);
    cJSON_Delete(extra);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char cfg[160], portfile[160];
    snprintf(cfg, sizeof cfg, "%s/%s.json", tmp_dir, name);
    snprintf(portfile, sizeof portfile, "%s/%s.port", tmp_dir, name);
    snprintf(s->log, sizeof s->log, "%s/%s.log", tmp_dir, name);
    unlink(portfile); /* a case run twice must not read the port of its first server */
    remember_tmp_file(cfg);
    remember_tmp_file(portfile);
    remember_tmp_file(s->log);
    FILE *f = fopen(cfg, "w");
    if (!f || !text) {
        free(text);
        if (f)
            fclose(f);
        return false;
    }
    fputs(text, f);
    fclose(f);
    free(text);
    s->pid = fork_child();
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nofile > 0) {
            struct rlimit rl = {.rlim_cur = (rlim_t)nofile, .rlim_max = (rlim_t)nofile};
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
        execl(path, path, "--config", cfg, "--port", "0", "--bind", "127.0.0.1", "--port-file", portfile,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 2000; i++) {
        FILE *pf = fopen(portfile, "r");
        if (pf) {
            int ok = fscanf(pf, "%d", &s->port) == 1;
            fclose(pf);
            if (ok)
                return true;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
            break;
        usleep(10000);
    }
    fprintf(stderr, "bench_attacks: sessmond did not start for %s (log %s)\n", name, s->log);
    kill_tracked(s->pid);
    return false;
}

static bool server_stop(server *s)
{
    bool ok = sm_bench_stop(s->pid);
    for (size_t i = 0; i < sizeof tracked / sizeof *tracked; i++)
        if (tracked[i] == s->pid)
            tracked[i] = 0;
    if (!ok)
        printf("  (sessmond did not exit cleanly on SIGTERM; log %s)\n", s->log);
    return ok;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static long long lines_with(const char *path, const char *needle)
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

/* ---- the probe: an innocent anonymous client pinging every 5 ms from its own process ---- */

/* One ping at a time, the next PROBE_INTERVAL_MS after the last was sent (or at once when its reply
 * took longer): the innocent client of the adversarial tests and of bench_server. It never has more
 * than one request in flight, so it measures the server's responsiveness, not how fast the server
 * drains one client's backlog; report_ping accounts for the pings a stall kept it from sending. */
static void probe_child(int port, int out)
{
    wsc c;
    sm_bench_probe_sample lost = {sm_bench_now_ms(), -1};
    char *m = NULL;
    if (wsc_connect(&c, port, NULL, 0, 10000) != WSC_OK || !(m = wsc_open(&c, NULL, NULL, NULL, 10000)) ||
        !strstr(m, "\"opened\"")) {
        (void)!write(out, &lost, sizeof lost);
        _exit(1);
    }
    free(m);
    char req[96], want[48];
    for (long long id = 1;; id++) {
        snprintf(req, sizeof req, "{\"type\":\"ping\",\"id\":%lld}", id);
        snprintf(want, sizeof want, "\"id\":%lld,", id);
        double t0 = sm_bench_now_ms();
        sm_bench_probe_sample smp = {t0, -1};
        int rc = wsc_send(&c, req, PROBE_REPLY_TIMEOUT_MS);
        while (rc == WSC_OK) {
            rc = wsc_recv(&c, (int)(t0 + PROBE_REPLY_TIMEOUT_MS - sm_bench_now_ms()), &m);
            if (rc != WSC_OK)
                break;
            bool hit = strstr(m, want) != NULL;
            free(m);
            if (hit) {
                smp.rtt_ms = sm_bench_now_ms() - t0;
                break;
            }
        }
        if (write(out, &smp, sizeof smp) != (ssize_t)sizeof smp || rc != WSC_OK)
            _exit(0);
        double rest = PROBE_INTERVAL_MS - (sm_bench_now_ms() - t0);
        if (rest > 0)
            usleep((useconds_t)(rest * 1000));
    }
}

/* Starts the probe and waits until its first ping was answered. */
static bool probe_start(sm_bench_probe *pr, int port)
{
    memset(pr, 0, sizeof *pr);
    sm_bench_probe_spawn(pr, fork_child, probe_child, port);
    double deadline = sm_bench_now_ms() + 10000;
    while (sm_bench_now_ms() < deadline) {
        sm_bench_probe_sample s;
        ssize_t r = read(pr->fd, &s, sizeof s);
        if (r == (ssize_t)sizeof s)
            return s.rtt_ms >= 0;
        if (r == 0)
            return false;
        usleep(2000);
    }
    return false;
}

static void probe_stop(sm_bench_probe *pr)
{
    kill_tracked(pr->pid);
    close(pr->fd);
    free(pr->v);
    memset(pr, 0, sizeof *pr);
}

/* The probe's pings sent in [from, to] (unanswered ones count as 10 s): p99 judged, p50 and max beside it. */
static void report_ping(sm_bench_probe *pr, const char *what, double from, double to)
{
    double settle = sm_bench_now_ms() + 200; /* the last ping sent before `to` may be on its way */
    while (sm_bench_now_ms() < settle)
        usleep(20000);
    sm_bench_probe_drain(pr);
    /* rtt: the probe's own round trips; all: the same plus, for each reply that took R > interval,
     * the pings a client sending every PROBE_INTERVAL_MS would have sent meanwhile (R - interval,
     * R - 2 x interval, ...): a stall then weighs by its length, not as one sample */
    sm_bench_samples rtt = {0}, all = {0};
    int lost = 0;
    for (size_t i = 0; i < pr->n; i++) {
        if (pr->v[i].at_ms < from || pr->v[i].at_ms > to)
            continue;
        if (pr->v[i].rtt_ms < 0)
            lost++;
        double r = pr->v[i].rtt_ms < 0 ? PROBE_REPLY_TIMEOUT_MS : pr->v[i].rtt_ms;
        sm_bench_add(&rtt, r);
        for (double x = r; x > 0; x -= PROBE_INTERVAL_MS)
            sm_bench_add(&all, x);
    }
    const char *dump = getenv("BENCH_ATTACKS_PROBE_DUMP"); /* debugging: every sample of the window */
    FILE *df = dump ? fopen(dump, "a") : NULL;
    for (size_t i = 0; df && i < pr->n; i++)
        if (pr->v[i].at_ms >= from && pr->v[i].at_ms <= to)
            fprintf(df, "%s\t%.3f\t%.3f\n", what, pr->v[i].at_ms - from, pr->v[i].rtt_ms);
    if (df)
        fclose(df);
    char name[160], note[320];
    snprintf(name, sizeof name, "%s: probe ping p99", what);
    if (rtt.n == 0) {
        sm_bench_missing(name, "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS, "no ping was answered meanwhile");
        return;
    }
    snprintf(note, sizeof note, "%zu pings over %.1f s (%zu with the pings a stall held back), p50 %.2f ms, max %.1f ms, "
                                "%d unanswered%s; the probe's own p99 %.2f ms",
             rtt.n, (to - from) / 1000.0, all.n, sm_bench_quantile(&all, 0.5), sm_bench_quantile(&all, 1.0), lost,
             lost ? " (each counted as 10 s)" : "", sm_bench_quantile(&rtt, 0.99));
    sm_bench_report(name, sm_bench_quantile(&all, 0.99), "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS, lost > 0, note);
    snprintf(name, sizeof name, "  %s: probe ping p50", what);
    sm_bench_report(name, sm_bench_quantile(&all, 0.5), "ms", SM_BENCH_INFO, 0, false, "");
    snprintf(name, sizeof name, "  %s: probe ping max", what);
    sm_bench_report(name, sm_bench_quantile(&all, 1.0), "ms", SM_BENCH_INFO, 0, false, "");
    sm_bench_samples_free(&all);
    sm_bench_samples_free(&rtt);
}

/* ---- raw TCP hordes from chosen loopback sources ---- */

typedef struct horde {
    int *fds;
    int count;
} horde;

/* n non-blocking connects from net.host (or from net.1 .. net.250 in turn with whole_subnet); then up to wait_ms
 * for them to complete, sending `first` on each. */
static void horde_open(horde *h, int port, int n, const char *net, bool whole_subnet, int host, const char *first,
                       int wait_ms)
{
    h->fds = calloc((size_t)n, sizeof *h->fds);
    h->count = 0;
    if (!h->fds)
        return;
    for (int i = 0; i < n; i++) {
        char src[32];
        snprintf(src, sizeof src, "%s.%d", net, whole_subnet ? 1 + i % 250 : host);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        struct sockaddr_in a = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            continue;
        }
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
            close(fd);
            continue;
        }
        h->fds[h->count++] = fd;
    }
    double deadline = sm_bench_now_ms() + wait_ms;
    for (int i = 0; i < h->count && wait_ms > 0; i++) {
        if (wait_fd(h->fds[i], POLLOUT, deadline) == WSC_OK && first)
            (void)!send(h->fds[i], first, strlen(first), MSG_NOSIGNAL);
    }
}

/* Connections the server has not closed. */
static int horde_alive(const horde *h)
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

static void horde_close(horde *h)
{
    for (int i = 0; i < h->count; i++)
        close(h->fds[i]);
    free(h->fds);
    memset(h, 0, sizeof *h);
}

/* The attackers' /24: a fresh 127.A.B.0/24 per run and case (from the process ID), so that TIME_WAIT
 * sockets of earlier runs never leave the attackers short of local ports. */
static void attack_net(char *out, size_t cap, int offset)
{
    unsigned v = (unsigned)getpid();
    snprintf(out, cap, "127.%u.%u", 100 + v % 100, ((v / 100) + (unsigned)offset) % 250);
}

static char *random_ab(size_t n, unsigned *seed)
{
    char *s = malloc(n + 1);
    if (!s)
        sm_bench_die("out of memory");
    for (size_t i = 0; i < n; i++)
        s[i] = (rand_r(seed) & 1) ? 'a' : 'b';
    s[n] = '\0';
    return s;
}

static void must_open(wsc *c, int port, const char *src, const char *principal, const char *password)
{
    if (wsc_connect(c, port, src, 0, 10000) != WSC_OK)
        sm_bench_die("cannot connect a control session");
    char *m = wsc_open(c, principal, password, NULL, 10000);
    if (!m || !strstr(m, "\"opened\"")) {
        fprintf(stderr, "bench_attacks: %s did not open: %s\n", principal ? principal : "anonymous", m ? m : "-");
        sm_bench_die("control session not opened");
    }
    free(m);
}

/* ==== 1. regular expressions: hostile filters refused, the worst allowed ones over 4 KB values ==== */

/* The worst patterns the budget allows (bench/filter finds them): two per filter, both always evaluated. */
#define WORST_FILTER "(K matches '[ab]*a[ab]{58}' or all) and (K matches '(a|b)*a(a|b){58}' or all)"

static char *clause_flood(const char *pattern)
{
    size_t cap = 151 * (strlen(pattern) + 16) + 8;
    char *s = malloc(cap);
    if (!s)
        sm_bench_die("out of memory");
    size_t n = 0;
    for (int i = 0; i < 151; i++)
        n += (size_t)snprintf(s + n, cap - n, "K matches'%s'or ", pattern);
    snprintf(s + n, cap - n, "has Z");
    return s;
}

/* Opens victims [from, to) holding a random 4 KB a/b K, 100 at a time (opens pipelined). */
static int open_victims(wsc *v, int from, int to, int port, unsigned *seed)
{
    int opened = 0;
    size_t cap = VALUE_LEN + 128;
    char *props = malloc(cap);
    if (!props)
        sm_bench_die("out of memory");
    for (int base = from; base < to; base += 100) {
        int end = base + 100 < to ? base + 100 : to;
        for (int i = base; i < end; i++) {
            char src[32];
            snprintf(src, sizeof src, "127.0.0.%d", 2 + i % 8);
            char *k = random_ab(VALUE_LEN, seed);
            snprintf(props, cap, "{\"type\":\"open\",\"principal\":\"\",\"clientType\":\"C\",\"properties\":{\"K\":\"%s\"}}", k);
            free(k);
            if (wsc_connect(&v[i], port, src, 0, 10000) != WSC_OK || wsc_send(&v[i], props, 10000) != WSC_OK)
                sm_bench_die("cannot connect a victim session");
        }
        for (int i = base; i < end; i++) {
            char *m = NULL;
            int rc = wsc_recv(&v[i], 10000, &m);
            if (rc == WSC_OK && strstr(m, "\"opened\""))
                opened++;
            else
                fprintf(stderr, "bench_attacks: victim %d: %d %s\n", i, rc, m ? m : v[i].close_reason);
            free(m);
        }
    }
    free(props);
    return opened;
}

/* Sends a request that must be refused with INVALID_FILTER; the round trip, or -1 when it was accepted. */
static double refusal_ms(wsc *c, long long *id, const char *type, const char *filter)
{
    size_t cap = strlen(filter) + 256;
    char *req = malloc(cap);
    if (!req)
        sm_bench_die("out of memory");
    snprintf(req, cap, "{\"type\":\"%s\",\"id\":%lld,\"filter\":\"%s\"%s}", type, *id, filter,
             strcmp(type, "set_by_filter") == 0 ? ",\"properties\":{\"Tag\":\"x\"}" : "");
    double t0 = sm_bench_now_ms();
    char *m = wsc_request(c, req, (*id)++, 10000);
    double ms = sm_bench_now_ms() - t0;
    free(req);
    bool refused = m && strstr(m, "\"INVALID_FILTER\"");
    if (!refused)
        fprintf(stderr, "bench_attacks: %s with a hostile filter was not refused: %s\n", type, m ? m : "(no answer)");
    free(m);
    return refused ? ms : -1;
}

static void regex_round(server *s, sm_bench_probe *pr, wsc *viewer, wsc *operator, long long *id, int sessions,
                        int n_listeners, int n_sets)
{
    char what[64];
    snprintf(what, sizeof what, "regex, %d sessions", sessions);
    long rss0 = sm_proc_rss_kb(s->pid);
    double t0 = sm_bench_now_ms();

    /* the two original attacks and their variants, each refused */
    double slowest = 0;
    int accepted = 0;
    const char *floods[] = {"[^b]{0,1023}x", "[^b]{0,1000}x", "x"};
    double ms = refusal_ms(viewer, id, "add_listener", "K matches '.*a.{1000}'");
    accepted += ms < 0;
    slowest = ms > slowest ? ms : slowest;
    ms = refusal_ms(operator, id, "set_by_filter", "K matches '.*a.{1000}'");
    accepted += ms < 0;
    slowest = ms > slowest ? ms : slowest;
    for (size_t i = 0; i < sizeof floods / sizeof *floods; i++) {
        char *flood = clause_flood(floods[i]);
        ms = refusal_ms(viewer, id, "add_listener", flood);
        accepted += ms < 0;
        slowest = ms > slowest ? ms : slowest;
        ms = refusal_ms(operator, id, "set_by_filter", flood);
        accepted += ms < 0;
        slowest = ms > slowest ? ms : slowest;
        free(flood);
    }
    char name[160], note[240];
    snprintf(name, sizeof name, "%s: hostile filters refused, slowest", what);
    snprintf(note, sizeof note, "8 requests: '.*a.{1000}' and 151 clauses of [^b]{0,1023}x, [^b]{0,1000}x, x, "
                                "as listener and set_by_filter; %d not refused", accepted);
    sm_bench_report(name, slowest, "ms", SM_BENCH_AT_MOST, TARGET_REFUSAL_MS, accepted > 0, note);

    /* the worst allowed filter on as many listeners as the viewer may hold: each snapshot evaluates it over every session */
    double slowest_snapshot = 0, cpu0 = sm_proc_cpu_s(s->pid);
    long long listeners[8]; /* n_listeners <= 8, the viewer's maximum */
    int short_count = 0;
    char req[512];
    /* The listener regex budget (limits.maxListenerRegexCost*, docs/security.md) lets a session
     * hold only so many of them: the refusal of the next one is the defence, not a failure. */
    int asked = n_listeners;
    for (int i = 0; i < asked; i++) {
        snprintf(req, sizeof req, "{\"type\":\"add_listener\",\"id\":%lld,\"filter\":\"%s\"}", *id, WORST_FILTER);
        double a0 = sm_bench_now_ms();
        char *m = wsc_request(viewer, req, (*id)++, 120000);
        const char *l = m ? strstr(m, "\"listener\":") : NULL;
        if (!l && i > 0 && m && strstr(m, "LIMIT_EXCEEDED")) {
            free(m);
            n_listeners = i;
            break;
        }
        if (!l)
            sm_bench_die("the hostile listener was not added");
        listeners[i] = atoll(l + 11);
        free(m);
        long long count = -1;
        for (;;) {
            if (wsc_recv(viewer, 120000, &m) != WSC_OK)
                sm_bench_die("no snapshot_end for the hostile listener");
            const char *e = strstr(m, "\"snapshot_end\"");
            const char *c = e ? strstr(m, "\"count\":") : NULL;
            if (c)
                count = atoll(c + 8);
            free(m);
            if (e)
                break;
        }
        short_count += count < sessions;
        double took = sm_bench_now_ms() - a0;
        slowest_snapshot = took > slowest_snapshot ? took : slowest_snapshot;
    }
    double snapshot_cpu = sm_proc_cpu_s(s->pid) - cpu0;
    snprintf(name, sizeof name, "%s: worst allowed listener, slowest snapshot", what);
    snprintf(note, sizeof note, "%d listeners of %s (of %d asked: the rest refused by the listener regex budget); "
                                "server CPU %.2f ms per session and listener; %d snapshots short of %d sessions",
             n_listeners, WORST_FILTER, asked, 1000.0 * snapshot_cpu / n_listeners / sessions, short_count, sessions);
    sm_bench_report(name, slowest_snapshot, "ms", SM_BENCH_INFO, 0, short_count > 0, note);

    /* the same filter as an operator's set_by_filter over every session, three times */
    double slowest_set = 0;
    int wrong_count = 0;
    cpu0 = sm_proc_cpu_s(s->pid);
    for (int r = 0; r < n_sets; r++) {
        snprintf(req, sizeof req,
                 "{\"type\":\"set_by_filter\",\"id\":%lld,\"filter\":\"%s\",\"properties\":{\"Tag\":\"%d\"}}", *id,
                 WORST_FILTER, r);
        double a0 = sm_bench_now_ms();
        char *m = wsc_request(operator, req, (*id)++, 120000);
        const char *c = m ? strstr(m, "\"count\":") : NULL;
        wrong_count += !c || atoll(c + 8) < sessions;
        free(m);
        double took = sm_bench_now_ms() - a0;
        slowest_set = took > slowest_set ? took : slowest_set;
    }
    snprintf(name, sizeof name, "%s: worst allowed set_by_filter per session", what);
    double set_cpu = sm_proc_cpu_s(s->pid) - cpu0;
    snprintf(note, sizeof note, "slowest of %d: %.0f ms over %d sessions; server CPU %.2f ms per session; %d replies "
                                "short of the sessions",
             n_sets, slowest_set, sessions, 1000.0 * set_cpu / n_sets / sessions, wrong_count);
    sm_bench_report(name, slowest_set / sessions, "ms", SM_BENCH_AT_MOST, TARGET_EVAL_MS_PER_SESSION, wrong_count > 0,
                    note);
    double t1 = sm_bench_now_ms();
    for (int i = 0; i < n_listeners; i++) {
        snprintf(req, sizeof req, "{\"type\":\"remove_listener\",\"id\":%lld,\"listener\":%lld}", *id, listeners[i]);
        free(wsc_request(viewer, req, (*id)++, 30000));
    }
    report_ping(pr, what, t0, t1);
    long rss1 = sm_proc_rss_kb(s->pid);
    snprintf(name, sizeof name, "%s: server RSS growth", what);
    snprintf(note, sizeof note, "%ld -> %ld KiB over the attack", rss0, rss1);
    sm_bench_report(name, (double)(rss1 - rss0) / 1024.0, "MiB", SM_BENCH_AT_MOST, TARGET_REGEX_RSS_MIB,
                    rss0 < 0 || rss1 < 0, note);
}

static void case_regex(const char *sessmond, int big)
{
    printf("-- regex listeners (docs/filters.md budget), %d and %d sessions with 4 KB a/b values\n", 50, big);
    server s;
    /* Opening 1,000 sessions at once is not the attack here: the pending limits are out of the way. */
    if (!server_start(&s, sessmond, "regex",
                      "{\"limits\":{\"maxPending\":100000,\"maxPendingPerSubnet\":100000,\"maxPendingPerAddress\":100000}}",
                      0)) {
        sm_bench_missing("regex: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS, "sessmond did not start");
        return;
    }
    wsc *victims = calloc((size_t)big, sizeof *victims);
    if (!victims)
        sm_bench_die("out of memory");
    unsigned seed = 7;
    int opened = open_victims(victims, 0, 50, s.port, &seed);
    wsc viewer, operator;
    must_open(&viewer, s.port, NULL, "viewer", "viewer");
    must_open(&operator, s.port, NULL, "operator", "operator");
    sm_bench_probe pr;
    if (!probe_start(&pr, s.port))
        sm_bench_die("the probe did not connect");
    long long id = 1;
    if (opened == 50)
        regex_round(&s, &pr, &viewer, &operator, &id, 50, 8, 3);
    else
        sm_bench_missing("regex, 50 sessions: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS,
                         "the victim sessions did not open");
    if (big > 50) {
        opened += open_victims(victims, 50, big, s.port, &seed);
        if (opened == big)
            regex_round(&s, &pr, &viewer, &operator, &id, big, 8, 1);
        else
            sm_bench_missing("regex, many sessions: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS,
                             "the victim sessions did not open");
    }
    probe_stop(&pr);
    wsc_close(&viewer);
    wsc_close(&operator);
    for (int i = 0; i < big; i++)
        wsc_close(&victims[i]);
    free(victims);
    server_stop(&s);
}

/* ==== 2. login flood: wrong passwords for admin with real-cost hashes while real users log in ==== */

#define FLOOD_ATTACKERS 4
#define FLOOD_MS 12000

typedef struct flood_counts {
    long answers, auth_failed, limited, opened, other;
} flood_counts;

static void flood_attacker(int port, double until, int out)
{
    flood_counts c = {0};
    while (sm_bench_now_ms() < until) {
        wsc w;
        char *m = NULL;
        if (wsc_connect(&w, port, "127.0.0.2", 0, 10000) == WSC_OK)
            m = wsc_open(&w, "admin", "not-the-password", NULL, 10000);
        wsc_close(&w);
        if (!m)
            c.other++;
        else if (strstr(m, "\"opened\""))
            c.opened++;
        else if (strstr(m, "AUTHENTICATION_FAILED"))
            c.auth_failed++;
        else if (strstr(m, "LIMIT_EXCEEDED"))
            c.limited++;
        else
            c.other++;
        c.answers += m != NULL;
        free(m);
    }
    (void)!write(out, &c, sizeof c);
}

/* A 600,000-iteration hash (the default) from sessmond itself. */
static bool make_hash(const char *sessmond, const char *password, char *out, size_t cap)
{
    char *argv[] = {(char *)sessmond, "--hash-password", NULL};
    char input[64], text[1024];
    snprintf(input, sizeof input, "%s\n", password);
    if (run_with_input(argv, input, text, sizeof text) != 0)
        return false;
    char *h = strstr(text, "pbkdf2-sha256$600000$");
    if (!h)
        return false;
    h[strcspn(h, "\r\n")] = '\0';
    snprintf(out, cap, "%s", h);
    return true;
}

/* One real user's login; when the check budget is spent it comes back once, when told to. */
static bool user_login(int port, const char *src, const char *name, double *ms, bool *retried)
{
    double t0 = sm_bench_now_ms();
    *retried = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        wsc w;
        char *m = NULL;
        if (wsc_connect(&w, port, src, 0, 10000) == WSC_OK)
            m = wsc_open(&w, name, name, NULL, 10000);
        wsc_close(&w);
        bool ok = m && strstr(m, "\"opened\"");
        const char *in = m ? strstr(m, "retry in ") : NULL;
        if (ok || attempt == 1 || !m || !strstr(m, "too many password checks")) {
            if (!ok)
                fprintf(stderr, "bench_attacks: login %s from %s: %s\n", name, src, m ? m : "(no answer)");
            free(m);
            *ms = sm_bench_now_ms() - t0;
            return ok;
        }
        int secs = in ? atoi(in + 9) : 1;
        free(m);
        *retried = true;
        usleep((useconds_t)(secs > 0 && secs < 10 ? secs : 1) * 1000000u);
    }
    return false;
}

static void case_login_flood(const char *sessmond)
{
    printf("-- login flood: %d connections from 127.0.0.2 with wrong passwords for admin for %d s; "
           "600,000-iteration hashes\n",
           FLOOD_ATTACKERS, FLOOD_MS / 1000);
    static const char *const names[] = {"admin", "operator", "viewer", "client"};
    char hashes[4][256];
    for (int i = 0; i < 4; i++)
        if (!make_hash(sessmond, names[i], hashes[i], sizeof hashes[i])) {
            sm_bench_missing("login flood: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS,
                             "sessmond --hash-password failed");
            return;
        }
    char overrides[2048];
    snprintf(overrides, sizeof overrides,
             "{\"principals\":{\"admin\":{\"password\":\"%s\"},\"operator\":{\"password\":\"%s\"},"
             "\"viewer\":{\"password\":\"%s\"},\"client\":{\"password\":\"%s\"}}}",
             hashes[0], hashes[1], hashes[2], hashes[3]);
    server s;
    if (!server_start(&s, sessmond, "login", overrides, 0)) {
        sm_bench_missing("login flood: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS,
                         "sessmond did not start");
        return;
    }
    sm_bench_probe pr;
    if (!probe_start(&pr, s.port))
        sm_bench_die("the probe did not connect");
    double t0 = sm_bench_now_ms(), until = t0 + FLOOD_MS;
    pid_t pids[FLOOD_ATTACKERS];
    int fds[FLOOD_ATTACKERS];
    for (int i = 0; i < FLOOD_ATTACKERS; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            sm_bench_die("pipe");
        pids[i] = fork_child();
        if (pids[i] == 0) {
            close(p[0]);
            flood_attacker(s.port, until, p[1]);
            _exit(0);
        }
        close(p[1]);
        fds[i] = p[0];
    }
    usleep(1500 * 1000);
    /* first-time logins of every principal (the attacked one too) from clean addresses, one a second;
     * the second round is answered from the cache of recent successes */
    static const struct {
        const char *src, *name;
    } users[] = {
        {"127.0.0.3", "operator"}, {"127.0.0.4", "viewer"}, {"127.0.0.5", "client"}, {"127.0.0.9", "admin"},
        {"127.0.1.3", "operator"}, {"127.0.1.4", "viewer"}, {"127.0.1.5", "client"}, {"127.0.1.9", "admin"},
    };
    const int n_users = (int)(sizeof users / sizeof *users);
    int ok = 0, retries = 0;
    sm_bench_samples first = {0}, cached = {0};
    for (int i = 0; i < n_users; i++) {
        double ms = 0;
        bool retried = false;
        if (user_login(s.port, users[i].src, users[i].name, &ms, &retried))
            ok++;
        retries += retried;
        sm_bench_add(i < 4 ? &first : &cached, ms);
        if (sm_bench_now_ms() + 1000 < until)
            usleep(1000 * 1000);
    }
    flood_counts total = {0};
    for (int i = 0; i < FLOOD_ATTACKERS; i++) {
        flood_counts c = {0};
        if (read(fds[i], &c, sizeof c) != (ssize_t)sizeof c)
            c.other++;
        close(fds[i]);
        kill_tracked(pids[i]);
        total.answers += c.answers;
        total.auth_failed += c.auth_failed;
        total.limited += c.limited;
        total.opened += c.opened;
        total.other += c.other;
    }
    double t1 = sm_bench_now_ms();
    char note[240];
    snprintf(note, sizeof note, "%d of %d opened (%d after the one retry the refusal asked for)", ok, n_users, retries);
    sm_bench_report("login flood: real users' logins that succeeded", 100.0 * ok / n_users, "%", SM_BENCH_AT_LEAST,
                    100.0, false, note);
    snprintf(note, sizeof note, "median %.0f ms; cached second logins: median %.0f ms, max %.0f ms",
             sm_bench_quantile(&first, 0.5), sm_bench_quantile(&cached, 0.5), sm_bench_quantile(&cached, 1.0));
    sm_bench_report("login flood: slowest first-time login", sm_bench_quantile(&first, 1.0), "ms", SM_BENCH_AT_MOST,
                    TARGET_LOGIN_MS, false, note);
    snprintf(note, sizeof note, "%ld answers (%.1f/s): %ld AUTHENTICATION_FAILED (checked), %ld LIMIT_EXCEEDED, "
                                "%ld other, %ld opened",
             total.answers, total.answers / ((t1 - t0) / 1000.0), total.auth_failed, total.limited, total.other,
             total.opened);
    sm_bench_report("login flood: attacker's passwords checked", (double)total.auth_failed, "checks", SM_BENCH_INFO,
                    0, total.opened > 0, note);
    report_ping(&pr, "login flood", t0, t1);
    snprintf(note, sizeof note, "%lld lines naming 127.0.0.2", lines_with(s.log, "127.0.0.2"));
    sm_bench_report("login flood: server log", (double)file_size(s.log), "bytes", SM_BENCH_INFO, 0, false, note);
    sm_bench_samples_free(&first);
    sm_bench_samples_free(&cached);
    probe_stop(&pr);
    server_stop(&s);
}

/* ==== 3. idle connections: thousands that never log in, from one address and from one /24 ==== */

static void case_idle(const char *sessmond)
{
    char net[24];
    attack_net(net, sizeof net, 0);
    printf("-- idle connections from %s.0/24 (default pending limits); a client from elsewhere connects\n", net);
    server s;
    if (!server_start(&s, sessmond, "idle", NULL, 0)) {
        sm_bench_missing("idle: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS, "sessmond did not start");
        return;
    }
    sm_bench_probe pr;
    if (!probe_start(&pr, s.port))
        sm_bench_die("the probe did not connect");
    static const struct {
        int n;
        bool subnet;
        int host;
        const char *first; /* what each sends once connected */
        const char *client; /* the innocent client's address */
    } cases[] = {
        {1000, false, 2, NULL, "127.0.0.9"},
        {1000, true, 0, "GET / HTTP/1.1\r\n", "127.1.0.1"},
        {3000, false, 3, NULL, "127.0.0.9"},
        {3000, true, 0, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n", "127.1.0.1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char what[96];
        snprintf(what, sizeof what, "idle, %d from %s", cases[k].n, cases[k].subnet ? "one /24" : "one address");
        double t0 = sm_bench_now_ms();
        horde h;
        /* the 1,000s are all connected before the client tries; the 3,000s are a burst it arrives right behind */
        horde_open(&h, s.port, cases[k].n, net, cases[k].subnet, cases[k].host, cases[k].first,
                   cases[k].n == 1000 ? 3000 : 0);
        if (cases[k].n == 1000)
            usleep(300 * 1000);
        sm_bench_samples ms = {0};
        int failed = 0;
        for (int i = 0; i < 5; i++) {
            double c = connect_and_open_ms(s.port, cases[k].client, 5000);
            if (c < 0)
                failed++;
            sm_bench_add(&ms, c < 0 ? 5000 : c);
            usleep(500 * 1000); /* the tries spread over 2.5 s of the attack, so the probe sees it held */
        }
        int alive = horde_alive(&h);
        double t1 = sm_bench_now_ms();
        char name[160], note[240];
        snprintf(name, sizeof name, "%s: connect + open from %s, slowest", what, cases[k].client);
        snprintf(note, sizeof note, "5 tries, median %.1f ms, %d failed; %d of %d attacker connections made, %d still "
                                    "open",
                 sm_bench_quantile(&ms, 0.5), failed, h.count, cases[k].n, alive);
        sm_bench_report(name, sm_bench_quantile(&ms, 1.0), "ms", SM_BENCH_AT_MOST, TARGET_CONNECT_MS,
                        failed > 0 || h.count < cases[k].n * 95 / 100, note);
        sm_bench_samples_free(&ms);
        report_ping(&pr, what, t0, t1);
        horde_close(&h);
        usleep(500 * 1000);
    }
    probe_stop(&pr);
    server_stop(&s);
}

/* ==== 4. pipelined pings that are never read, from 40 `client` sessions ==== */

/* A process that reads the server's RSS every 10 ms into a pipe, so the peak is seen whenever it happens. */
static pid_t rss_sampler_start(pid_t server_pid, int *fd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        sm_bench_die("pipe");
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    pid_t pid = fork_child();
    if (pid == 0) {
        close(p[0]);
        for (;;) {
            long kb = sm_proc_rss_kb(server_pid);
            if (kb < 0 || write(p[1], &kb, sizeof kb) != (ssize_t)sizeof kb)
                _exit(0);
            usleep(10000);
        }
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    *fd = p[0];
    return pid;
}

/* Drains the sampler's pipe into *peak. */
static void rss_sampler_read(int fd, long *peak)
{
    long buf[1024];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (size_t i = 0; i < (size_t)r / sizeof *buf; i++)
            *peak = buf[i] > *peak ? buf[i] : *peak;
}

#define QUEUE_CLIENTS 40
#define QUEUE_ROUND 500

static void queue_round(const char *sessmond, const char *config_name, long queue_bytes, long total_bytes, int pings)
{
    char what[96], overrides[200];
    snprintf(what, sizeof what, "queues %ld KiB/%ld MiB", queue_bytes / 1024, total_bytes / 1048576);
    printf("-- pipelined pings: %d `client` sessions send %d pings each and never read; maxQueueBytes %ld, "
           "maxTotalQueueBytes %ld\n",
           QUEUE_CLIENTS, pings, queue_bytes, total_bytes);
    snprintf(overrides, sizeof overrides, "{\"limits\":{\"maxQueueBytes\":%ld,\"maxTotalQueueBytes\":%ld}}", queue_bytes,
             total_bytes);
    server s;
    char name[160], note[240];
    if (!server_start(&s, sessmond, config_name, overrides, 0)) {
        snprintf(name, sizeof name, "%s: probe ping p99", what);
        sm_bench_missing(name, "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS, "sessmond did not start");
        return;
    }
    static wsc cl[QUEUE_CLIENTS];
    bool open[QUEUE_CLIENTS];
    for (int i = 0; i < QUEUE_CLIENTS; i++) {
        /* a small receive buffer: the replies pile up in the server, not in the kernel */
        if (wsc_connect(&cl[i], s.port, "127.0.0.3", 4096, 10000) != WSC_OK)
            sm_bench_die("cannot connect a pipelining client");
        char *m = wsc_open(&cl[i], "client", "client", NULL, 10000);
        if (!m || !strstr(m, "\"opened\""))
            sm_bench_die("a pipelining client did not open");
        free(m);
        open[i] = true;
    }
    sm_bench_probe pr;
    if (!probe_start(&pr, s.port))
        sm_bench_die("the probe did not connect");
    usleep(300 * 1000);
    long base = sm_proc_rss_kb(s.pid), peak = base;
    int sampler_fd = -1;
    pid_t sampler = rss_sampler_start(s.pid, &sampler_fd);
    /* one buffer of QUEUE_ROUND ping frames, sent to each client in turn, so every queue grows at once */
    size_t cap = (size_t)QUEUE_ROUND * 64, len = 0;
    unsigned char *batch = malloc(cap);
    if (!batch)
        sm_bench_die("out of memory");
    for (int k = 0; k < QUEUE_ROUND; k++) {
        char ping[48];
        int pl = snprintf(ping, sizeof ping, "{\"type\":\"ping\",\"id\":%d}", 1000000 + k);
        len += sm_bench_ws_frame(batch + len, ping, (size_t)pl);
    }
    double t0 = sm_bench_now_ms();
    int stuck = 0;
    for (int sent = 0; sent < pings; sent += QUEUE_ROUND) {
        for (int i = 0; i < QUEUE_CLIENTS; i++) {
            if (!open[i])
                continue;
            int rc = wsc_send_raw(&cl[i], batch, len, 10000);
            if (rc != WSC_OK) {
                open[i] = false; /* closed by the server under us (or it stopped reading: counted) */
                stuck += rc == WSC_TIMEOUT;
            }
        }
        rss_sampler_read(sampler_fd, &peak);
    }
    free(batch);
    double t_sent = sm_bench_now_ms();
    /* every session must end: the queued replies, then the close frame (or cut off while sending) */
    int ended = 0, with_reason = 0;
    for (int i = 0; i < QUEUE_CLIENTS; i++) {
        double deadline = sm_bench_now_ms() + 8000;
        for (;;) {
            char *m = NULL;
            int rc = wsc_recv(&cl[i], (int)(deadline - sm_bench_now_ms()), &m);
            free(m);
            if (rc == WSC_OK)
                continue;
            if (rc != WSC_TIMEOUT)
                ended++;
            if (rc == WSC_CLOSED && strcmp(cl[i].close_reason, "MESSAGE_QUEUE_LIMIT_REACHED") == 0)
                with_reason++;
            break;
        }
        wsc_close(&cl[i]);
    }
    while (sm_bench_now_ms() < t0 + 1000) /* the probe's window: at least a second, even when the server was quick */
        usleep(10000);
    double t1 = sm_bench_now_ms();
    long long closes = lines_with(s.log, "MESSAGE_QUEUE_LIMIT_REACHED");
    usleep(1500 * 1000); /* queue memory is given back at most once a second */
    rss_sampler_read(sampler_fd, &peak);
    long after = sm_proc_rss_kb(s.pid);
    usleep(3500 * 1000);
    rss_sampler_read(sampler_fd, &peak);
    long after5 = sm_proc_rss_kb(s.pid);
    kill_tracked(sampler);
    close(sampler_fd);
    long bound_kb = (total_bytes < (long)QUEUE_CLIENTS * queue_bytes ? total_bytes : (long)QUEUE_CLIENTS * queue_bytes) / 1024;
    snprintf(name, sizeof name, "%s: server RSS peak over the start", what);
    snprintf(note, sizeof note, "%ld -> peak %ld KiB; target = 1.25 x min(total, %d x per-queue) = %.1f MiB; "
                                "sending took %.1f s, %d senders stalled 10 s",
             base, peak, QUEUE_CLIENTS, bound_kb * 1.25 / 1024.0, (t_sent - t0) / 1000.0, stuck);
    sm_bench_report(name, (double)(peak - base) / 1024.0, "MiB", SM_BENCH_AT_MOST, bound_kb * 1.25 / 1024.0,
                    base < 0 || peak < 0, note);
    snprintf(name, sizeof name, "%s: server RSS 5 s after they left", what);
    snprintf(note, sizeof note, "%ld KiB (start %ld KiB; 1.5 s after: +%.2f MiB); target: within one queue's limit",
             after5, base, (double)(after - base) / 1024.0);
    sm_bench_report(name, (double)(after5 - base) / 1024.0, "MiB", SM_BENCH_AT_MOST, (double)queue_bytes / 1048576.0,
                    after5 < 0, note);
    snprintf(name, sizeof name, "%s: sessions closed MESSAGE_QUEUE_LIMIT_REACHED", what);
    snprintf(note, sizeof note, "%d of %d ended within 8 s (%d with that close frame, the rest cut off)", ended,
             QUEUE_CLIENTS, with_reason);
    sm_bench_report(name, (double)closes, "sessions", SM_BENCH_AT_LEAST, QUEUE_CLIENTS, ended < QUEUE_CLIENTS, note);
    report_ping(&pr, what, t0, t1);
    probe_stop(&pr);
    server_stop(&s);
}

/* ==== 5. file descriptors used up ==== */

#define FD_LIMIT 256

static void case_fd(const char *sessmond)
{
    char net[24];
    attack_net(net, sizeof net, 1);
    printf("-- fd exhaustion: sessmond under RLIMIT_NOFILE %d:%d, %d idle connections from %s.2\n", FD_LIMIT, FD_LIMIT,
           2 * FD_LIMIT, net);
    server s;
    /* the pending limits and the handshake timeout out of the way: the connections alone use up the descriptors */
    if (!server_start(&s, sessmond, "fd",
                      "{\"limits\":{\"maxPending\":100000,\"maxPendingPerAddress\":100000,"
                      "\"maxPendingPerSubnet\":100000,\"handshakeTimeoutMs\":600000}}",
                      FD_LIMIT)) {
        sm_bench_missing("fd exhaustion: probe ping p99", "ms", SM_BENCH_AT_MOST, TARGET_PING_P99_MS,
                         "sessmond did not start");
        return;
    }
    sm_bench_probe pr;
    if (!probe_start(&pr, s.port))
        sm_bench_die("the probe did not connect");
    long long log0 = file_size(s.log);
    double t0 = sm_bench_now_ms();
    horde h;
    horde_open(&h, s.port, 2 * FD_LIMIT, net, false, 2, NULL, 3000);
    usleep(500 * 1000);
    double cpu0 = sm_proc_cpu_s(s.pid), w0 = sm_bench_now_ms();
    sleep(3);
    double cpu1 = sm_proc_cpu_s(s.pid), w1 = sm_bench_now_ms();
    int alive = horde_alive(&h);
    long fds = sm_bench_fd_count(s.pid);
    long long log1 = file_size(s.log);
    double t1 = sm_bench_now_ms();
    char note[240];
    snprintf(note, sizeof note, "over 3 s while out of descriptors (%ld open of %d); %d of %d attacker connections "
                                "still open (10 ms clock ticks)",
             fds, FD_LIMIT, alive, h.count);
    sm_bench_report("fd exhaustion: server CPU", 100.0 * (cpu1 - cpu0) / ((w1 - w0) / 1000.0), "%", SM_BENCH_AT_MOST,
                    TARGET_FD_CPU_PERCENT, cpu0 < 0 || cpu1 < 0, note);
    snprintf(note, sizeof note, "%lld lines about descriptors", lines_with(s.log, "out of file descriptors"));
    sm_bench_report("fd exhaustion: log growth", (double)(log1 - log0), "bytes", SM_BENCH_AT_MOST, TARGET_FD_LOG_BYTES,
                    log0 < 0 || log1 < 0, note);
    report_ping(&pr, "fd exhaustion (probe connected before)", t0, t1);
    horde_close(&h);
    usleep(300 * 1000);
    double ms = connect_and_open_ms(s.port, "127.0.0.9", 5000);
    sm_bench_report("fd exhaustion: connect + open once the attacker let go", ms < 0 ? 5000 : ms, "ms",
                    SM_BENCH_AT_MOST, TARGET_CONNECT_MS, ms < 0, ms < 0 ? "failed within 5 s" : "");
    probe_stop(&pr);
    server_stop(&s);
}

int main(int argc, char **argv)
{
    sm_bench_init("server", &argc, argv);
    const char *sessmond = SESSMOND_PATH;
    const char *only = NULL;
    int regex_sessions = 1000, queue_pings = 100000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--sessmond") == 0 && i + 1 < argc)
            sessmond = argv[++i];
        else if (strcmp(argv[i], "--regex-sessions") == 0 && i + 1 < argc)
            regex_sessions = atoi(argv[++i]);
        else if (strcmp(argv[i], "--queue-pings") == 0 && i + 1 < argc)
            queue_pings = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_attacks [--only regex,login,idle,queue,fd] [--sessmond PATH]\n"
                            "                     [--regex-sessions N (1000)] [--queue-pings N (100000)] [--json FILE]\n");
            return 2;
        }
    }
    if (regex_sessions < 50 || regex_sessions > 10000 || queue_pings < QUEUE_ROUND)
        sm_bench_die("bad arguments");
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 4000)
        sm_bench_die("the idle-connection case needs 4,000 open files");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/sessmond-attacks-XXXXXX");
    if (!mkdtemp(tmp_dir))
        sm_bench_die("mkdtemp");
    atexit(cleanup_at_exit);
    printf("bench_attacks: ping probe every %d ms from its own process; target p99 <= %.0f ms\n", PROBE_INTERVAL_MS,
           TARGET_PING_P99_MS);
#define WANT(name) (!only || strstr(only, name))
    if (WANT("regex"))
        case_regex(sessmond, regex_sessions);
    if (WANT("login"))
        case_login_flood(sessmond);
    if (WANT("idle"))
        case_idle(sessmond);
    if (WANT("queue")) {
        queue_round(sessmond, "queue-default", 8L << 20, 1L << 30, queue_pings);
        queue_round(sessmond, "queue-tight", 256L << 10, 4L << 20, 6000); /* the total cap binds */
    }
    if (WANT("fd"))
        case_fd(sessmond);
    return 0;
}
