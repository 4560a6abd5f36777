/* Drawing primitives of the monitor: untrusted text in a fixed width, fills, segments, the line editor. */
#include "tui/screen.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

#include "tui/palette.h"
#include "tui/text.h"

#define LINE_COLS_MAX 1024
static wchar_t wbuf[SMT_TEXT_CAP(LINE_COLS_MAX)];

bool smt_screen_utf8(void)
{
    return MB_CUR_MAX > 1;
}

/* n blank cells from (y, x) in the window's current attributes. One store per cell: spaces
 * through waddnwstr took curses' whole character path each (width, rendition, wrapping), a
 * third of a frame's work in the row fills and cell padding alone. whline_set renders its
 * blank exactly as waddnwstr renders a space (the window's attributes over its background) and
 * never wraps or moves the cursor (which nothing here relies on: every draw is positioned). */
static void blank_cells(int y, int x, int n)
{
    static cchar_t blank;
    static bool ready;
    if (!ready) {
        setcchar(&blank, L" ", WA_NORMAL, 0, NULL);
        ready = true;
    }
    mvwhline_set(stdscr, y, x, &blank, n);
}

int smt_screen_text(int y, int x, int w, const char *s, size_t len, int role)
{
    int room = getmaxx(stdscr) - x; /* never wrap onto the next line, whatever the caller computed */
    if (w > room)
        w = room;
    if (w <= 0 || x < 0 || y < 0 || y >= getmaxy(stdscr))
        return 0;
    if (w > LINE_COLS_MAX)
        w = LINE_COLS_MAX;
    int used = smt_text_fit(s, len, w, false, wbuf, sizeof wbuf / sizeof *wbuf, NULL);
    smt_palette_use(stdscr, (smt_role)role);
    if (wbuf[0])
        mvwaddnwstr(stdscr, y, x, wbuf, -1);
    if (used < w) { /* the padding */
        blank_cells(y, x + used, w - used);
        used = w;
    }
    return used;
}

int smt_screen_str(int y, int x, int w, const char *s, int role)
{
    return smt_screen_text(y, x, w, s ? s : "", s ? strlen(s) : 0, role);
}

void smt_screen_fill(int y, int x, int w, int role)
{
    smt_screen_text(y, x, w, "", 0, role);
}

int smt_screen_seg(int y, int x, int maxx, const char *s, int role)
{
    if (x >= maxx || !s)
        return x;
    int w = smt_text_width(s, strlen(s));
    if (w > maxx - x)
        w = maxx - x;
    return x + smt_screen_text(y, x, w, s, strlen(s), role);
}

void smt_screen_line_editor(int y, int x, int w, const smt_line *l, size_t error_column)
{
    if (w <= 1)
        return;
    size_t start = 0;
    int before = smt_text_width(l->buf, l->cur);
    while (before > w - 2 && start < l->cur) {
        size_t next = smt_text_next_char(l->buf, l->len, start);
        before -= smt_text_width(l->buf + start, next - start);
        start = next;
    }
    smt_screen_text(y, x, w, l->buf + start, l->len - start, SMT_ROLE_PROMPT);
    if (error_column > 0 && error_column - 1 >= start && error_column - 1 <= l->len) {
        size_t at = error_column - 1;
        int ex = x + smt_text_width(l->buf + start, at - start);
        size_t end = at < l->len ? smt_text_next_char(l->buf, l->len, at) : at;
        if (ex < x + w)
            smt_screen_text(y, ex, 1, at < l->len ? l->buf + at : " ", at < l->len ? end - at : 1,
                            SMT_ROLE_FILTER_ERROR);
    }
    int cx = x + smt_text_width(l->buf + start, l->cur - start);
    if (cx < x + w) {
        size_t end = l->cur < l->len ? smt_text_next_char(l->buf, l->len, l->cur) : l->cur;
        const char *c = l->cur < l->len ? l->buf + l->cur : " ";
        size_t clen = l->cur < l->len ? end - l->cur : 1;
        int cw = smt_text_width(c, clen);
        smt_screen_text(y, cx, cw > 0 ? cw : 1, c, clen, SMT_ROLE_PROMPT);
        mvwchgat(stdscr, y, cx, cw > 0 ? cw : 1, smt_palette_attr(SMT_ROLE_PROMPT) | A_REVERSE,
                 smt_palette_pair(SMT_ROLE_PROMPT), NULL);
    }
}

void smt_screen_frame(int top, int left, int h, int w, int role)
{
    int rows = getmaxy(stdscr), cols = getmaxx(stdscr);
    chtype fa = smt_palette_attr((smt_role)role) | (chtype)COLOR_PAIR(smt_palette_pair((smt_role)role));
    mvwaddch(stdscr, top, left, ACS_ULCORNER | fa);
    mvwhline(stdscr, top, left + 1, ACS_HLINE | fa, w - 2);
    mvwaddch(stdscr, top, left + w - 1, ACS_URCORNER | fa);
    mvwvline(stdscr, top + 1, left, ACS_VLINE | fa, h - 2);
    mvwvline(stdscr, top + 1, left + w - 1, ACS_VLINE | fa, h - 2);
    mvwaddch(stdscr, top + h - 1, left, ACS_LLCORNER | fa);
    mvwhline(stdscr, top + h - 1, left + 1, ACS_HLINE | fa, w - 2);
    /* the last cell of the screen: addch there would scroll; insert instead */
    if (top + h - 1 == rows - 1 && left + w - 1 == cols - 1)
        mvwinsch(stdscr, top + h - 1, left + w - 1, ACS_LRCORNER | fa);
    else
        mvwaddch(stdscr, top + h - 1, left + w - 1, ACS_LRCORNER | fa);
}
