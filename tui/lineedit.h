/* A UTF-8 one-line text editor for the prompts and dialogs. */
#ifndef SMT_TUI_LINEEDIT_H
#define SMT_TUI_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMT_LINE_MAX 4096 /* bytes: the longest filter or value */

typedef struct smt_line {
    char buf[SMT_LINE_MAX + 1];
    size_t len;
    size_t cur; /* byte offset of the cursor, always on a character boundary */
    size_t max; /* 0 = SMT_LINE_MAX */
} smt_line;

typedef enum smt_line_result {
    SMT_LINE_IGNORED = 0, /* not an editing key */
    SMT_LINE_MOVED,       /* cursor moved */
    SMT_LINE_CHANGED      /* text changed */
} smt_line_result;

/* Editing keys, independent of curses (the UI translates). */
enum {
    SMT_LK_LEFT = -1,
    SMT_LK_RIGHT = -2,
    SMT_LK_HOME = -3,
    SMT_LK_END = -4,
    SMT_LK_BACKSPACE = -5,
    SMT_LK_DELETE = -6,
    SMT_LK_KILL_LINE = -7, /* ctrl-u */
    SMT_LK_KILL_END = -8,  /* ctrl-k */
    SMT_LK_KILL_WORD = -9  /* ctrl-w */
};

void smt_line_init(smt_line *l, size_t max);
/* Replaces the text (truncated at max on a character boundary); cursor at the end. */
void smt_line_set(smt_line *l, const char *s);
/* key: a Unicode code point to insert (>= 0x20, not DEL or C1), or one of SMT_LK_*. */
smt_line_result smt_line_key(smt_line *l, int32_t key);

#endif
