/* The in-process monitor benches' terminal: a virtual xterm (curses drawing into /dev/null) and a monitor UI on it. */
#ifndef SM_BENCH_TUI_VSCREEN_H
#define SM_BENCH_TUI_VSCREEN_H

#include <curses.h>
#include <stdio.h>

#include "tui/ui.h"

typedef struct bench_vscreen {
    FILE *out, *in;
    SCREEN *screen;
    smt_ui *ui; /* the default theme, colours on, no backend */
} bench_vscreen;

/* A rows x cols xterm-256color screen in the C.UTF-8 locale and a UI on it. On failure prints
 * why (naming bench) and returns false with nothing left open. */
bool bench_vscreen_open(bench_vscreen *v, const char *bench, int rows, int cols);
void bench_vscreen_close(bench_vscreen *v);

#endif
