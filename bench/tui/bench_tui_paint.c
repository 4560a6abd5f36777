/* bench_tui_paint: the CPU of one monitor frame on a fixed input, the same on every run (no clock, no network). */
/* 15,000 sessions (the e2e bench's count), then frames of 333 property changes each (10,000
 * events/s at 30 frames/s) painted into a 200x50 virtual screen, in the e2e bench's three
 * scenarios: default sort; sorted by the changing key with the inspect pane open; a view filter.
 * Time is simulated (33 ms a frame), so every run paints the same frames: the figures move only
 * with the code and the machine's speed, and under callgrind (--toggle-collect=smt_ui_paint)
 * they are exact. --dump FILE writes the cells of each scenario's last frame (character,
 * attributes, colour pair), to compare the look of two builds. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/common/bench_util.h"
#include "bench/tui/vscreen.h"

#define ROWS 50
#define COLS 200
#define FRAME_MS 33
#define TARGET_PAINT_P99_MS 5.0

static const char *const countries[] = {"US", "FR", "GB", "DE", "JP", "BR", "IN", "CN", "ES", "IT"};
static const char *const types[] = {"JAVA", "C", "JAVASCRIPT_BROWSER", "PYTHON", "ANDROID", "IOS"};
static const char *const depts[] = {"Accounts", "Payroll", "Sales", "Trading", "Ops", "Risk", "Legal", "IT"};
static const char *const tiers[] = {"gold", "silver", "bronze"};
static const char *const regions[] = {"EU", "US", "APAC"};
static const char *const statuses[] = {"online", "idle", "away", "busy"};
static const char *const versions[] = {"1.0.3", "1.1.0", "2.0.0-beta"};

static uint32_t rng = 2463534242u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint64_t sim_now = 1000000; /* simulated monotonic ms */
static const int64_t wall0 = 1796000000000LL;

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void session_id(char *out, size_t cap, int i)
{
    snprintf(out, cap, "%08x-5f1c-4a2b-9c3d-%012x", (unsigned)i * 2654435761u, (unsigned)i);
}

/* An OPEN with a set like sessmon-load's sessions: the fixed keys, then the user ones. */
static void open_session(smt_ui *ui, int i)
{
    char id[48], ip[32], lat[32], lon[32], start[32];
    session_id(id, sizeof id, i);
    snprintf(ip, sizeof ip, "127.0.%d.%d", (i >> 8) & 255, i & 255);
    snprintf(lat, sizeof lat, "%.4f", (double)(i % 180) - 90.0 + 0.1234);
    snprintf(lon, sizeof lon, "%.4f", (double)(i % 360) - 180.0 + 0.5678);
    snprintf(start, sizeof start, "%lld", (long long)(wall0 - 600000 + i * 7));
    sm_property props[] = {
        {"$SessionId", id},          {"$Principal", i % 7 ? "client" : "operator"},
        {"$Roles", "\"CLIENT\""},   {"$ClientType", types[i % 6]},
        {"$Transport", "WEBSOCKET"}, {"$ServerName", "sessmond"},
        {"$Connector", "ws"},        {"$ClientIP", ip},
        {"$Country", countries[i % 10]}, {"$Language", "en"},
        {"$Latitude", lat},          {"$Longitude", lon},
        {"$StartTime", start},       {"$Environment", "C_x86_64"},
        {"Department", depts[i % 8]}, {"Tier", tiers[i % 3]},
        {"Region", regions[i % 3]},  {"Status", statuses[i % 4]},
        {"AppVersion", versions[i % 3]},
    };
    bench_ui_open(ui, id, props, sizeof props / sizeof *props, true);
}

/* What sessmon-load's updates are: one of Status, Tier or AppVersion of a random session. */
static void change_one(smt_ui *ui, int sessions)
{
    char id[48];
    session_id(id, sizeof id, (int)(rnd() % (uint32_t)sessions));
    uint32_t which = rnd() % 10;
    const char *key = which < 8 ? "Status" : which < 9 ? "Tier" : "AppVersion";
    const char *value = which < 8 ? statuses[rnd() % 4] : which < 9 ? tiers[rnd() % 3] : versions[rnd() % 3];
    sm_property now[] = {{key, value}};
    sm_property before[] = {{key, "?"}};
    bench_ui_update(ui, id, now, before, 1);
}

static void dump_screen(FILE *f, const char *scenario)
{
    fprintf(f, "== %s\n", scenario);
    for (int y = 0; y < ROWS; y++) {
        for (int x = 0; x < COLS; x++) {
            cchar_t c;
            wchar_t wch[CCHARW_MAX + 1] = {0};
            attr_t attrs = 0;
            short pair = 0;
            if (mvwin_wch(stdscr, y, x, &c) == OK)
                getcchar(&c, wch, &attrs, &pair, NULL);
            fprintf(f, "%d,%d %x %lx %d\n", y, x, (unsigned)wch[0], (unsigned long)attrs, pair);
        }
    }
}

/* frames frames of per_frame events each, painted; returns the paints' CPU samples. */
static void run_frames(smt_ui *ui, int sessions, int frames, int per_frame, sm_bench_samples *cpu)
{
    for (int f = 0; f < frames; f++) {
        sim_now += FRAME_MS;
        smt_ui_set_time(ui, sim_now, wall0 + (int64_t)sim_now);
        for (int k = 0; k < per_frame; k++)
            change_one(ui, sessions);
        smt_ui_tick(ui);
        double c0 = thread_cpu_ms();
        smt_ui_paint(ui);
        sm_bench_add(cpu, thread_cpu_ms() - c0);
    }
}

static void report(const char *scenario, sm_bench_samples *cpu)
{
    char name[128], note[96];
    snprintf(note, sizeof note, "%zu frames, thread CPU per paint (view update included)", cpu->n);
    snprintf(name, sizeof name, "paint micro, %s: mean (CPU time)", scenario);
    double sum = 0;
    for (size_t i = 0; i < cpu->n; i++)
        sum += cpu->v[i];
    sm_bench_report(name, cpu->n ? sum / (double)cpu->n : 0, "ms", SM_BENCH_INFO, 0, false, "");
    snprintf(name, sizeof name, "paint micro, %s: p99 (CPU time)", scenario);
    sm_bench_report(name, sm_bench_quantile(cpu, 0.99), "ms", SM_BENCH_AT_MOST, TARGET_PAINT_P99_MS, false, note);
}

int main(int argc, char **argv)
{
    sm_bench_init("tui-paint", &argc, argv);
    int sessions = 15000, frames = 300, per_frame = 333;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            sessions = atoi(argv[++i]);
        else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
            frames = atoi(argv[++i]);
        else if (strcmp(argv[i], "-e") == 0 && i + 1 < argc)
            per_frame = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else {
            fprintf(stderr, "usage: bench_tui_paint [-n SESSIONS] [-f FRAMES] [-e EVENTS_PER_FRAME] [--dump FILE] "
                            "[--json FILE]\n");
            return 2;
        }
    }
    if (sessions < 10 || frames < 1 || per_frame < 0) {
        fprintf(stderr, "bench_tui_paint: need -n >= 10, -f >= 1, -e >= 0\n");
        return 2;
    }
    FILE *dumpf = dump ? fopen(dump, "w") : NULL;
    if (dump && !dumpf) {
        fprintf(stderr, "bench_tui_paint: cannot write %s\n", dump);
        return 1;
    }
    bench_vscreen vs;
    if (!bench_vscreen_open(&vs, "bench_tui_paint", ROWS, COLS)) {
        if (dumpf)
            fclose(dumpf);
        return 1;
    }
    smt_ui *ui = vs.ui;
    /* the e2e bench's columns */
    static const char *const columns[] = {"$SessionId", "$Principal", "$ClientIP", "$Country",  "$ClientType", "$StartTime",
                                          "(state)",    "Department", "Tier",      "AppVersion", "Region",      "Status"};
    smt_settings st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < sizeof columns / sizeof *columns; i++)
        snprintf(st.columns[st.ncolumns++], sizeof st.columns[0], "%s", columns[i]);
    smt_ui_use_settings(ui, &st, NULL);
    smt_ui_set_time(ui, sim_now, wall0 + (int64_t)sim_now);
    smt_ui_set_connection(ui, SMT_CONN_SYNCING, "bench");
    smt_ui_resync_begin(ui);
    for (int i = 0; i < sessions; i++)
        open_session(ui, i);
    smt_ui_resync_end(ui, (uint64_t)sessions);
    smt_ui_set_connection(ui, SMT_CONN_LIVE, "");
    smt_ui_paint(ui);
    printf("bench_tui_paint: %d sessions, %d frames of %d property changes per scenario, a %dx%d virtual screen\n",
           sessions, frames, per_frame, COLS, ROWS);

    sm_bench_samples cpu = {0};
    run_frames(ui, sessions, frames, per_frame, &cpu);
    report("default sort", &cpu);
    if (dumpf)
        dump_screen(dumpf, "default sort");
    sm_bench_samples_free(&cpu);

    smt_view_set_sort(ui->app.view, "Status", false);
    smt_ui_key(ui, 'i');
    smt_ui_paint(ui); /* the one re-sort, outside the figures */
    run_frames(ui, sessions, frames, per_frame, &cpu);
    report("Status sort + inspect", &cpu);
    if (dumpf)
        dump_screen(dumpf, "Status sort + inspect");
    sm_bench_samples_free(&cpu);

    smt_ui_key(ui, 'i');
    sm_error err;
    smt_view_set_filter(ui->app.view, "Tier is 'gold' or Region is 'EU'", &err);
    smt_ui_paint(ui);
    run_frames(ui, sessions, frames, per_frame, &cpu);
    report("view filter", &cpu);
    if (dumpf)
        dump_screen(dumpf, "view filter");
    sm_bench_samples_free(&cpu);

    if (dumpf)
        fclose(dumpf);
    bench_vscreen_close(&vs);
    return 0;
}
