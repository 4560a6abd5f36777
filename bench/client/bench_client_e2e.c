/* Benchmark: PROPERTIES events per second from a real sessmond through libsessmon to a listener. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/common/bench_util.h"
#include "client/sessmon.h"

#define PROPS 5
/* Derived like bench_client_dispatch's: 100,000 events/s delivered from a real server. */
#define TARGET_EVENTS_PER_S 100000.0

typedef struct bench {
    sm_client *client;
    uint64_t events;
    uint64_t check;
    int opened;
    int closed;
    volatile int registered;
    volatile int snapshot_done;
    int inflight;
    uint64_t matched;
    int failed;
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static void on_open(sm_session *s, const sm_session_info *info, void *context)
{
    (void)s;
    (void)info;
    ((bench *)context)->opened++;
}

static void on_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *context)
{
    (void)s;
    (void)reason;
    bench *b = context;
    b->closed++;
    if (err->code != SM_CLIENT_OK) {
        fprintf(stderr, "bench: session closed: %s: %s\n", sm_client_errcode_name(err->code), err->message);
        b->failed = 1;
    }
}

static void on_update(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    bench *b = context;
    b->events++;
    for (size_t i = 0; i < ev->property_count; i++)
        b->check += (unsigned char)ev->properties[i].value[0];
}

static void on_registered(sm_listener *l, const sm_registration *r, void *context)
{
    (void)l;
    (void)r;
    ((bench *)context)->registered = 1;
}

static void on_snapshot_end(sm_listener *l, uint64_t count, void *context)
{
    (void)l;
    (void)count;
    ((bench *)context)->snapshot_done = 1;
}

static void on_reg_error(sm_listener *l, const sm_client_error *err, void *context)
{
    (void)l;
    fprintf(stderr, "bench: listener refused: %s\n", err->message);
    ((bench *)context)->failed = 1;
}

static void on_set_reply(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    bench *b = context;
    b->inflight--;
    if (r->error && r->error->code == SM_CLIENT_ERR_CANCELLED)
        return; /* still in flight when the benchmark ended */
    if (r->error) {
        fprintf(stderr, "bench: set_by_filter failed: %s\n", r->error->message);
        b->failed = 1;
        return;
    }
    b->matched += r->count;
}

static int send_update(bench *b, sm_session *driver, unsigned round)
{
    static const char *const keys[PROPS] = {"P1", "P2", "P3", "P4", "P5"};
    char vals[PROPS][24];
    sm_property props[PROPS];
    for (int k = 0; k < PROPS; k++) {
        snprintf(vals[k], sizeof vals[k], "r%u-value-%d", round, k);
        props[k].key = keys[k];
        props[k].value = vals[k];
    }
    sm_set_by_filter_params p = {.filter = "Bench is 'yes'", .properties = props, .property_count = PROPS,
                                 .on_reply = on_set_reply, .context = b};
    sm_client_error err;
    if (sm_set_properties_by_filter(driver, &p, &err) != SM_CLIENT_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return -1;
    }
    b->inflight++;
    return 0;
}

static void run_for(bench *b, double seconds, volatile int *flag)
{
    double end = now_s() + seconds;
    while (now_s() < end && !(flag && *flag) && !b->failed)
        sm_client_run_once(b->client, 10);
}

int main(int argc, char **argv)
{
    sm_bench_init("client", &argc, argv);
    if (argc < 2) {
        fprintf(stderr, "usage: bench_client_e2e URL [SESSIONS] [SECONDS] [--json FILE]\n");
        return 2;
    }
    const char *url = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    double seconds = argc > 3 ? atof(argv[3]) : 3.0;
    if (n < 1 || n > 15000 || seconds <= 0)
        return 2;

    bench b;
    memset(&b, 0, sizeof b);
    /* The target sessions live in a context of their own, serviced only while setting up: the
     * measurement covers the listener's path alone, not polling a thousand idle sockets. */
    sm_client_params tp = {.max_sessions = (unsigned)n, .rx_buffer_size = 1024, .no_tls = true};
    sm_client *targets = sm_client_new(&tp, NULL);
    sm_client_params cp = {.max_sessions = 2, .no_tls = true};
    b.client = sm_client_new(&cp, NULL);
    if (!b.client || !targets)
        return 1;
    sm_property tag = {"Bench", "yes"};
    for (int i = 0; i < n; i++) {
        sm_session_params sp = {.url = url, .properties = &tag, .property_count = 1, .on_open = on_open,
                                .on_close = on_close, .context = &b, .liveness_timeout_ms = -1};
        if (!sm_session_open(targets, &sp, NULL))
            return 1;
    }
    double t0 = now_s();
    while (b.opened < n && !b.failed && now_s() - t0 < 30)
        sm_client_run_once(targets, 10);
    sm_session_params ap = {.url = url, .principal = "admin", .password = "admin", .on_open = on_open,
                            .on_close = on_close, .context = &b};
    sm_session *watcher = sm_session_open(b.client, &ap, NULL);
    sm_session *driver = sm_session_open(b.client, &ap, NULL);
    while (b.opened < n + 2 && !b.failed && now_s() - t0 < 30)
        sm_client_run_once(b.client, 10);
    if (b.opened < n + 2) {
        fprintf(stderr, "bench: only %d of %d sessions opened\n", b.opened, n + 2);
        return 1;
    }
    printf("client e2e: %d sessions opened in %.2f s\n", n + 2, now_s() - t0);

    const char *keys[] = {"*U"};
    sm_listener_params lp = {.keys = keys, .key_count = 1, .filter = "Bench is 'yes'",
                             .on_registered = on_registered, .on_session_update = on_update,
                             .on_snapshot_end = on_snapshot_end, .on_registration_error = on_reg_error,
                             .context = &b};
    if (!sm_listener_register(watcher, &lp, NULL))
        return 1;
    run_for(&b, 30, &b.snapshot_done);
    if (!b.snapshot_done)
        return 1;

    /* Keep about two rounds of events ahead of the listener: enough that the server never
     * waits for us, little enough that its bounded queue for the listener never overflows. */
    unsigned round = 0;
    uint64_t start_events = b.events;
    double start = now_s(), start_cpu = cpu_s();
    while (now_s() - start < seconds && !b.failed) {
        while ((uint64_t)round * (uint64_t)n < b.events - start_events + 2 * (uint64_t)n)
            if (send_update(&b, driver, round++) != 0)
                return 1;
        sm_client_run_once(b.client, 10);
    }
    double elapsed = now_s() - start, cpu = cpu_s() - start_cpu;
    uint64_t got = b.events - start_events;
    char note[240];
    snprintf(note, sizeof note,
             "%" PRIu64 " events (%d props each) in %.2f s; %u set_by_filter, %" PRIu64 " matches (check %" PRIu64 ")",
             got, PROPS, elapsed, round, b.matched, b.check % 1000);
    sm_bench_report("end to end from sessmond, delivered", (double)got / elapsed, "ev/s", SM_BENCH_AT_LEAST,
                    TARGET_EVENTS_PER_S, b.failed != 0, note);
    sm_bench_report("end to end, client events per CPU-second", cpu > 0 ? (double)got / cpu : 0.0, "ev/cpu-s",
                    SM_BENCH_INFO, 0, false, "");
    sm_client_free(b.client);
    sm_client_free(targets);
    return b.failed;
}
