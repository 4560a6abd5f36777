/* Benchmark of cluster mode: 5 sessmond nodes x 15,000 real sessions through one redis-server (docs/cluster.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bench/common/bench_util.h"
#include "bench/common/bench_ws.h"
#include "core/proc.h"

#define MAX_NODES 8
#define TARGET_SNAPSHOT_MS 1000.0
#define TARGET_SET_MS 50.0
#define TARGET_P99_MS 5.0
#define TARGET_NODE_KB 3.0
#define TARGET_REDIS_BYTES 1024.0
#define REQUEST_TIMEOUT_MS 1000 /* the cluster default (docs/config.md) */
#define CHANGE_RATE 5000        /* changes per second, cluster-wide */
#define LATENCY_SECONDS 5
#define MAX_IN_FLIGHT 1000

static int nodes = 5, per_node = 15000;
static bool only_latency;  /* --only latency: the latency case alone (after the sessions and memory) */
static int latency_runs = 1;
static pid_t node_pid[MAX_NODES];
static int node_port[MAX_NODES];
static pid_t redis_pid;
static int redis_port;
static long long next_id = 100;

/* ---- redis-server ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &sl) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void start_redis(void)
{
    redis_port = free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", redis_port);
    redis_pid = sm_bench_fork();
    if (redis_pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 1);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        int fd = sm_bench_tcp_connect(redis_port, NULL, false);
        if (fd >= 0) {
            close(fd);
            return;
        }
        usleep(10000);
    }
    sm_bench_die("redis-server did not start");
}

/* used_memory of redis-server, bytes (-1 when unknown). */
static long long redis_used_memory(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %d INFO memory", redis_port);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[256];
    long long v = -1;
    while (fgets(line, sizeof line, p))
        if (strncmp(line, "used_memory:", 12) == 0)
            v = atoll(line + 12);
    pclose(p);
    return v;
}

/* ---- the sessions of one node, held by a child process ---- */

static int node_open_text(char *out, size_t cap, int idx, void *arg)
{
    const int *node = arg;
    return snprintf(out, cap,
                    "{\"type\":\"open\",\"principal\":\"\",\"clientType\":\"C\","
                    "\"environment\":\"C_bench\",\"properties\":{\"Bench\":\"yes\","
                    "\"Node\":\"%d\",\"P1\":\"v%d\"}}",
                    *node, idx);
}

static int open_sessions(sm_bench_conn *cs, int n, int port, int node)
{
    /* Eight source addresses of its own per node: a source address's ephemeral ports are taken at
     * bind time whatever the destination, and a previous run's TIME_WAIT sockets still hold some. */
    char sources[8][24];
    const char *source_list[8];
    for (int i = 0; i < 8; i++) {
        snprintf(sources[i], sizeof sources[i], "127.0.%d.%d", 10 + node, 2 + i);
        source_list[i] = sources[i];
    }
    return sm_bench_open_sessions(cs, n, port, source_list, 8, MAX_IN_FLIGHT, 180000, node_open_text, &node);
}

/* Forks a holder of n sessions on port; it reports the count through *pipe_rd, then waits to die. */
static pid_t start_holder(int port, int node, int *pipe_rd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        sm_bench_die("pipe");
    pid_t pid = sm_bench_fork();
    if (pid == 0) {
        close(p[0]);
        /* Connections that failed (a busy machine: SYN queue full, a slow handshake) are retried. */
        int done = 0;
        for (int pass = 0; pass < 4 && done < per_node; pass++) {
            sm_bench_conn *cs = calloc((size_t)(per_node - done), sizeof *cs);
            done += cs ? open_sessions(cs, per_node - done, port, node) : 0;
        }
        if (write(p[1], &done, sizeof done) != (ssize_t)sizeof done)
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    *pipe_rd = p[0];
    return pid;
}

/* ---- control requests ---- */

static char *request(sm_bench_ctl *c, double *ms, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *request(sm_bench_ctl *c, double *ms, const char *fmt, ...)
{
    char body[1024], text[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    long long id = next_id++;
    snprintf(text, sizeof text, "{\"id\":%lld,%s", id, body + 1);
    char *reply = NULL;
    double t = sm_bench_ctl_request(c, text, id, &reply);
    if (ms)
        *ms = t;
    return reply;
}

static long long json_int(const char *text, const char *key)
{
    cJSON *o = cJSON_Parse(text);
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
    cJSON_Delete(o);
    return r;
}

/* The `missing` names of a reply or snapshot_end, comma-separated ("" when none). */
static void json_missing(const char *text, char *out, size_t cap)
{
    out[0] = '\0';
    cJSON *o = cJSON_Parse(text);
    const cJSON *m = o ? cJSON_GetObjectItemCaseSensitive(o, "missing") : NULL, *it;
    size_t used = 0;
    cJSON_ArrayForEach(it, m) if (cJSON_IsString(it) && used + strlen(it->valuestring) + 2 < cap) used +=
        (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "", it->valuestring);
    cJSON_Delete(o);
}

typedef struct snapshot_result {
    double ms;
    long long count;
    char missing[128];
    long long listener;
} snapshot_result;

/* Adds a listener on c and reads until its snapshot_end; the listener stays (caller removes it). */
/* Session IDs by node (collected from one snapshot) and each node's ID prefix. */
static char **node_ids[MAX_NODES];
static size_t node_nids[MAX_NODES];
static char node_prefix[MAX_NODES][9];

static snapshot_result snapshot(sm_bench_ctl *c, const char *extra, bool collect)
{
    snapshot_result r = {0};
    double t0 = sm_bench_ws_now_ms();
    char *reply = request(c, NULL, "{\"type\":\"add_listener\",\"filter\":\"Bench is 'yes'\"%s}", extra);
    r.listener = json_int(reply, "listener");
    free(reply);
    char want[64];
    snprintf(want, sizeof want, "\"listener\":%lld,", r.listener);
    for (;;) {
        char *m = sm_bench_ctl_recv(c, 30000);
        if (!m) {
            r.ms = -1;
            return r;
        }
        if (collect && strstr(m, "\"events\"")) {
            cJSON *o = cJSON_Parse(m), *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "events"))
            {
                const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "session");
                for (int i = 0; cJSON_IsString(s) && i < nodes; i++)
                    if (strncmp(s->valuestring, node_prefix[i], 8) == 0 && node_nids[i] < (size_t)per_node)
                        node_ids[i][node_nids[i]++] = strdup(s->valuestring);
            }
            cJSON_Delete(o);
        }
        if (strstr(m, "\"snapshot_end\"") && strstr(m, want)) {
            r.ms = sm_bench_ws_now_ms() - t0;
            r.count = json_int(m, "count");
            json_missing(m, r.missing, sizeof r.missing);
            free(m);
            return r;
        }
        free(m);
    }
}

static void remove_listener(sm_bench_ctl *c, long long l)
{
    free(request(c, NULL, "{\"type\":\"remove_listener\",\"listener\":%lld}", l));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void min_med_max(double *v, int n, double *mn, double *md, double *mx)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *mn = v[0];
    *md = v[n / 2];
    *mx = v[n - 1];
}

/* ---- the change feeder: one process, one control session per node, CHANGE_RATE sets per second
 * cluster-wide, spread evenly over the nodes, each on a session of the node it is sent to ---- */

static pid_t start_feeder(int rate, int seconds)
{
    pid_t pid = sm_bench_fork();
    if (pid != 0)
        return pid;
    sm_bench_ctl c[MAX_NODES];
    for (int i = 0; i < nodes; i++) {
        sm_bench_ctl_open(&c[i], node_port[i]);
        fcntl(c[i].fd, F_SETFL, fcntl(c[i].fd, F_GETFL) | O_NONBLOCK);
    }
    double start = sm_bench_ws_now_ms();
    long long sent = 0;
    unsigned rnd = (unsigned)getpid();
    char junk[65536];
    while (sm_bench_ws_now_ms() - start < seconds * 1000.0) {
        double due = (sm_bench_ws_now_ms() - start) * rate / 1000.0;
        while (sent < (long long)due) {
            int n = (int)(sent % nodes);
            rnd = rnd * 1103515245u + 12345u;
            char req[256];
            int len = snprintf(req, sizeof req,
                               "{\"type\":\"set\",\"id\":%lld,\"sessionId\":\"%s\",\"properties\":{\"T\":\"%.3f\"}}",
                               sent + 1, node_ids[n][(rnd >> 8) % node_nids[n]], sm_bench_ws_now_ms());
            unsigned char frame[300];
            size_t fl = sm_bench_ws_frame(frame, req, (size_t)len);
            if (send(c[n].fd, frame, fl, MSG_NOSIGNAL) != (ssize_t)fl)
                _exit(1); /* a full socket buffer at this rate means the node stopped reading */
            sent++;
        }
        /* Replies are read and dropped, so the nodes' queues for these sessions stay small. */
        for (int i = 0; i < nodes; i++)
            while (recv(c[i].fd, junk, sizeof junk, 0) > 0) {
            }
        usleep(1000);
    }
    _exit(0);
}

/* ---- the machine's own floor: the latency path's hops with no work in them ----
 * feeder -> node N -> redis-server -> node 1 -> listener is four hops through three processes.
 * The same four hops through three relay processes that only pass 8-byte timestamps on, run
 * beside the latency case, show what the machine's scheduling alone costs at that moment: when
 * its p99 is above the target, no server can meet the target on this machine just then. */

#define FLOOR_HOPS 4
#define FLOOR_RATE 200

typedef struct floor_chain {
    pid_t pids[FLOOR_HOPS + 1];
    int result_fd;
} floor_chain;

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            _exit(1);
        p += w;
        len -= (size_t)w;
    }
}

static void floor_relay(int in, int out)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        write_all(out, buf, (size_t)n);
    _exit(0);
}

static void floor_receiver(int in, int result)
{
    sm_bench_samples lat = {0};
    char buf[4096];
    size_t have = 0;
    ssize_t n;
    while ((n = read(in, buf + have, sizeof buf - have)) > 0) {
        double now = sm_bench_now_ms();
        have += (size_t)n;
        size_t whole = have / sizeof(double) * sizeof(double);
        for (size_t off = 0; off < whole; off += sizeof(double)) {
            double t;
            memcpy(&t, buf + off, sizeof t);
            sm_bench_add(&lat, now - t);
        }
        memmove(buf, buf + whole, have - whole);
        have -= whole;
    }
    double out[3] = {(double)lat.n, sm_bench_quantile(&lat, 0.5), sm_bench_quantile(&lat, 0.99)};
    write_all(result, out, sizeof out);
    _exit(0);
}

static void floor_sender(int out, int seconds)
{
    double start = sm_bench_now_ms();
    long long sent = 0;
    while (sm_bench_now_ms() - start < seconds * 1000.0) {
        double due = (sm_bench_now_ms() - start) * FLOOR_RATE / 1000.0;
        for (; sent < (long long)due; sent++) {
            double t = sm_bench_now_ms();
            write_all(out, &t, sizeof t);
        }
        usleep(1000);
    }
    _exit(0);
}

static void floor_start(floor_chain *fc, int seconds)
{
    int links[FLOOR_HOPS][2], result[2];
    if (pipe2(result, O_CLOEXEC) != 0)
        sm_bench_die("pipe");
    for (int i = 0; i < FLOOR_HOPS; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, links[i]) != 0)
            sm_bench_die("socketpair");
    /* Process i writes into link i and reads link i - 1: 0 the sender, FLOOR_HOPS the receiver. */
    for (int i = 0; i <= FLOOR_HOPS; i++) {
        fc->pids[i] = sm_bench_fork();
        if (fc->pids[i] != 0)
            continue;
        for (int j = 0; j < FLOOR_HOPS; j++) {
            if (j != i)
                close(links[j][0]);
            if (j != i - 1)
                close(links[j][1]);
        }
        close(result[0]);
        if (i == 0)
            floor_sender(links[0][0], seconds);
        else if (i == FLOOR_HOPS)
            floor_receiver(links[i - 1][1], result[1]);
        else
            floor_relay(links[i - 1][1], links[i][0]);
    }
    for (int j = 0; j < FLOOR_HOPS; j++) {
        close(links[j][0]);
        close(links[j][1]);
    }
    close(result[1]);
    fc->result_fd = result[0];
}

/* Fills count, p50, p99 (all 0 when the chain failed). */
static void floor_finish(floor_chain *fc, double out[3])
{
    if (read(fc->result_fd, out, 3 * sizeof(double)) != (ssize_t)(3 * sizeof(double)))
        out[0] = out[1] = out[2] = 0;
    close(fc->result_fd);
    for (int i = 0; i <= FLOOR_HOPS; i++)
        waitpid(fc->pids[i], NULL, 0);
}

/* Time the main thread of a process has spent on a CPU and runnable but waiting for one, ms
 * (/proc/PID/schedstat; both 0 when unknown). The waiting is where a loaded machine's latency goes. */
static void sched_times_ms(pid_t pid, double *on_cpu, double *waited)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long run = 0, wait = 0;
    if (!f || fscanf(f, "%llu %llu", &run, &wait) != 2)
        run = wait = 0;
    if (f)
        fclose(f);
    *on_cpu = (double)run / 1e6;
    *waited = (double)wait / 1e6;
}

/* One run of the latency case: CHANGE_RATE changes/s for LATENCY_SECONDS spread over every node, a
 * listener on node 1 (ctl). Judged: node N -> node 1 (crosses Redis). Node 1's own changes reach
 * the same listener without Redis: the difference between the two is the cost of the Redis hop. */
static void latency_case(sm_bench_ctl *ctl, int run)
{
    snapshot_result sr = snapshot(ctl, ",\"keys\":[\"T\"]", false);
    for (int i = 0; i < nodes; i++)
        if (!node_nids[i])
            sm_bench_die("no session IDs of a node were collected");
    pid_t watched[4] = {getpid(), node_pid[0], node_pid[nodes - 1], redis_pid};
    double waited[4], cpu[4];
    for (int i = 0; i < 4; i++)
        sched_times_ms(watched[i], &cpu[i], &waited[i]);
    pid_t feeder = start_feeder(CHANGE_RATE, LATENCY_SECONDS);
    floor_chain fc;
    floor_start(&fc, LATENCY_SECONDS);
    sm_bench_samples by_node[MAX_NODES] = {{0}}, all = {0};
    double end = sm_bench_now_ms() + LATENCY_SECONDS * 1000.0 + 500;
    while (sm_bench_now_ms() < end) {
        char *m = sm_bench_ctl_recv(ctl, 200);
        if (!m)
            continue;
        double now = sm_bench_ws_now_ms();
        cJSON *o = cJSON_Parse(m), *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "events"))
        {
            const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "properties");
            const cJSON *t = p ? cJSON_GetObjectItemCaseSensitive(p, "T") : NULL;
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "session");
            if (!cJSON_IsString(t) || !cJSON_IsString(s))
                continue;
            double lat = now - atof(t->valuestring);
            sm_bench_add(&all, lat);
            for (int i = 0; i < nodes; i++)
                if (strncmp(s->valuestring, node_prefix[i], 8) == 0)
                    sm_bench_add(&by_node[i], lat);
        }
        cJSON_Delete(o);
        free(m);
    }
    for (int i = 0; i < 4; i++) {
        double c, w;
        sched_times_ms(watched[i], &c, &w);
        cpu[i] = c - cpu[i];
        waited[i] = w - waited[i];
    }
    waitpid(feeder, NULL, 0);
    double floor[3];
    floor_finish(&fc, floor);
    remove_listener(ctl, sr.listener);
    sm_bench_samples *last = &by_node[nodes - 1];
    char note[768];
    int used = snprintf(note, sizeof note, "run %d of %d; node %d -> listener on node 1 at %d changes/s cluster-wide: "
                        "%zu events, p50 %.2f / p99 %.2f / max %.2f ms; by node (p50/p99):",
                        run + 1, latency_runs, nodes, CHANGE_RATE, last->n, sm_bench_quantile(last, 0.5),
                        sm_bench_quantile(last, 0.99), sm_bench_quantile(last, 1.0));
    for (int i = 0; i < nodes && used > 0 && (size_t)used < sizeof note; i++)
        used += snprintf(note + used, sizeof note - (size_t)used, " n%d%s %.2f/%.2f", i + 1, i ? "" : " (local)",
                         sm_bench_quantile(&by_node[i], 0.5), sm_bench_quantile(&by_node[i], 0.99));
    if (used > 0 && (size_t)used < sizeof note)
        snprintf(note + used, sizeof note - (size_t)used, "; CPU used / waited for a CPU (run queue) meanwhile: "
                 "bench %.0f/%.0f, n1 %.0f/%.0f, n%d %.0f/%.0f, redis %.0f/%.0f ms", cpu[0], waited[0], cpu[1],
                 waited[1], nodes, cpu[2], waited[2], cpu[3], waited[3]);
    used = (int)strlen(note);
    if ((size_t)used < sizeof note)
        snprintf(note + used, sizeof note - (size_t)used, "; machine floor meanwhile (%d hops through %d idle relay "
                 "processes, %d msgs/s): p50 %.2f / p99 %.2f ms", FLOOR_HOPS, FLOOR_HOPS - 1, FLOOR_RATE, floor[1],
                 floor[2]);
    bool enough = all.n >= (size_t)(CHANGE_RATE * LATENCY_SECONDS * 9 / 10);
    /* Names stay those of a single run (what comparisons of JSON files key on); later runs say which. */
    char name99[80], name50[80], suffix[24] = "";
    if (run > 0)
        snprintf(suffix, sizeof suffix, " (run %d)", run + 1);
    snprintf(name99, sizeof name99, "event latency p99, node %d -> node 1%s", nodes, suffix);
    snprintf(name50, sizeof name50, "event latency p50, node %d -> node 1%s", nodes, suffix);
    sm_bench_report(name99, sm_bench_quantile(last, 0.99), "ms", SM_BENCH_AT_MOST, TARGET_P99_MS,
                    !enough || last->n == 0, note);
    sm_bench_report(name50, sm_bench_quantile(last, 0.5), "ms", SM_BENCH_INFO, 0, false, note);
    char floor_name[96];
    snprintf(floor_name, sizeof floor_name, "machine floor p99, %d idle hops%s", FLOOR_HOPS, suffix);
    snprintf(note, sizeof note, "the latency path's %d hops through %d relay processes doing no work, %d msgs/s, "
             "during the latency run: %.0f messages, p50 %.2f / p99 %.2f ms (scheduling alone; above the target, "
             "no server meets it on this machine at that moment)", FLOOR_HOPS, FLOOR_HOPS - 1, FLOOR_RATE, floor[0],
             floor[1], floor[2]);
    sm_bench_report(floor_name, floor[2], "ms", SM_BENCH_INFO, 0, false, note);
    for (int i = 0; i < nodes; i++)
        sm_bench_samples_free(&by_node[i]);
    sm_bench_samples_free(&all);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
    sm_bench_init("cluster", &argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            per_node = atoi(argv[++i]);
        else if (strcmp(argv[i], "-N") == 0 && i + 1 < argc)
            nodes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && strcmp(argv[i + 1], "latency") == 0)
            only_latency = (++i, true);
        else if (strcmp(argv[i], "--latency-runs") == 0 && i + 1 < argc)
            latency_runs = atoi(argv[++i]);
        else
            nodes = 0; /* unknown argument: usage */
    }
    if (nodes < 2 || nodes > MAX_NODES || per_node < 1 || per_node > 18000 || latency_runs < 1 || latency_runs > 20)
        sm_bench_die("usage: bench_cluster [-N nodes 2..8] [-n sessions per node 1..18000] [--only latency] "
                     "[--latency-runs 1..20]");
    signal(SIGPIPE, SIG_IGN);
    long long total = (long long)nodes * per_node;
    char dir[] = "/tmp/sessmon-bench-cluster-XXXXXX";
    if (!mkdtemp(dir))
        sm_bench_die("mkdtemp");
    start_redis();
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", redis_port);
    long long redis_before = redis_used_memory();
    long rss_before[MAX_NODES];
    for (int i = 0; i < nodes; i++) {
        char nd[128], name[16];
        snprintf(nd, sizeof nd, "%s/n%d", dir, i + 1);
        mkdir(nd, 0700);
        snprintf(name, sizeof name, "n%d", i + 1);
        const char *args[] = {"--cluster-redis", url, "--node", name, NULL};
        node_pid[i] = sm_bench_start_sessmond_args(SESSMOND_PATH, nd, 3600000, args, &node_port[i]);
        if (node_pid[i] < 0)
            sm_bench_die("a node did not start");
    }
    usleep(1500000); /* introductions (W) between the nodes */
    for (int i = 0; i < nodes; i++)
        rss_before[i] = sm_proc_rss_kb((int)node_pid[i]);

    printf("opening %d x %d sessions...\n", nodes, per_node);
    fflush(stdout);
    double t0 = sm_bench_now_ms();
    int pipes[MAX_NODES];
    pid_t holders[MAX_NODES];
    for (int i = 0; i < nodes; i++)
        holders[i] = start_holder(node_port[i], i + 1, &pipes[i]);
    long long opened = 0;
    int node_opened[MAX_NODES];
    for (int i = 0; i < nodes; i++) {
        int done = 0;
        if (read(pipes[i], &done, sizeof done) != (ssize_t)sizeof done)
            done = 0;
        node_opened[i] = done;
        opened += done;
    }
    double open_s = (sm_bench_now_ms() - t0) / 1000.0;
    char note[256];
    snprintf(note, sizeof note, "%lld of %lld sessions open in %.1f s (%d holder processes, sources 127.0.1N.2-9 for node N)",
             opened, total, open_s, nodes);
    sm_bench_report("sessions open", (double)opened, "sessions", SM_BENCH_AT_LEAST, (double)total, false, note);
    usleep(500000);

    /* Memory. */
    double worst_kb = 0;
    char per[160] = "";
    size_t pu = 0;
    for (int i = 0; i < nodes; i++) {
        double kb = (double)(sm_proc_rss_kb((int)node_pid[i]) - rss_before[i]) / per_node;
        if (kb > worst_kb)
            worst_kb = kb;
        pu += (size_t)snprintf(per + pu, sizeof per - pu, "%s%.2f", i ? " " : "", kb);
    }
    snprintf(note, sizeof note, "RSS growth / sessions, worst node; each node: %s KB", per);
    sm_bench_report("memory per session, node", worst_kb, "KB", SM_BENCH_AT_MOST, TARGET_NODE_KB, false, note);
    long long redis_after = redis_used_memory();
    double redis_per = redis_before >= 0 && redis_after >= 0 ? (double)(redis_after - redis_before) / (double)total : -1;
    snprintf(note, sizeof note, "redis used_memory %lld -> %lld bytes for %lld sessions (Redis holds no session data)",
             redis_before, redis_after, total);
    sm_bench_report("memory per session, Redis", redis_per < 0 ? 0 : redis_per, "bytes", SM_BENCH_AT_MOST,
                    TARGET_REDIS_BYTES, redis_per < 0, note);

    /* Snapshot of every session through node 1; the first also collects the IDs of each node. */
    sm_bench_ctl ctl;
    sm_bench_ctl_open(&ctl, node_port[0]);
    char ***ids = node_ids;
    size_t *nids = node_nids;
    char (*prefix)[9] = node_prefix;
    for (int i = 0; i < nodes; i++)
        ids[i] = calloc((size_t)per_node, sizeof *ids[i]);
    /* Node prefixes: the first session ID each node gave (its holder's sessions). */
    for (int i = 0; i < nodes; i++) {
        sm_bench_ctl c;
        sm_bench_ctl_open(&c, node_port[i]);
        char *r = request(&c, NULL, "{\"type\":\"add_listener\",\"filter\":\"Node is '%d'\",\"keys\":[]}", i + 1);
        free(r);
        prefix[i][0] = '\0';
        for (int k = 0; k < 1000 && !prefix[i][0]; k++) {
            char *m = sm_bench_ctl_recv(&c, 10000);
            if (!m)
                break;
            char *s = strstr(m, "\"session\":\"");
            if (s)
                snprintf(prefix[i], sizeof prefix[i], "%.8s", s + 11);
            free(m);
        }
        sm_bench_ctl_close(&c);
    }
    double mn, md, mx;
    snapshot_result sr = {0};
    if (!only_latency) {
        double snaps[3];
        bool snap_ok = true;
        for (int run = 0; run < 3; run++) {
            sr = snapshot(&ctl, "", false);
            snaps[run] = sr.ms;
            snap_ok = snap_ok && sr.ms >= 0 && sr.count == opened && !sr.missing[0];
            remove_listener(&ctl, sr.listener);
            usleep(300000);
        }
        min_med_max(snaps, 3, &mn, &md, &mx);
        snprintf(note, sizeof note, "listener on node 1, snapshot of every node's sessions: min %.0f / median %.0f / max "
                 "%.0f ms; last count %lld%s", mn, md, mx, sr.count, snap_ok ? "" : " (count wrong or nodes missing)");
        sm_bench_report("snapshot of all sessions via node 1", md, "ms", SM_BENCH_AT_MOST, TARGET_SNAPSHOT_MS, !snap_ok,
                        note);
    }
    snapshot_result q = snapshot(&ctl, "", true);
    remove_listener(&ctl, q.listener);

    if (!only_latency) {
        /* set_by_filter over every session of the cluster. */
        double sets[7];
        bool set_ok = true;
        for (int run = 0; run < 7; run++) {
            char *r = request(&ctl, &sets[run],
                              "{\"type\":\"set_by_filter\",\"filter\":\"Bench is 'yes'\",\"properties\":{\"Round\":\"r%d\"}}",
                              run);
            set_ok = set_ok && json_int(r, "count") == opened;
            free(r);
            usleep(200000);
        }
        min_med_max(sets, 7, &mn, &md, &mx);
        snprintf(note, sizeof note, "matching all %lld, cluster total returned: min %.1f / median %.1f / max %.1f ms (7 runs)%s",
                 opened, mn, md, mx, set_ok ? "" : " (a count was not the total)");
        sm_bench_report("set_by_filter over all sessions", md, "ms", SM_BENCH_AT_MOST, TARGET_SET_MS, !set_ok, note);
    }
    /* Event latency: changes on every node (node 5's measured), a listener on node 1. */
    for (int run = 0; run < latency_runs; run++)
        latency_case(&ctl, run);

    if (!only_latency) {
        /* One node frozen: answers within the documented bound, naming it, with the others' data. */
        int frozen = nodes >= 3 ? 2 : 1;
        char frozen_name[16];
        snprintf(frozen_name, sizeof frozen_name, "n%d", frozen + 1);
        kill(node_pid[frozen], SIGSTOP);
        sr = snapshot(&ctl, "", false);
        bool fz_ok = sr.ms >= 0 && sr.count == opened - node_opened[frozen] && strstr(sr.missing, frozen_name);
        snprintf(note, sizeof note, "%s frozen (SIGSTOP): count %lld, missing [%s]; bound = snapshot + requestTimeoutMs "
                 "(%d ms) without progress", frozen_name, sr.count, sr.missing, REQUEST_TIMEOUT_MS);
        sm_bench_report("snapshot with a frozen node", sr.ms, "ms", SM_BENCH_AT_MOST, TARGET_SNAPSHOT_MS + REQUEST_TIMEOUT_MS,
                        !fz_ok, note);
        remove_listener(&ctl, sr.listener);
        double fset;
        char *r = request(&ctl, &fset,
                          "{\"type\":\"set_by_filter\",\"filter\":\"Bench is 'yes'\",\"properties\":{\"Round\":\"frozen\"}}");
        char missing[128];
        json_missing(r, missing, sizeof missing);
        long long fcount = json_int(r, "count");
        free(r);
        fz_ok = fcount == opened - node_opened[frozen] && strstr(missing, frozen_name);
        snprintf(note, sizeof note, "count %lld (live nodes' total), missing [%s]; bound requestTimeoutMs %d ms + 50",
                 fcount, missing, REQUEST_TIMEOUT_MS);
        sm_bench_report("set_by_filter with a frozen node", fset, "ms", SM_BENCH_AT_MOST, REQUEST_TIMEOUT_MS + 50.0, !fz_ok,
                        note);
        kill(node_pid[frozen], SIGCONT);
        /* After it rejoins, the write it missed must not have been applied late. */
        char stale[64] = "?";
        for (int tries = 0; tries < 100 && nids[frozen]; tries++) {
            usleep(100000);
            r = request(&ctl, NULL, "{\"type\":\"get\",\"sessionId\":\"%s\",\"keys\":[\"Round\"]}", ids[frozen][0]);
            cJSON *o = cJSON_Parse(r);
            const cJSON *p = o ? cJSON_GetObjectItemCaseSensitive(o, "properties") : NULL;
            const cJSON *v = p ? cJSON_GetObjectItemCaseSensitive(p, "Round") : NULL;
            bool got = cJSON_IsString(v);
            if (got)
                snprintf(stale, sizeof stale, "%s", v->valuestring);
            cJSON_Delete(o);
            free(r);
            if (got)
                break;
        }
        snprintf(note, sizeof note, "Round on a session of %s after it resumed and rejoined: '%s' (the write it missed "
                 "was dropped, not applied late)", frozen_name, stale);
        sm_bench_report("stale by-filter write dropped by the frozen node", strcmp(stale, "r6") == 0 ? 1 : 0, "bool",
                        SM_BENCH_AT_LEAST, 1, false, note);

    }
    sm_bench_ctl_close(&ctl);
    for (int i = 0; i < nodes; i++) {
        kill(holders[i], SIGKILL);
        waitpid(holders[i], NULL, 0);
    }
    for (int i = 0; i < nodes; i++)
        sm_bench_stop(node_pid[i]);
    kill(redis_pid, SIGKILL);
    waitpid(redis_pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_cluster: could not remove %s\n", dir);
    return 0;
}
