/* sessmon-load's counters: what each worker reports, their sum, and the progress line. */
#include "tools/load/stats.h"

#include <string.h>

void sm_load_stats_add(sm_load_stats *sum, const sm_load_stats *s)
{
    sum->target += s->target;
    sum->open += s->open;
    sum->connecting += s->connecting;
    sum->reconnecting += s->reconnecting;
    sum->waiting += s->waiting;
    sum->updates_in_flight += s->updates_in_flight;
    sum->opened += s->opened;
    sum->closed += s->closed;
    sum->lost += s->lost;
    sum->failed += s->failed;
    sum->updates += s->updates;
    sum->update_errors += s->update_errors;
    sum->updates_skipped += s->updates_skipped;
    sum->updates_skipped_window += s->updates_skipped_window;
    sum->updates_skipped_no_session += s->updates_skipped_no_session;
    sum->updates_late += s->updates_late;
    sum->drops += s->drops;
    sum->reconnects += s->reconnects;
    sum->replaced += s->replaced;
    sum->cpu_ms += s->cpu_ms;
    sum->stopping |= s->stopping;
}

static double rate(uint64_t now, uint64_t prev, double dt)
{
    return dt > 0 && now >= prev ? (double)(now - prev) / dt : 0.0;
}

static uint64_t delta(uint64_t now, uint64_t prev)
{
    return now >= prev ? now - prev : 0;
}

/* Below this share of the rate asked, the line says the tool is behind and why. */
#define BEHIND_SHARE 0.95
#define CPU_BOUND_PCT 90.0

const char *sm_load_update_shortfall(const sm_load_line *line, const sm_load_stats *now, const sm_load_stats *prev)
{
    if (line->updates_asked <= 0 || line->dt <= 0 || strcmp(line->state, "stopping") == 0)
        return NULL;
    if (rate(now->updates, prev->updates, line->dt) >= BEHIND_SHARE * line->updates_asked)
        return NULL;
    /* The first cause that explains it, most fundamental first: a saturated loop also lets the
     * in-flight window fill up, because it reads the replies late. */
    if (line->cpu_pct >= CPU_BOUND_PCT)
        return line->workers > 1 ? "a sessmon-load process is CPU bound" : "this process is CPU bound";
    /* Late without using its core: other processes had the CPUs. */
    if (delta(now->updates_late, prev->updates_late) > 0)
        return "this process got too little CPU (the machine is busy)";
    if (delta(now->updates_skipped_window, prev->updates_skipped_window) > 0)
        return "server replies slow (the in-flight window is full)";
    if (delta(now->updates_skipped_no_session, prev->updates_skipped_no_session) > 0)
        return now->open == 0 && strcmp(line->state, "running") == 0
                   ? "no session open yet"
                   : "no session may apply them (--admin not open or missing)";
    if (delta(now->update_errors, prev->update_errors) > 0)
        return "updates failing (see the errors on stderr)";
    return "server replies slow";
}

/* 12345.6 -> "12,346": rates are read at a glance. */
static void thousands(double v, char *out, size_t cap)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v < 0 ? 0 : v);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void sm_load_progress_print(FILE *f, bool json, const sm_load_line *line, const sm_load_stats *now,
                            const sm_load_stats *prev)
{
    double dt = line->dt;
    double opens = rate(now->opened, prev->opened, dt);
    double closes = rate(now->closed + now->lost, prev->closed + prev->lost, dt);
    double updates = rate(now->updates, prev->updates, dt);
    double drops = rate(now->drops, prev->drops, dt);
    const char *behind = sm_load_update_shortfall(line, now, prev);
    if (json) {
        char cpu[32] = "null", why[128] = "null";
        if (line->cpu_pct >= 0)
            snprintf(cpu, sizeof cpu, "%.1f", line->cpu_pct);
        if (behind)
            snprintf(why, sizeof why, "\"%s\"", behind);
        fprintf(f,
                "{\"state\":\"%s\",\"elapsed\":%.3f,\"target\":%llu,\"open\":%llu,\"connecting\":%llu,"
                "\"reconnecting\":%llu,\"waiting\":%llu,\"opened\":%llu,\"closed\":%llu,\"lost\":%llu,"
                "\"failed\":%llu,\"updates\":%llu,\"updateErrors\":%llu,\"updatesSkipped\":%llu,"
                "\"updatesSkippedWindow\":%llu,\"updatesSkippedNoSession\":%llu,\"updatesLate\":%llu,\"updatesInFlight\":%llu,"
                "\"drops\":%llu,\"reconnects\":%llu,\"replaced\":%llu,\"opensPerSec\":%.1f,\"closesPerSec\":%.1f,"
                "\"updatesPerSec\":%.1f,\"updatesAskedPerSec\":%.1f,\"updatesBehind\":%s,\"dropsPerSec\":%.1f,"
                "\"workers\":%u,\"cpuPct\":%s,\"rssKb\":%ld}\n",
                line->state, line->elapsed, (unsigned long long)now->target, (unsigned long long)now->open,
                (unsigned long long)now->connecting, (unsigned long long)now->reconnecting,
                (unsigned long long)now->waiting, (unsigned long long)now->opened, (unsigned long long)now->closed,
                (unsigned long long)now->lost, (unsigned long long)now->failed, (unsigned long long)now->updates,
                (unsigned long long)now->update_errors, (unsigned long long)now->updates_skipped,
                (unsigned long long)now->updates_skipped_window, (unsigned long long)now->updates_skipped_no_session,
                (unsigned long long)now->updates_late,
                (unsigned long long)now->updates_in_flight, (unsigned long long)now->drops,
                (unsigned long long)now->reconnects, (unsigned long long)now->replaced, opens, closes, updates,
                line->updates_asked, why, drops, line->workers, cpu, line->rss_kb);
    } else {
        char got[32], asked[32], upd[192], cpu[24] = "";
        thousands(updates, got, sizeof got);
        if (line->updates_asked > 0) {
            thousands(line->updates_asked, asked, sizeof asked);
            snprintf(upd, sizeof upd, "updates %s/s of %s/s asked%s%s", got, asked, behind ? " — behind: " : "",
                     behind ? behind : "");
        } else {
            snprintf(upd, sizeof upd, "updates %s/s", got);
        }
        if (line->cpu_pct >= 0)
            snprintf(cpu, sizeof cpu, "  cpu %.0f %%", line->cpu_pct);
        fprintf(f,
                "sessmon-load %-8s %6.0fs  open %llu/%llu  connecting %llu  reconnecting %llu  failed %llu  "
                "opens/s %.0f  closes/s %.0f  drops/s %.0f%s  rss %ld MiB  %s\n",
                line->state, line->elapsed, (unsigned long long)now->open, (unsigned long long)now->target,
                (unsigned long long)now->connecting, (unsigned long long)now->reconnecting,
                (unsigned long long)now->failed, opens, closes, drops, cpu,
                line->rss_kb >= 0 ? line->rss_kb / 1024 : -1, upd);
    }
    fflush(f);
}

void sm_load_escape(const char *text, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p && o + 5 < cap; p++) {
        if (*p < 0x20 || *p >= 0x7f || *p == '\\') {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

