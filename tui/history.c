/* The monitor's recent past: per-second sessions, opens, closes and events in a fixed ring. */
#include "tui/history.h"

#include <string.h>

void smt_history_init(smt_history *h)
{
    memset(h, 0, sizeof *h);
    h->sec = -1;
}

void smt_history_advance(smt_history *h, int64_t sec)
{
    if (h->sec < 0) {
        h->sec = sec;
        h->newest = 0;
        h->len = 1;
        for (int s = 0; s < SMT_HIST_SERIES; s++)
            h->v[s][0] = 0;
        return;
    }
    if (sec <= h->sec)
        return;
    uint32_t gauge = h->v[SMT_HIST_SESSIONS][h->newest];
    int64_t gap = sec - h->sec;
    if (gap > SMT_HISTORY_SECONDS) { /* nothing of the old window is left in the new one */
        smt_history_init(h);
        smt_history_advance(h, sec);
        h->v[SMT_HIST_SESSIONS][0] = gauge;
        return;
    }
    for (int64_t i = 0; i < gap; i++) {
        h->newest = (h->newest + 1) % SMT_HISTORY_SECONDS;
        for (int s = 0; s < SMT_HIST_SERIES; s++)
            h->v[s][h->newest] = 0;
        h->v[SMT_HIST_SESSIONS][h->newest] = gauge;
        if (h->len < SMT_HISTORY_SECONDS)
            h->len++;
    }
    h->sec = sec;
}

void smt_history_add(smt_history *h, int64_t sec, smt_history_series s, uint32_t n)
{
    smt_history_advance(h, sec);
    if ((unsigned)s >= SMT_HIST_SERIES)
        return;
    uint32_t *v = &h->v[s][h->newest];
    *v = n > UINT32_MAX - *v ? UINT32_MAX : *v + n;
}

void smt_history_set(smt_history *h, int64_t sec, smt_history_series s, uint32_t value)
{
    smt_history_advance(h, sec);
    if ((unsigned)s < SMT_HIST_SERIES)
        h->v[s][h->newest] = value;
}

size_t smt_history_len(const smt_history *h)
{
    return h->len;
}

uint32_t smt_history_at(const smt_history *h, smt_history_series s, size_t ago)
{
    if ((unsigned)s >= SMT_HIST_SERIES || ago >= h->len)
        return 0;
    return h->v[s][(h->newest + SMT_HISTORY_SECONDS - ago) % SMT_HISTORY_SECONDS];
}

uint32_t smt_history_max(const smt_history *h, smt_history_series s, size_t span)
{
    uint32_t m = 0;
    for (size_t a = 0; a < span && a < h->len; a++) {
        uint32_t v = smt_history_at(h, s, a);
        if (v > m)
            m = v;
    }
    return m;
}

/* The value of one cell: seconds [from, to) counted back from the newest, to > from. */
static double cell_value(const smt_history *h, smt_history_series s, size_t from, size_t to)
{
    if (s == SMT_HIST_SESSIONS)
        return smt_history_at(h, s, from);
    double sum = 0;
    for (size_t a = from; a < to; a++)
        sum += smt_history_at(h, s, a);
    return sum / (double)(to - from);
}

size_t smt_history_sparkline(const smt_history *h, smt_history_series s, size_t span, int width, bool utf8,
                             char *out, size_t cap)
{
    static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                         "\u2585", "\u2586", "\u2587", "\u2588"};
    static const char ascii[] = "._-=+*#@";
    if (!cap)
        return 0;
    out[0] = '\0';
    if (width <= 0 || span == 0)
        return 0;
    if (span > SMT_HISTORY_SECONDS)
        span = SMT_HISTORY_SECONDS;
    /* seconds per cell, rounded up so the span fits the width */
    size_t per = (span + (size_t)width - 1) / (size_t)width;
    size_t cells = (span + per - 1) / per;
    double vals[SMT_HISTORY_SECONDS];
    double top = 0;
    for (size_t c = 0; c < cells; c++) { /* c = 0 is the newest cell */
        size_t from = c * per, to = from + per;
        if (from >= h->len) {
            vals[c] = -1;
            continue;
        }
        if (to > h->len)
            to = h->len;
        vals[c] = cell_value(h, s, from, to);
        if (vals[c] > top)
            top = vals[c];
    }
    size_t n = 0;
    for (size_t i = 0; i < cells; i++) {
        double v = vals[cells - 1 - i];
        const char *glyph;
        char one[2] = {' ', 0};
        if (v < 0 || (v <= 0 && s != SMT_HIST_SESSIONS)) {
            glyph = " ";
        } else {
            int level = top > 0 ? (int)(v / top * 7.0 + 0.5) : 0;
            if (level > 7)
                level = 7;
            if (utf8) {
                glyph = blocks[level];
            } else {
                one[0] = ascii[level];
                glyph = one;
            }
        }
        size_t gl = strlen(glyph);
        if (n + gl + 1 > cap)
            break;
        memcpy(out + n, glyph, gl);
        n += gl;
    }
    out[n] = '\0';
    return n;
}
