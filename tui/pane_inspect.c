/* The inspect pane: every property of the selected session and its recent changes, scrolled. */
#include <stdlib.h>
#include <string.h>

#include "tui/listnav.h"
#include "tui/pane.h"
#include "tui/screen.h"
#include "tui/text.h"

typedef struct inspect_pane {
    smt_app *app;
    smt_list nav;          /* a viewport over the lines the last frame produced */
    const char *shown;     /* the session it showed (compared, never read): another one scrolls back up */
} inspect_pane;

static const char *arrow(void)
{
    return smt_screen_utf8() ? " \u2192 " : " -> ";
}

/* Lines are produced in order; only those inside the scrolled window are drawn. */
typedef struct lines {
    smt_app *app;
    int y, h;    /* window */
    int x, w;    /* column of the screen this list uses */
    int skip;    /* lines scrolled away */
    int n;       /* lines produced so far */
    int keyw;    /* width of the key column */
} lines;

static int line_slot(lines *L)
{
    int i = L->n++ - L->skip;
    return (i >= 0 && i < L->h) ? L->y + i : -1;
}

#define INSPECT_VALUE_LINES 8 /* a long value wraps onto this many lines at most, then "…" */

static void line_kv(lines *L, const char *key, const char *value, size_t vlen, smt_role keyrole, smt_role valrole)
{
    int vw = L->w - L->keyw - 3;
    size_t pos = 0;
    int n = 0;
    do { /* long values wrap under themselves, so the whole of a value can be read (with [ ]) */
        size_t end = n + 1 == INSPECT_VALUE_LINES || vw < 8 ? vlen : smt_text_wrap(value, vlen, pos, vw);
        int y = line_slot(L);
        if (y >= 0) {
            if (n == 0)
                smt_screen_str(y, L->x + 1, L->keyw, key, keyrole);
            smt_screen_text(y, L->x + L->keyw + 2, vw, value + pos, end - pos, valrole);
        }
        pos = end < vlen && value[end] == ' ' ? end + 1 : end;
        n++;
    } while (pos < vlen);
}

static void line_text(lines *L, const char *text, smt_role role)
{
    int y = line_slot(L);
    if (y < 0)
        return;
    smt_screen_str(y, L->x, L->w, text, role);
}

static void inspect_fixed(lines *L, const smt_row *r)
{
    smt_app *app = L->app;
    char buf[512];
    line_text(L, " Fixed properties", SMT_ROLE_PANE_TITLE);
    for (size_t f = 0; f < sm_fixed_property_count; f++) {
        const char *key = sm_fixed_property_names[f];
        const char *v = smt_row_get(r, key);
        if (!v)
            continue;
        smt_role vr = smt_row_key_recent(r, key, app->now) ? SMT_ROLE_INSPECT_CHANGED : SMT_ROLE_PANE;
        if (strcmp(key, SM_PROP_START_TIME) == 0) {
            char t[64];
            char *end;
            long long ms = strtoll(v, &end, 10);
            if (*end == '\0' && smt_text_format_time(ms, false, t, sizeof t)) {
                smt_text_printf(buf, sizeof buf, "%s (%s)", t, v);
                line_kv(L, key, buf, strlen(buf), SMT_ROLE_INSPECT_FIXED_KEY, vr);
                continue;
            }
        }
        line_kv(L, key, v, sm_intern_len(v), SMT_ROLE_INSPECT_FIXED_KEY, vr);
    }
    for (uint32_t i = 0; i < r->nprops; i++) { /* $ keys this version does not know */
        const char *key = r->props[i].key;
        if (sm_key_is_fixed(key) && !sm_key_is_known_fixed(key))
            line_kv(L, key, r->props[i].value, sm_intern_len(r->props[i].value), SMT_ROLE_INSPECT_FIXED_KEY,
                    SMT_ROLE_PANE);
    }
}

static void inspect_user(lines *L, const smt_row *r)
{
    smt_app *app = L->app;
    char buf[128];
    size_t nuser = 0;
    for (uint32_t i = 0; i < r->nprops; i++)
        if (!sm_key_is_fixed(r->props[i].key))
            nuser++;
    smt_text_printf(buf, sizeof buf, " User properties (%zu)", nuser);
    line_text(L, buf, SMT_ROLE_PANE_TITLE);
    if (nuser == 0)
        line_text(L, "   (none)", SMT_ROLE_PANE);
    for (uint32_t i = 0; i < r->nprops; i++) {
        const char *key = r->props[i].key;
        if (sm_key_is_fixed(key))
            continue;
        smt_role vr = smt_row_key_recent(r, key, app->now) ? SMT_ROLE_INSPECT_CHANGED : SMT_ROLE_PANE;
        line_kv(L, key, r->props[i].value, sm_intern_len(r->props[i].value), SMT_ROLE_INSPECT_KEY, vr);
    }
}

static void inspect_history(lines *L, const smt_row *r)
{
    smt_app *app = L->app;
    char buf[128];
    smt_change hist[SMT_MODEL_HISTORY];
    size_t nh = smt_row_history(r, hist, SMT_MODEL_HISTORY);
    smt_text_printf(buf, sizeof buf, " Recent changes (%zu, newest first)", nh);
    line_text(L, buf, SMT_ROLE_PANE_TITLE);
    if (nh == 0)
        line_text(L, "   (none since the monitor started)", SMT_ROLE_PANE);
    int right = L->x + L->w;
    for (size_t i = 0; i < nh; i++) {
        int ly = line_slot(L);
        if (ly < 0)
            continue;
        char t[16] = "";
        int64_t wall = app->wall - (int64_t)(app->now - hist[i].time);
        smt_text_format_time(wall, true, t, sizeof t);
        int x = L->x + 1;
        x += smt_screen_str(ly, x, 9, t, SMT_ROLE_PANE);
        int kw = smt_text_width(hist[i].key, sm_intern_len(hist[i].key));
        if (kw > L->w / 4)
            kw = L->w / 4;
        x += smt_screen_text(ly, x, kw, hist[i].key, sm_intern_len(hist[i].key), SMT_ROLE_INSPECT_KEY);
        x += smt_screen_str(ly, x, 2, ": ", SMT_ROLE_PANE);
        const char *ov = hist[i].old_value ? hist[i].old_value : "(absent)";
        const char *nv = hist[i].new_value ? hist[i].new_value : "(deleted)";
        int rest = right - x - 1;
        if (rest <= 4)
            continue;
        int ow = smt_text_width(ov, strlen(ov));
        if (ow > rest / 2 - 2)
            ow = rest / 2 - 2;
        if (ow < 1)
            ow = 1;
        x += smt_screen_text(ly, x, ow, ov, strlen(ov), SMT_ROLE_PANE);
        x += smt_screen_str(ly, x, 3, arrow(), SMT_ROLE_PANE);
        if (right - x - 1 > 0)
            smt_screen_text(ly, x, right - x - 1, nv, strlen(nv), SMT_ROLE_INSPECT_CHANGED);
    }
}

static int key_width(const smt_row *r, bool fixed, int cap)
{
    int w = 10;
    for (uint32_t i = 0; i < r->nprops; i++) {
        if (sm_key_is_fixed(r->props[i].key) != fixed)
            continue;
        int kw = smt_text_width(r->props[i].key, sm_intern_len(r->props[i].key));
        if (kw > w)
            w = kw;
    }
    return w > cap ? cap : w;
}

static void inspect_draw(void *state, int y, int h)
{
    inspect_pane *p = state;
    smt_app *app = p->app;
    int w = app->screen_cols;
    smt_row *r = smt_ui_selected_row(app);
    char buf[512];
    if (!r) {
        smt_screen_str(y, 0, w, " Inspect: no session selected", SMT_ROLE_PANE_TITLE);
        for (int i = 1; i < h; i++)
            smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
        return;
    }
    if (r->id != p->shown) {
        p->shown = r->id;
        smt_list_select(&p->nav, 0);
    }
    char id[96];
    smt_text_escape(r->id, strlen(r->id), id, sizeof id);
    const char *state_word = r->state == SM_REMOTE_ACTIVE         ? "ACTIVE"
                             : r->state == SM_REMOTE_DISCONNECTED ? "DISCONNECTED"
                                                                 : "CLOSED";
    const char *reason = r->state == SM_REMOTE_CLOSED ? sm_reason_name(r->reason) : NULL;
    smt_text_printf(buf, sizeof buf, " Inspect %s  %s%s%s%s  ([ ] scroll, Esc closes)", id, state_word,
                   reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    smt_screen_str(y, 0, w, buf, SMT_ROLE_PANE_TITLE);
    for (int i = 1; i < h; i++)
        smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
    int skip = (int)p->nav.top;
    int produced;
    if (w >= 100) { /* fixed on the left; user properties and history on the right */
        int half = w / 2;
        lines left = {app, y + 1, h - 1, 0, half, skip, 0, key_width(r, true, half / 3)};
        lines right = {app, y + 1, h - 1, half, w - half, skip, 0, key_width(r, false, half / 3)};
        inspect_fixed(&left, r);
        inspect_user(&right, r);
        line_text(&right, "", SMT_ROLE_PANE);
        inspect_history(&right, r);
        produced = left.n > right.n ? left.n : right.n;
    } else { /* one column: what operators change comes first */
        int kw = key_width(r, false, w / 3);
        int fkw = key_width(r, true, w / 3);
        lines L = {app, y + 1, h - 1, 0, w, skip, 0, kw > fkw ? kw : fkw};
        inspect_user(&L, r);
        inspect_history(&L, r);
        inspect_fixed(&L, r);
        produced = L.n;
    }
    /* never scrolled past the end (the next frame draws the clamped view) */
    smt_list_resize(&p->nav, (size_t)produced, h - 1);
}

static smt_handled inspect_action(void *state, smt_action a)
{
    inspect_pane *p = state;
    switch (a) {
    case SMT_ACT_INSPECT_SCROLL_UP: smt_list_move(&p->nav, -1); return SMT_HANDLED;
    case SMT_ACT_INSPECT_SCROLL_DOWN: smt_list_move(&p->nav, 1); return SMT_HANDLED;
    default: return SMT_UNHANDLED;
    }
}

static bool inspect_open(void *state)
{
    inspect_pane *p = state;
    smt_list_select(&p->nav, 0);
    return true;
}

static void *inspect_create(smt_app *app)
{
    inspect_pane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->app = app;
    smt_list_init(&p->nav, true);
    return p;
}

const smt_pane_ops smt_pane_inspect = {
    .name = "inspect",
    .ctx = SMT_CTX_TABLE, /* passive: the table keeps the keys */
    .layout = SMT_LAYOUT_SPLIT,
    .open_action = SMT_ACT_INSPECT,
    .toggles = true,
    .create = inspect_create,
    .destroy = free,
    .open = inspect_open,
    .draw = inspect_draw,
    .action = inspect_action,
};
