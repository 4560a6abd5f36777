/* Test helpers: a virtual curses screen (newterm on /dev/null) and reading back what the UI painted on it. */
#ifndef SM_TEST_TUI_SCREEN_H
#define SM_TEST_TUI_SCREEN_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct test_screen {
    SCREEN *scr;
    FILE *out, *in;
} test_screen;

/* An xterm-256color screen of rows x cols that paints into /dev/null. 0, or -1 (nothing left open). */
static inline int test_screen_open(test_screen *s, int rows, int cols)
{
    s->out = fopen("/dev/null", "w");
    s->in = fopen("/dev/null", "r");
    s->scr = s->out && s->in ? newterm("xterm-256color", s->out, s->in) : NULL;
    if (!s->scr) {
        if (s->out)
            fclose(s->out);
        if (s->in)
            fclose(s->in);
        return -1;
    }
    resizeterm(rows, cols);
    return 0;
}

static inline void test_screen_close(test_screen *s)
{
    endwin();
    delscreen(s->scr);
    fclose(s->out);
    fclose(s->in);
}

/* Screen line y as UTF-8 (wide characters once, trailing blanks kept). */
static inline void line_at(int y, char *buf, size_t cap)
{
    wchar_t w[512];
    int cols = getmaxx(stdscr);
    mvwinnwstr(stdscr, y, 0, w, cols < 511 ? cols : 511);
    w[511] = 0;
    wcstombs(buf, w, cap);
    buf[cap - 1] = '\0';
}

static inline bool screen_has(const char *text)
{
    char buf[2048];
    for (int y = 0; y < getmaxy(stdscr); y++) {
        line_at(y, buf, sizeof buf);
        if (strstr(buf, text))
            return true;
    }
    return false;
}

#endif
