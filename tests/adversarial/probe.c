/* A latency probe for the adversarial tests: a process that pings sessmond as an innocent client while an attack runs. */
#include "probe.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsraw.h"

#define PROBE_MAX_SAMPLES 100000
#define PROBE_REPLY_TIMEOUT_MS 10000

double sm_probe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double sm_probe_contention(void)
{
    double wall = sm_probe_now_ms(), cpu = cpu_ms();
    volatile uint64_t x = 1;
    while (cpu_ms() - cpu < 100.0)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005u + 1442695040888963407u;
    double factor = (sm_probe_now_ms() - wall) / (cpu_ms() - cpu);
    return factor < 1.0 ? 1.0 : factor;
}

static volatile sig_atomic_t probe_stop;

static void on_term(int sig)
{
    (void)sig;
    probe_stop = 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarise(double *rtt, int n, sm_probe_stats *st)
{
    st->pings = n;
    if (n == 0)
        return;
    qsort(rtt, (size_t)n, sizeof *rtt, cmp_double);
    st->p50_ms = rtt[n / 2];
    int i99 = (int)((double)n * 0.99);
    st->p99_ms = rtt[i99 >= n ? n - 1 : i99];
    st->max_ms = rtt[n - 1];
}

/* Waits for the reply carrying id; other messages (events, heartbeats) are skipped. */
static bool await_reply(sm_ws *ws, long long id, double deadline)
{
    char want[48];
    snprintf(want, sizeof want, "\"id\":%lld", id);
    for (;;) {
        int left = (int)(deadline - sm_probe_now_ms());
        if (left <= 0 || probe_stop)
            return false;
        sm_ws_message m;
        /* Short reads so that SIGTERM ends the probe promptly. */
        int rc = sm_ws_read_message(ws, &m, left < 200 ? left : 200);
        if (rc == SM_WS_TIMEOUT)
            continue;
        if (rc != SM_WS_OK)
            return false;
        bool hit = strstr(m.data, want) != NULL;
        free(m.data);
        if (hit)
            return true;
    }
}

static void probe_main(int port, const char *src, int interval_ms, int out_fd)
{
    sm_probe_stats st;
    memset(&st, 0, sizeof st);
    double *rtt = malloc(sizeof *rtt * PROBE_MAX_SAMPLES);
    sm_ws ws;
    sm_ws_opts o = {.host = "127.0.0.1", .port = port, .source_addr = src, .timeout_ms = 10000};
    if (rtt && sm_ws_connect(&ws, &o) == SM_WS_OK) {
        char *opened = sm_ws_open_session(&ws, NULL, NULL, NULL, 10000);
        st.connected = opened != NULL;
        free(opened);
    } else {
        ws.fd = -1;
    }
    int n = 0;
    long long id = 1;
    while (st.connected && !probe_stop && n < PROBE_MAX_SAMPLES) {
        double t0 = sm_probe_now_ms();
        if (sm_ws_send_textf(&ws, "{\"type\":\"ping\",\"id\":%lld}", id) != SM_WS_OK) {
            st.failures++;
            break;
        }
        if (!await_reply(&ws, id, t0 + PROBE_REPLY_TIMEOUT_MS)) {
            if (probe_stop)
                break;
            st.failures++;
            break;
        }
        rtt[n++] = sm_probe_now_ms() - t0;
        id++;
        double rest = interval_ms - (sm_probe_now_ms() - t0);
        if (rest > 0 && !probe_stop)
            usleep((useconds_t)(rest * 1000.0));
    }
    summarise(rtt, n, &st);
    if (write(out_fd, &st, sizeof st) != (ssize_t)sizeof st)
        _exit(1);
    sm_ws_close(&ws);
    free(rtt);
}

int sm_probe_start(sm_probe *p, int port, const char *src, int interval_ms)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        probe_main(port, src, interval_ms, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    p->pid = pid;
    p->result_fd = fds[0];
    return 0;
}

int sm_probe_stop(sm_probe *p, sm_probe_stats *out)
{
    memset(out, 0, sizeof *out);
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    ssize_t got = read(p->result_fd, out, sizeof *out);
    close(p->result_fd);
    int status;
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return got == (ssize_t)sizeof *out ? 0 : -1;
}

double sm_probe_connect_ms(int port, const char *src, int timeout_ms)
{
    double t0 = sm_probe_now_ms();
    sm_ws ws;
    sm_ws_opts o = {.host = "127.0.0.1", .port = port, .source_addr = src, .timeout_ms = timeout_ms};
    double result = -1;
    if (sm_ws_connect(&ws, &o) == SM_WS_OK) {
        int left = timeout_ms - (int)(sm_probe_now_ms() - t0);
        char *opened = left > 0 ? sm_ws_open_session(&ws, NULL, NULL, NULL, left) : NULL;
        if (opened)
            result = sm_probe_now_ms() - t0;
        free(opened);
    }
    sm_ws_close(&ws);
    return result;
}
