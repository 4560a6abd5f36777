/* Drawing primitives of the monitor: untrusted text in a fixed width, fills, segments, the line editor. */
#ifndef SMT_SCREEN_H
#define SMT_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/lineedit.h"

/* Draws untrusted text s[0..len) at (y, x) in exactly w columns with a role. Returns columns used. */
int smt_screen_text(int y, int x, int w, const char *s, size_t len, int role);
/* Same for a NUL-terminated string (NULL draws nothing but the fill). */
int smt_screen_str(int y, int x, int w, const char *s, int role);
/* Fills a line range with a role's background. */
void smt_screen_fill(int y, int x, int w, int role);
/* Draws s without padding; returns the new x (stops at maxx). */
int smt_screen_seg(int y, int x, int maxx, const char *s, int role);
/* A line editor's text in w columns with a visible cursor cell and an error column (1-based, 0 = none). */
void smt_screen_line_editor(int y, int x, int w, const smt_line *l, size_t error_column);
/* A framed box of h lines and w columns at (top, left) in a role's look. */
void smt_screen_frame(int top, int left, int h, int w, int role);
/* True when the terminal takes UTF-8 (arrows, bullets). */
bool smt_screen_utf8(void);

#endif
