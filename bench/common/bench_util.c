/* Shared by the benchmark programs: figures beside their targets with PASS/FAIL, JSON records, samples, sessmond. */
#include "bench/common/bench_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench/common/bench_ws.h"

static const char *bench_name = "bench";
static const char *json_path;
static int failures;

void sm_bench_init(const char *bench, int *argc, char **argv)
{
    bench_name = bench;
    json_path = getenv("BENCH_JSON");
    if (json_path && !*json_path)
        json_path = NULL;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && i + 1 < *argc) {
            json_path = argv[++i];
            continue;
        }
        argv[out++] = argv[i];
    }
    argv[out] = NULL;
    *argc = out;
}

double sm_bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const char *cmp_text(sm_bench_cmp cmp)
{
    return cmp == SM_BENCH_AT_MOST ? "<=" : cmp == SM_BENCH_AT_LEAST ? ">=" : "";
}

/* One JSON Lines record; cJSON does the escaping, so any name or note stays valid JSON. */
static void record(const char *name, const double *value, const char *unit, sm_bench_cmp cmp, double target,
                   const char *status, const char *note)
{
    if (!json_path)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "bench", bench_name);
    cJSON_AddStringToObject(o, "name", name);
    if (value)
        cJSON_AddNumberToObject(o, "value", *value);
    else
        cJSON_AddNullToObject(o, "value");
    cJSON_AddStringToObject(o, "unit", unit);
    if (cmp != SM_BENCH_INFO) {
        cJSON_AddStringToObject(o, "cmp", cmp_text(cmp));
        cJSON_AddNumberToObject(o, "target", target);
    }
    cJSON_AddStringToObject(o, "status", status);
    if (note && *note)
        cJSON_AddStringToObject(o, "note", note);
    cJSON_AddNumberToObject(o, "time", (double)time(NULL));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FILE *f = text ? fopen(json_path, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", text);
        fclose(f);
    } else {
        fprintf(stderr, "%s: cannot append to %s\n", bench_name, json_path);
    }
    free(text);
}

bool sm_bench_report(const char *name, double value, const char *unit, sm_bench_cmp cmp, double target,
                     bool force_fail, const char *note)
{
    bool pass = cmp == SM_BENCH_INFO || (cmp == SM_BENCH_AT_MOST ? value <= target : value >= target);
    pass = pass && !force_fail;
    const char *status = cmp == SM_BENCH_INFO && !force_fail ? "INFO" : pass ? "PASS" : "FAIL";
    char tgt[64] = "";
    if (cmp != SM_BENCH_INFO)
        snprintf(tgt, sizeof tgt, "target %s %g %s", cmp_text(cmp), target, unit);
    printf("  %-52s %10.2f %-6s %-22s %s%s%s\n", name, value, unit, tgt, status, note && *note ? "  " : "",
           note ? note : "");
    fflush(stdout);
    if (!pass)
        failures++;
    record(name, &value, unit, cmp, target, status, note);
    return pass;
}

void sm_bench_missing(const char *name, const char *unit, sm_bench_cmp cmp, double target, const char *why)
{
    char tgt[64] = "";
    if (cmp != SM_BENCH_INFO)
        snprintf(tgt, sizeof tgt, "target %s %g %s", cmp_text(cmp), target, unit);
    printf("  %-52s %10s %-6s %-22s FAIL  %s\n", name, "-", unit, tgt, why);
    fflush(stdout);
    failures++;
    record(name, NULL, unit, cmp, target, "FAIL", why);
}

int sm_bench_failures(void)
{
    return failures;
}

void sm_bench_add(sm_bench_samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            fprintf(stderr, "%s: out of memory\n", bench_name);
            exit(1);
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    s->sorted = false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sm_bench_quantile(sm_bench_samples *s, double q)
{
    if (s->n == 0)
        return 0;
    if (!s->sorted) {
        qsort(s->v, s->n, sizeof *s->v, cmp_double);
        s->sorted = true;
    }
    size_t i = (size_t)(q * (double)s->n);
    return s->v[i >= s->n ? s->n - 1 : i];
}

void sm_bench_samples_free(sm_bench_samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static char *run_capture(const char *path)
{
    int p[2];
    if (pipe(p) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl(path, path, "--print-config", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    ssize_t r;
    while (out && len < cap - 1 && (r = read(p[0], out + len, cap - len - 1)) > 0)
        len += (size_t)r;
    if (out)
        out[len] = '\0';
    close(p[0]);
    waitpid(pid, NULL, 0);
    return out;
}

pid_t sm_bench_start_sessmond(const char *path, const char *dir, int heartbeat_ms, int *port)
{
    return sm_bench_start_sessmond_args(path, dir, heartbeat_ms, NULL, port);
}

pid_t sm_bench_start_sessmond_args(const char *path, const char *dir, int heartbeat_ms, const char *const *args,
                                   int *port)
{
    char *demo = run_capture(path);
    cJSON *root = demo ? cJSON_Parse(demo) : NULL;
    free(demo);
    cJSON *limits = root ? cJSON_GetObjectItemCaseSensitive(root, "limits") : NULL;
    if (!limits) {
        fprintf(stderr, "%s: cannot get the demo configuration from sessmond --print-config\n", bench_name);
        cJSON_Delete(root);
        return -1;
    }
    if (heartbeat_ms > 0) {
        cJSON_ReplaceItemInObject(limits, "heartbeatIntervalMs", cJSON_CreateNumber(heartbeat_ms));
        cJSON_ReplaceItemInObject(limits, "heartbeatTimeoutMs", cJSON_CreateNumber(heartbeat_ms));
    }
    /* A listener receiving a 15,000-session snapshot plus live events needs room to queue. */
    cJSON_ReplaceItemInObject(limits, "maxQueueBytes", cJSON_CreateNumber(64 << 20));
    /* Thousands of handshakes in flight from a few loopback addresses: far above the defence's
     * per-source defaults (docs/security.md), which a benchmark is not attacking. */
    cJSON_ReplaceItemInObject(limits, "maxPending", cJSON_CreateNumber(100000));
    cJSON_ReplaceItemInObject(limits, "maxPendingPerSubnet", cJSON_CreateNumber(100000));
    cJSON_ReplaceItemInObject(limits, "maxPendingPerAddress", cJSON_CreateNumber(100000));
    cJSON_ReplaceItemInObject(limits, "handshakeTimeoutMs", cJSON_CreateNumber(60000));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    char cfg[600], portfile[600], log[600];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(portfile, sizeof portfile, "%s/port", dir);
    snprintf(log, sizeof log, "%s/sessmond.log", dir);
    FILE *f = fopen(cfg, "w");
    if (!f || !text) {
        free(text);
        if (f)
            fclose(f);
        return -1;
    }
    fputs(text, f);
    fclose(f);
    free(text);
    unlink(portfile);
    pid_t pid = sm_bench_fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        const char *argv[24] = {path, "--config", cfg, "--port", "0", "--bind", "127.0.0.1", "--port-file", portfile};
        int n = 9;
        for (int i = 0; args && args[i] && n < 23; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(path, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        FILE *pf = fopen(portfile, "r");
        if (pf) {
            int ok = fscanf(pf, "%d", port) == 1;
            fclose(pf);
            if (ok)
                return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        usleep(10000);
    }
    fprintf(stderr, "%s: sessmond did not start (log in %s)\n", bench_name, log);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

bool sm_bench_stop(pid_t pid)
{
    if (pid <= 0)
        return false;
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) && WEXITSTATUS(st) == 0;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return false;
}

long sm_bench_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

double sm_bench_runqueue_wait_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long run = 0, wait = 0;
    int ok = fscanf(f, "%llu %llu", &run, &wait) == 2;
    fclose(f);
    return ok ? (double)wait / 1e9 : -1;
}

long long sm_bench_write_calls(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%ld/io", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "syscw: %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

void sm_bench_probe_spawn(sm_bench_probe *pr, pid_t (*fork_child)(void), void (*child)(int port, int out), int port)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        sm_bench_die("pipe");
    /* a stalled bench must not block the probe: 1 MiB holds minutes of samples */
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    pr->pid = fork_child();
    if (pr->pid < 0)
        sm_bench_die("fork");
    if (pr->pid == 0) {
        close(p[0]);
        child(port, p[1]);
        _exit(0);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    pr->fd = p[0];
}

void sm_bench_probe_drain(sm_bench_probe *pr)
{
    sm_bench_probe_sample buf[512];
    ssize_t r;
    while ((r = read(pr->fd, buf, sizeof buf)) > 0) {
        size_t k = (size_t)r / sizeof *buf;
        if (pr->n + k > pr->cap) {
            pr->cap = (pr->n + k) * 2;
            pr->v = realloc(pr->v, pr->cap * sizeof *pr->v);
            if (!pr->v)
                sm_bench_die("out of memory");
        }
        memcpy(pr->v + pr->n, buf, k * sizeof *buf);
        pr->n += k;
    }
}

pid_t sm_bench_fork(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
    }
    return pid;
}
