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
    sum->drops += s->drops;
    sum->reconnects += s->reconnects;
    sum->replaced += s->replaced;
    sum->stopping |= s->stopping;
}

static double rate(uint64_t now, uint64_t prev, double dt)
{
    return dt > 0 && now >= prev ? (double)(now - prev) / dt : 0.0;
}

void sm_load_progress_print(FILE *f, bool json, const char *state, double elapsed, double dt,
                            const sm_load_stats *now, const sm_load_stats *prev, unsigned workers, long rss_kb)
{
    double opens = rate(now->opened, prev->opened, dt);
    double closes = rate(now->closed + now->lost, prev->closed + prev->lost, dt);
    double updates = rate(now->updates, prev->updates, dt);
    double drops = rate(now->drops, prev->drops, dt);
    if (json) {
        fprintf(f,
                "{\"state\":\"%s\",\"elapsed\":%.1f,\"target\":%llu,\"open\":%llu,\"connecting\":%llu,"
                "\"reconnecting\":%llu,\"waiting\":%llu,\"opened\":%llu,\"closed\":%llu,\"lost\":%llu,"
                "\"failed\":%llu,\"updates\":%llu,\"updateErrors\":%llu,\"updatesSkipped\":%llu,\"drops\":%llu,"
                "\"reconnects\":%llu,\"replaced\":%llu,\"opensPerSec\":%.1f,\"closesPerSec\":%.1f,"
                "\"updatesPerSec\":%.1f,\"dropsPerSec\":%.1f,\"workers\":%u,\"rssKb\":%ld}\n",
                state, elapsed, (unsigned long long)now->target, (unsigned long long)now->open,
                (unsigned long long)now->connecting, (unsigned long long)now->reconnecting,
                (unsigned long long)now->waiting, (unsigned long long)now->opened, (unsigned long long)now->closed,
                (unsigned long long)now->lost, (unsigned long long)now->failed, (unsigned long long)now->updates,
                (unsigned long long)now->update_errors, (unsigned long long)now->updates_skipped,
                (unsigned long long)now->drops, (unsigned long long)now->reconnects,
                (unsigned long long)now->replaced, opens, closes, updates, drops, workers, rss_kb);
    } else {
        fprintf(f,
                "sessmon-load %-8s %6.0fs  open %llu/%llu  connecting %llu  reconnecting %llu  failed %llu  "
                "opens/s %.0f  closes/s %.0f  updates/s %.0f  drops/s %.0f  rss %ld MiB\n",
                state, elapsed, (unsigned long long)now->open, (unsigned long long)now->target,
                (unsigned long long)now->connecting, (unsigned long long)now->reconnecting,
                (unsigned long long)now->failed, opens, closes, updates, drops, rss_kb >= 0 ? rss_kb / 1024 : -1);
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

