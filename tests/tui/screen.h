/* Test helpers: read back what the UI painted on the virtual curses screen (stdscr). */
#ifndef SM_TEST_TUI_SCREEN_H
#define SM_TEST_TUI_SCREEN_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

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
