/* A UTF-8 one-line text editor for the prompts and dialogs. */
#ifndef SM_TUI_LINEEDIT_H
#define SM_TUI_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_LINE_MAX 4096 /* bytes: the longest filter or value */

typedef struct sm_line {
    char buf[SM_LINE_MAX + 1];
    size_t len;
    size_t cur; /* byte offset of the cursor, always on a character boundary */
    size_t max; /* 0 = SM_LINE_MAX */
} sm_line;

typedef enum sm_line_result {
    SM_LINE_IGNORED = 0, /* not an editing key */
    SM_LINE_MOVED,       /* cursor moved */
    SM_LINE_CHANGED      /* text changed */
} sm_line_result;

/* Editing keys, independent of curses (the UI translates). */
enum {
    SM_LK_LEFT = -1,
    SM_LK_RIGHT = -2,
    SM_LK_HOME = -3,
    SM_LK_END = -4,
    SM_LK_BACKSPACE = -5,
    SM_LK_DELETE = -6,
    SM_LK_KILL_LINE = -7, /* ctrl-u */
    SM_LK_KILL_END = -8,  /* ctrl-k */
    SM_LK_KILL_WORD = -9  /* ctrl-w */
};

void sm_line_init(sm_line *l, size_t max);
/* Replaces the text (truncated at max on a character boundary); cursor at the end. */
void sm_line_set(sm_line *l, const char *s);
/* key: a Unicode code point to insert (>= 0x20, not DEL or C1), or one of SM_LK_*. */
sm_line_result sm_line_key(sm_line *l, int32_t key);

#endif
