/* bench_tui: the monitor's model, view and drawing under 100,000 sessions and 10,000 events/s. */
/* It paints through the real drawing code into a virtual curses screen (newterm on /dev/null).
 * Prints: time to the first full table, CPU per second of events, paint time per frame. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench/common/bench_util.h"
#include "bench/tui/vscreen.h"
#include "tui/pane_group.h"
#include "tui/ui.h"

#define FIXED_KEYS 13

static double now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mono_ms(void)
{
    return (uint64_t)(now_s(CLOCK_MONOTONIC) * 1000.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double *v;
    size_t n, cap;
} stats;

static void stats_add(stats *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    s->v[s->n++] = x;
}

static void stats_print(const char *what, stats *s)
{
    if (s->n == 0)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    printf("  %-34s frames %5zu  mean %6.3f ms  p50 %6.3f  p99 %6.3f  max %6.3f\n", what, s->n, sum / (double)s->n,
           s->v[s->n / 2], s->v[(size_t)((double)s->n * 0.99)], s->v[s->n - 1]);
}

/* After stats_print (which sorts the samples). */
static void report_p99(const char *name, const stats *s)
{
    if (s->n == 0) {
        sm_bench_missing(name, "ms", SM_BENCH_AT_MOST, 5.0, "no frame painted");
        return;
    }
    char note[64];
    snprintf(note, sizeof note, "%zu frames", s->n);
    sm_bench_report(name, s->v[(size_t)((double)s->n * 0.99)], "ms", SM_BENCH_AT_MOST, 5.0, false, note);
}

static const char *const countries[] = {"US", "FR", "GB", "DE", "JP", "BR", "IN", "CN", "ES", "IT"};
static const char *const types[] = {"JAVA", "C", "JAVASCRIPT_BROWSER", "PYTHON", "ANDROID", "IOS"};
static const char *const depts[] = {"Accounts", "Payroll", "Sales", "Trading", "Ops", "Risk", "Legal", "IT"};
static const char *const tiers[] = {"gold", "silver", "bronze"};

static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void open_event(smt_ui *ui, const char *id, int i, bool snapshot, int64_t start)
{
    char ip[32], lat[32], lon[32], t[32], counter[16];
    snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    snprintf(lat, sizeof lat, "%.4f", (double)(i % 180) - 90.0 + 0.1234);
    snprintf(lon, sizeof lon, "%.4f", (double)(i % 360) - 180.0 + 0.5678);
    snprintf(t, sizeof t, "%lld", (long long)(start + i));
    snprintf(counter, sizeof counter, "%d", i % 1000);
    sm_property props[] = {
        {"$SessionId", id},
        {"$Principal", i % 7 ? "client" : "operator"},
        {"$Roles", "\"CLIENT\""},
        {"$ClientType", types[i % 6]},
        {"$Transport", "WEBSOCKET"},
        {"$ServerName", "sessmond"},
        {"$Connector", "ws"},
        {"$ClientIP", ip},
        {"$Country", countries[i % 10]},
        {"$Language", "en"},
        {"$Latitude", lat},
        {"$Longitude", lon},
        {"$StartTime", t},
        {"$Environment", "C_x86_64"},
        {"Department", depts[i % 8]},
        {"Tier", tiers[i % 3]},
        {"Counter", counter},
    };
    bench_ui_open(ui, id, props, sizeof props / sizeof *props, snapshot);
}

static void make_id(char *out, size_t cap, int i)
{
    snprintf(out, cap, "5f1c09a2-%08x", (unsigned)i);
}

typedef struct run_result {
    double cpu_pct;
    double events;
} run_result;

/* Feeds rate events/s for seconds, painting like the real loop (dirty + frame cap). */
static run_result live_run(smt_ui *ui, int *next_id, int *live_lo, int rate, double seconds, stats *paints,
                           stats *syncs)
{
    const int tick_ms = 10;
    const int per_tick = rate * tick_ms / 1000;
    char counters[1000][8];
    for (int i = 0; i < 1000; i++)
        snprintf(counters[i], sizeof counters[i], "%d", i);
    double cpu0 = now_s(CLOCK_PROCESS_CPUTIME_ID), wall0 = now_s(CLOCK_MONOTONIC);
    double next_tick = wall0;
    uint64_t last_paint = 0;
    double events = 0;
    int64_t start = 1700000000000LL;
    while (now_s(CLOCK_MONOTONIC) - wall0 < seconds) {
        uint64_t now = mono_ms();
        smt_ui_set_time(ui, now, (int64_t)time(NULL) * 1000);
        for (int k = 0; k < per_tick; k++) {
            uint32_t r = rnd() % 100;
            char id[32];
            int span = *next_id - *live_lo;
            if (r < 80) { /* property change on a random live session */
                make_id(id, sizeof id, *live_lo + (int)(rnd() % (uint32_t)span));
                const char *v = counters[rnd() % 1000];
                sm_property props[] = {{"Counter", v}, {"Tier", tiers[rnd() % 3]}};
                sm_property changed[] = {{"Counter", "x"}, {"Tier", "y"}};
                bench_ui_update(ui, id, props, changed, 2);
            } else if (r < 90) { /* a new session */
                make_id(id, sizeof id, *next_id);
                open_event(ui, id, *next_id, false, start);
                (*next_id)++;
            } else { /* the oldest session closes: the population stays near 100,000 */
                make_id(id, sizeof id, (*live_lo)++);
                smt_event ev = {0};
                ev.kind = SMT_EVENT_CLOSED;
                ev.session.session_id = id;
                ev.session.state = SM_REMOTE_CLOSED;
                ev.session.reason = SM_REASON_CLOSED_BY_CLIENT;
                smt_ui_event(ui, &ev);
            }
            events++;
        }
        smt_ui_tick(ui);
        if (ui->app.dirty && now >= last_paint + 33) {
            double p0 = now_s(CLOCK_MONOTONIC);
            smt_view_sync(ui->app.view); /* the view's share of the frame, measured on its own */
            double p1 = now_s(CLOCK_MONOTONIC);
            smt_ui_paint(ui);
            double p2 = now_s(CLOCK_MONOTONIC);
            stats_add(syncs, (p1 - p0) * 1000.0);
            stats_add(paints, (p2 - p0) * 1000.0);
            last_paint = now;
        }
        next_tick += tick_ms / 1000.0;
        double sleep = next_tick - now_s(CLOCK_MONOTONIC);
        if (sleep > 0) {
            struct timespec ts = {0, (long)(sleep * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0, wall = now_s(CLOCK_MONOTONIC) - wall0;
    return (run_result){100.0 * cpu / wall, events / wall};
}

int main(int argc, char **argv)
{
    sm_bench_init("tui", &argc, argv);
    int sessions = 100000, rate = 10000;
    double seconds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            sessions = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            rate = atoi(argv[++i]);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_tui [-n sessions] [-r events/s] [-s seconds] [--json FILE]\n");
            return 2;
        }
    }
    if (sessions < 10 || rate < 100 || seconds <= 0) {
        fprintf(stderr, "bench_tui: need -n >= 10, -r >= 100, -s > 0\n");
        return 2;
    }
    bench_vscreen vs;
    if (!bench_vscreen_open(&vs, "bench_tui", 50, 200))
        return 1;
    smt_ui *ui = vs.ui;
    smt_ui_set_connection(ui, SMT_CONN_SYNCING, "bench");

    /* 1. the snapshot: every session, then the first complete table */
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    smt_ui_set_time(ui, mono_ms(), (int64_t)time(NULL) * 1000);
    smt_ui_resync_begin(ui);
    int64_t start = 1700000000000LL;
    for (int i = 0; i < sessions; i++) {
        char id[32];
        make_id(id, sizeof id, i);
        open_event(ui, id, i, true, start);
    }
    smt_ui_resync_end(ui, (uint64_t)sessions);
    smt_ui_set_connection(ui, SMT_CONN_LIVE, "");
    double t_model = now_s(CLOCK_MONOTONIC);
    smt_ui_paint(ui);
    double t1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    size_t shown = smt_view_count(ui->app.view);

    printf("bench_tui: %d sessions, then %d events/s for %.0f s, painting a 200x50 virtual screen\n", sessions, rate,
           seconds);
    char note[200];
    snprintf(note, sizeof note, "model+view %.3f s, first paint %.1f ms; cpu %.3f s; %zu rows", t_model - t0,
             (t1 - t_model) * 1000.0, c1 - c0, shown);
    sm_bench_report("in-process: time to first full table", t1 - t0, "s", SM_BENCH_AT_MOST, 1.0, false, note);

    /* 2. live events, sorted by start time (rows rarely move) */
    int next_id = sessions, live_lo = 0;
    stats paints1 = {0}, paints2 = {0}, paints3 = {0}, syncs1 = {0}, syncs2 = {0}, syncs3 = {0};
    run_result r1 = live_run(ui, &next_id, &live_lo, rate, seconds, &paints1, &syncs1);
    snprintf(note, sizeof note, "at %.0f events/s", r1.events);
    sm_bench_report("in-process: CPU, sorted by $StartTime", r1.cpu_pct, "%core", SM_BENCH_AT_MOST, 15.0,
                    r1.events < 0.9 * rate, note);

    /* 3. worst case: sorted by the property that changes, with the inspect pane open */
    double b0 = now_s(CLOCK_MONOTONIC);
    smt_view_set_sort(ui->app.view, "Counter", true);
    smt_ui_key(ui, 'i');
    smt_ui_paint(ui); /* the one O(n log n) rebuild, outside the per-frame figures */
    double rebuild1 = (now_s(CLOCK_MONOTONIC) - b0) * 1000.0;
    run_result r2 = live_run(ui, &next_id, &live_lo, rate, seconds, &paints2, &syncs2);
    snprintf(note, sizeof note, "at %.0f events/s", r2.events);
    sm_bench_report("in-process: CPU, churning key + inspect", r2.cpu_pct, "%core", SM_BENCH_INFO, 0, false, note);

    /* 4. with a view filter matching about a third of the sessions */
    sm_error err;
    b0 = now_s(CLOCK_MONOTONIC);
    smt_view_set_filter(ui->app.view, "Tier is 'gold' or $Country in ['FR','DE']", &err);
    smt_ui_key(ui, 'i');
    smt_ui_paint(ui);
    double rebuild2 = (now_s(CLOCK_MONOTONIC) - b0) * 1000.0;
    run_result r3 = live_run(ui, &next_id, &live_lo, rate, seconds, &paints3, &syncs3);
    snprintf(note, sizeof note, "at %.0f events/s, %zu rows shown", r3.events, smt_view_count(ui->app.view));
    sm_bench_report("in-process: CPU, view filter", r3.cpu_pct, "%core", SM_BENCH_INFO, 0, false, note);

    printf("  paint time per frame, view update included (target <= 5 ms):\n");
    stats_print("sorted by $StartTime", &paints1);
    stats_print("sorted by churning key + inspect", &paints2);
    stats_print("view filter", &paints3);
    report_p99("in-process: paint p99, sorted by $StartTime", &paints1);
    report_p99("in-process: paint p99, churning key + inspect", &paints2);
    report_p99("in-process: paint p99, view filter", &paints3);
    printf("  of which the view update (coalesced dirty rows):\n");
    stats_print("sorted by $StartTime", &syncs1);
    stats_print("sorted by churning key + inspect", &syncs2);
    stats_print("view filter", &syncs3);
    sm_bench_report("in-process: one-off re-sort by Counter", rebuild1, "ms", SM_BENCH_INFO, 0, false, "");
    sm_bench_report("in-process: one-off new view filter", rebuild2, "ms", SM_BENCH_INFO, 0, false, "");

    /* 5. a sort change over everything (one O(n log n) rebuild) */
    double s0 = now_s(CLOCK_MONOTONIC);
    smt_view_set_filter(ui->app.view, NULL, NULL);
    smt_view_set_sort(ui->app.view, "$ClientIP", false);
    smt_ui_paint(ui);
    snprintf(note, sizeof note, "%zu rows", smt_view_count(ui->app.view));
    sm_bench_report("in-process: re-sort by $ClientIP + paint", (now_s(CLOCK_MONOTONIC) - s0) * 1000.0, "ms",
                    SM_BENCH_INFO, 0, false, note);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    snprintf(note, sizeof note, "interned strings: %zu (%zu KiB)", sm_intern_count(smt_model_pool(ui->app.model)),
             sm_intern_bytes(smt_model_pool(ui->app.model)) / 1024);
    sm_bench_report("in-process: peak RSS", (double)ru.ru_maxrss / 1024.0, "MiB", SM_BENCH_INFO, 0, false, note);

    /* 6. the group-by pane (issue 13): counts kept per event; the paint includes the table above it */
    stats paints4 = {0}, syncs4 = {0}, paints5 = {0}, syncs5 = {0}, paints6 = {0}, syncs6 = {0};
    smt_ui_key(ui, 'a');
    smt_group_pane *gp = smt_ui_pane_state(ui, "group");
    char gerr[128];
    double g0 = now_s(CLOCK_MONOTONIC);
    smt_group_set_key(gp, "$Country", gerr, sizeof gerr);
    double regroup = (now_s(CLOCK_MONOTONIC) - g0) * 1000.0;
    run_result r4 = live_run(ui, &next_id, &live_lo, rate, seconds, &paints4, &syncs4);
    smt_group_set_key(gp, "Counter", gerr, sizeof gerr); /* 1000 values, the key every update changes */
    run_result r5 = live_run(ui, &next_id, &live_lo, rate, seconds, &paints5, &syncs5);
    smt_group_set_key(gp, "$ClientIP", gerr, sizeof gerr); /* a value per session: the worst case */
    run_result r6 = live_run(ui, &next_id, &live_lo, rate, seconds, &paints6, &syncs6);
    printf("  paint time per frame with the group-by pane open (target <= 5 ms):\n");
    stats_print("group-by $Country (10 values)", &paints4);
    stats_print("group-by Counter (1000, churning)", &paints5);
    stats_print("group-by $ClientIP (1 per session)", &paints6);
    report_p99("in-process: paint p99, group-by $Country", &paints4);
    report_p99("in-process: paint p99, group-by churning Counter", &paints5);
    snprintf(note, sizeof note, "%zu frames; re-sorted at most once a second above 2000 values", paints6.n);
    sm_bench_report("in-process: paint p99, group-by $ClientIP", paints6.n ? paints6.v[(size_t)((double)paints6.n * 0.99)] : 0,
                    "ms", SM_BENCH_INFO, 0, false, note);
    snprintf(note, sizeof note, "at %.0f, %.0f, %.0f events/s", r4.events, r5.events, r6.events);
    sm_bench_report("in-process: CPU, group-by $Country", r4.cpu_pct, "%core", SM_BENCH_INFO, 0, false, note);
    sm_bench_report("in-process: one-off group-by recount of every row", regroup, "ms", SM_BENCH_INFO, 0, false, "");

    bench_vscreen_close(&vs);
    free(paints1.v);
    free(paints2.v);
    free(paints3.v);
    free(syncs1.v);
    free(syncs2.v);
    free(syncs3.v);
    free(paints4.v);
    free(syncs4.v);
    free(paints5.v);
    free(syncs5.v);
    free(paints6.v);
    free(syncs6.v);
    return 0;
}
