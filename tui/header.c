/* The monitor's two header lines: the connection (state, why it is not live, the next attempt),
 * the counts, who and where; then what the table shows. */
#include "tui/header.h"

#include <string.h>

#include "tui/palette.h"
#include "tui/pane_history.h" /* issue 13: the compact history */
#include "tui/screen.h"
#include "tui/text.h"

#define HEADER_KEEP_COLS 26       /* after a connection failure's reason: the session count and "as of" */
#define HEADER_REASON_MIN_COLS 20 /* a failure's reason is cut shorter only when the attempt would not fit */

/* While the header counts down to the next connection attempt: ms left (> 0), else 0. */
int64_t smt_header_countdown_ms(const smt_app *app, const smt_link *link)
{
    bool failing = link->conn_failure[0] && (link->conn == SMT_CONN_CONNECTING || link->conn == SMT_CONN_RECONNECTING);
    return failing && link->conn_retry_at > app->now ? (int64_t)(link->conn_retry_at - app->now) : 0;
}

bool smt_header_stale(const smt_app *app, const smt_link *link)
{
    if (link->conn != SMT_CONN_LIVE && link->conn != SMT_CONN_SYNCING)
        return true;
    return link->heartbeat_ms > 0 && link->last_heard && app->now > link->last_heard + (uint64_t)link->heartbeat_ms;
}

/* The first line: liveness, read-only, the connection and why it is not live, counts, who and where. */
static void draw_connection_line(const smt_app *app, const smt_link *link)
{
    int w = app->screen_cols;
    char buf[512];
    smt_screen_fill(0, 0, w, SMT_ROLE_HEADER);
    int x = smt_screen_seg(0, 0, w, " sessmon ", SMT_ROLE_HEADER_VALUE);
    if (smt_view_paused(app->view)) {
        smt_text_printf(buf, sizeof buf, " PAUSED %zu queued ", smt_view_pending(app->view));
        x = smt_screen_seg(0, x, w, buf, SMT_ROLE_BADGE_PAUSED);
    } else if (smt_header_stale(app, link)) { /* what is shown is not being updated */
        /* connected but silent: how long (a dropped connection says "as of" further on) */
        if ((link->conn == SMT_CONN_LIVE || link->conn == SMT_CONN_SYNCING) && link->last_heard &&
            app->now >= link->last_heard + 1000)
            smt_text_printf(buf, sizeof buf, " STALE: nothing heard for %llu s ",
                            (unsigned long long)((app->now - link->last_heard) / 1000));
        else
            smt_text_printf(buf, sizeof buf, " STALE ");
        x = smt_screen_seg(0, x, w, buf, SMT_ROLE_BADGE_PAUSED);
    } else {
        x = smt_screen_seg(0, x, w, " LIVE ", SMT_ROLE_BADGE_LIVE);
    }
    if (app->read_only) {
        smt_text_printf(buf, sizeof buf, " READ-ONLY (%s) ", app->read_only_reason);
        x = smt_screen_seg(0, x + 1, w, buf, SMT_ROLE_BADGE_READONLY);
    }
    static const char *const conn_names[] = {"connecting", "syncing", "connected", "reconnecting", "disconnected"};
    bool ok = link->conn == SMT_CONN_LIVE;
    int conn_role = ok ? SMT_ROLE_CONN_OK : SMT_ROLE_CONN_BAD;
    /* why the last attempt failed and when the next one comes, as long as the library retries */
    bool failing = link->conn_failure[0] && (link->conn == SMT_CONN_CONNECTING || link->conn == SMT_CONN_RECONNECTING);
    smt_text_printf(buf, sizeof buf, " %s%s%s", smt_screen_utf8() ? "\u25cf " : "", conn_names[link->conn],
                    failing ? ": " : " ");
    x = smt_screen_seg(0, x + 1, w, buf, conn_role);
    if (failing) {
        char tail[96];
        size_t off = smt_text_printf(tail, sizeof tail, " %s attempt %u", smt_screen_utf8() ? "\u2014" : "-",
                                     link->conn_attempt);
        int64_t left = smt_header_countdown_ms(app, link);
        if (left >= 10000)
            smt_text_printf(tail + off, sizeof tail - off, ", next in %lld s ", (long long)((left + 999) / 1000));
        else if (left > 0)
            smt_text_printf(tail + off, sizeof tail - off, ", next in %lld.%lld s ",
                            (long long)((left + 99) / 100 / 10), (long long)((left + 99) / 100 % 10));
        else
            smt_text_printf(tail + off, sizeof tail - off, "%s ", link->conn_retry_at ? ", retrying now" : "");
        /* the reason gives way first: beyond its first columns to the counts and the age of
         * the figures, then entirely to the attempt and the countdown */
        int tail_w = smt_text_width(tail, strlen(tail));
        int room = w - x - tail_w - HEADER_KEEP_COLS;
        if (room < HEADER_REASON_MIN_COLS)
            room = w - x - tail_w < HEADER_REASON_MIN_COLS ? w - x - tail_w : HEADER_REASON_MIN_COLS;
        x = smt_screen_seg(0, x, x + room, link->conn_failure, conn_role);
        x = smt_screen_seg(0, x, w, tail, conn_role);
    }
    size_t open = smt_model_open_count(app->model);
    size_t disc = smt_model_disconnected_count(app->model);
    size_t off = smt_text_printf(buf, sizeof buf, " %zu session%s", open, open == 1 ? "" : "s");
    if (disc)
        smt_text_printf(buf + off, sizeof buf - off, " (%zu disconnected)", disc);
    x = smt_screen_seg(0, x, w, buf, SMT_ROLE_HEADER_VALUE);
    bool stale = link->conn != SMT_CONN_LIVE && link->conn != SMT_CONN_SYNCING;
    char t[16];
    if (stale && link->stale_since > 0 && smt_text_format_time(link->stale_since, true, t, sizeof t)) {
        smt_text_printf(buf, sizeof buf, " as of %s", t); /* how old the figures on screen are */
        x = smt_screen_seg(0, x, w, buf, SMT_ROLE_CONN_BAD);
    } else {
        smt_text_printf(buf, sizeof buf, " %.0f ev/s", smt_model_event_rate(app->model, app->now));
        x = smt_screen_seg(0, x, w, buf, SMT_ROLE_HEADER);
    }
    /* while the connection is not live, why comes before who and where (a failed attempt,
     * shown above, is the newer why) */
    if (link->conn_detail[0] && link->conn != SMT_CONN_LIVE && !failing) {
        smt_text_printf(buf, sizeof buf, " %s", link->conn_detail);
        x = smt_screen_seg(0, x, w, buf, SMT_ROLE_CONN_BAD);
    }
    /* a connection attempt that gets no answer gives no reason: at least say for how long */
    if ((link->conn == SMT_CONN_CONNECTING || link->conn == SMT_CONN_RECONNECTING) && link->conn_since &&
        app->now >= link->conn_since + 3000) {
        smt_text_printf(buf, sizeof buf, " (%llu s)", (unsigned long long)((app->now - link->conn_since) / 1000));
        x = smt_screen_seg(0, x, w, buf, SMT_ROLE_CONN_BAD);
    }
    smt_text_printf(buf, sizeof buf, " %s@%s%s%s%s", link->principal[0] ? link->principal : "(anonymous)", link->url,
             link->server_name[0] ? " (" : "", link->server_name, link->server_name[0] ? ")" : "");
    smt_screen_seg(0, x, w, buf, SMT_ROLE_HEADER);
}

/* The second line: what the table shows (filter, search, sort, counts), or the filter's error. */
static void draw_view_line(const smt_app *app)
{
    int w = app->screen_cols;
    char buf[512];
    int x = 0;
    smt_screen_fill(1, 0, w, SMT_ROLE_DEFAULT);
    if (app->prompt.kind == SMT_PROMPT_FILTER && app->prompt.error[0]) {
        smt_text_printf(buf, sizeof buf, " %s ", app->prompt.error);
        smt_screen_seg(1, 0, w, buf, SMT_ROLE_FILTER_ERROR);
        return;
    }
    /* "Shown" is the count that matters most: when the line is too narrow the rest gives way */
    size_t shown = smt_view_count(app->view), closing = smt_view_closing_count(app->view);
    char shown_text[96], closing_text[48] = "";
    smt_text_printf(shown_text, sizeof shown_text, "  Shown: %zu of %zu", shown - (closing < shown ? closing : shown),
                   smt_model_open_count(app->model));
    if (closing)
        smt_text_printf(closing_text, sizeof closing_text, " (+%zu closing)", closing);
    const char *filter = smt_view_filter_text(app->view);
    const char *search = smt_view_search(app->view);
    char sort[SM_KEY_MAX + 32];
    smt_text_printf(sort, sizeof sort, "  Sort: %s %s", smt_column_title(smt_view_sort_key(app->view)),
                    smt_view_sort_descending(app->view) ? (smt_screen_utf8() ? "\u25bc" : "v")
                                                        : (smt_screen_utf8() ? "\u25b2" : "^"));
    int sw = smt_text_width(shown_text, strlen(shown_text)) + smt_text_width(closing_text, strlen(closing_text));
    int lw = (filter[0] ? 9 + smt_text_width(filter, strlen(filter)) : 13) +
             (search[0] ? 10 + smt_text_width(search, strlen(search)) : 0) + smt_text_width(sort, strlen(sort));
    int lim = lw + sw <= w || sw >= w ? w : w - sw;
    if (filter[0]) {
        x = smt_screen_seg(1, x, lim, " Filter: ", SMT_ROLE_FILTER_OK);
        x = smt_screen_seg(1, x, lim, filter, SMT_ROLE_FILTER_OK);
    } else {
        x = smt_screen_seg(1, x, lim, " Filter: none", SMT_ROLE_DEFAULT);
    }
    if (search[0]) {
        x = smt_screen_seg(1, x, lim, "  Search: ", SMT_ROLE_FILTER_OK);
        x = smt_screen_seg(1, x, lim, search, SMT_ROLE_FILTER_OK);
    }
    x = smt_screen_seg(1, x, lim, sort, SMT_ROLE_DEFAULT);
    x = smt_screen_seg(1, x, w, shown_text, SMT_ROLE_DEFAULT);
    x = smt_screen_seg(1, x, w, closing_text, SMT_ROLE_ROW_CLOSING);
    smt_history_header(app, 1, x, w); /* issue 13: the compact history, when there is room */
}


void smt_header_draw(const smt_app *app, const smt_link *link)
{
    draw_connection_line(app, link);
    draw_view_line(app);
}
