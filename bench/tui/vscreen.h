/* The in-process monitor benches' terminal (a virtual xterm, curses drawing into /dev/null, and a monitor UI on it) and their events. */
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

/* Listener events handed to the UI as the connection would: an OPEN with the whole set (a
 * snapshot's, or a live one), and a PROPERTIES update (now: the new values of the n keys that
 * changed, before: their old values). The session is ACTIVE. */
void bench_ui_open(smt_ui *ui, const char *id, const sm_property *props, size_t n, bool snapshot);
void bench_ui_update(smt_ui *ui, const char *id, const sm_property *now, const sm_property *before, size_t n);

#endif
