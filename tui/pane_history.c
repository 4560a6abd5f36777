/* The history pane: sessions, opens/s, closes/s and events/s over the last ten minutes as sparklines. */
#include <stdlib.h>
#include <string.h>

#include "tui/pane.h"
#include "tui/pane_history.h"
#include "tui/screen.h"
#include "tui/text.h"

static int64_t second_of(const smt_app *app)
{
    return (int64_t)(app->now / 1000);
}

static void history_event(void *state, const smt_event *ev)
{
    smt_history_pane *p = state;
    smt_app *app = p->app;
    int64_t sec = second_of(app);
    if (ev && !ev->session.snapshot) {
        smt_history_add(&p->hist, sec, SMT_HIST_EVENTS, 1);
        if (ev->kind == SMT_EVENT_OPEN)
            smt_history_add(&p->hist, sec, SMT_HIST_OPENS, 1);
        else if (ev->kind == SMT_EVENT_CLOSED)
            smt_history_add(&p->hist, sec, SMT_HIST_CLOSES, 1);
    }
    size_t open = smt_model_open_count(app->model);
    smt_history_set(&p->hist, sec, SMT_HIST_SESSIONS, open > UINT32_MAX ? UINT32_MAX : (uint32_t)open);
}

static int64_t history_tick(void *state, bool shown)
{
    smt_history_pane *p = state;
    smt_app *app = p->app;
    int64_t sec = second_of(app);
    smt_history_advance(&p->hist, sec); /* quiet seconds count as zeros */
    if (!shown)
        return -1;
    if (sec != p->shown_sec) {
        p->shown_sec = sec;
        app->dirty = true;
    }
    return (int64_t)(1000 - app->now % 1000);
}

static const struct {
    smt_history_series series;
    const char *label;
    bool rate;
} rows[] = {
    {SMT_HIST_SESSIONS, "sessions", false},
    {SMT_HIST_OPENS, "opens/s", true},
    {SMT_HIST_CLOSES, "closes/s", true},
    {SMT_HIST_EVENTS, "events/s", true},
};

static void history_draw(void *state, int y, int h)
{
    smt_history_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    size_t len = smt_history_len(&p->hist);
    int label_w = 22, max_w = 12;
    int spark_w = w - label_w - max_w;
    if (spark_w < 10)
        spark_w = 10;
    size_t per = (SMT_HISTORY_SECONDS + (size_t)spark_w - 1) / (size_t)spark_w;
    char buf[256];
    smt_text_printf(buf, sizeof buf, " History: the last %zu min%s (%zu s a column; Esc closes)",
                   (len + 59) / 60 ? (len + 59) / 60 : 1, len < SMT_HISTORY_SECONDS ? " recorded" : "", per);
    smt_screen_str(y, 0, w, buf, SMT_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
    int line = y + 1;
    for (size_t r = 0; r < sizeof rows / sizeof *rows && line < y + h; r++) {
        uint32_t now_v = rows[r].rate && len > 1 ? smt_history_at(&p->hist, rows[r].series, 1)
                                                 : smt_history_at(&p->hist, rows[r].series, 0);
        smt_text_printf(buf, sizeof buf, " %-9s %10lu ", rows[r].label, (unsigned long)now_v);
        smt_screen_str(line, 0, label_w, buf, SMT_ROLE_PANE);
        char spark[SMT_HISTORY_SECONDS * 4 + 1];
        smt_history_sparkline(&p->hist, rows[r].series, SMT_HISTORY_SECONDS, spark_w, smt_screen_utf8(), spark,
                              sizeof spark);
        smt_screen_str(line, label_w, spark_w, spark, SMT_ROLE_PANE);
        smt_text_printf(buf, sizeof buf, " max %lu",
                       (unsigned long)smt_history_max(&p->hist, rows[r].series, SMT_HISTORY_SECONDS));
        smt_screen_str(line, label_w + spark_w, w - label_w - spark_w, buf, SMT_ROLE_PANE);
        line++;
    }
    if (line < y + h) {
        smt_text_printf(buf, sizeof buf, "%*s-10m%*snow", label_w, "", spark_w - 7 > 0 ? spark_w - 7 : 1, "");
        smt_screen_str(line, 0, w, buf, SMT_ROLE_PANE);
    }
}

void smt_history_header(const smt_app *app, int y, int x, int w)
{
    enum { CELLS = 20 };
    if (w - x < 40)
        return;
    const smt_history_pane *p = smt_app_pane_state((smt_app *)app, "history");
    if (!p || smt_history_len(&p->hist) < 2 || smt_history_max(&p->hist, SMT_HIST_EVENTS, SMT_HISTORY_SECONDS) == 0)
        return; /* nothing happened yet: an empty sparkline would only puzzle */
    char spark[CELLS * 4 + 1], buf[CELLS * 4 + 32];
    smt_history_sparkline(&p->hist, SMT_HIST_EVENTS, SMT_HISTORY_SECONDS, CELLS, smt_screen_utf8(), spark, sizeof spark);
    smt_text_printf(buf, sizeof buf, "events/s 10m %s ", spark);
    int bw = smt_text_width(buf, strlen(buf));
    smt_screen_str(y, w - bw, bw, buf, SMT_ROLE_DEFAULT);
}

static smt_handled history_action(void *state, smt_action a)
{
    (void)state;
    (void)a;
    return SMT_UNHANDLED;
}

static void *history_create(smt_app *app)
{
    smt_history_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_history_init(&p->hist);
    p->shown_sec = -1;
    return p;
}

const smt_pane_ops smt_pane_history = {
    .name = "history",
    .ctx = SMT_CTX_HISTORY,
    .layout = SMT_LAYOUT_SPLIT,
    .open_action = SMT_ACT_HISTORY,
    .toggles = true,
    .hint = " History of the last 10 minutes (rates: the last whole second)  Esc close",
    .create = history_create,
    .destroy = free,
    .draw = history_draw,
    .action = history_action,
    .tick = history_tick,
    .event = history_event,
};
