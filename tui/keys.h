/* The key bindings: dispatch, read-only allow-list, help overlay and key bar from one table. */
#ifndef SMT_TUI_KEYS_H
#define SMT_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key: a Unicode code point (characters, ctrl-X as 1..26, Esc 27), or a curses key code
 * wrapped with SMT_KEY_FN so the two ranges never collide. */
#define SMT_KEY_FN(k) ((int32_t)(0x1000000 | (k)))
#define SMT_KEY_IS_FN(k) (((k)&0x1000000) != 0)
#define SMT_KEY_ESC 27
#define SMT_KEY_CTRL(c) ((c)&0x1f)

/* Where the key was pressed: the focused pane. */
typedef enum smt_ctx {
    SMT_CTX_TABLE = 0, /* the session table (also with the passive inspect pane) */
    SMT_CTX_EDIT,
    SMT_CTX_BULK,
    SMT_CTX_LOG,
    SMT_CTX_COLUMNS,
    SMT_CTX_HELP,
    SMT_CTX_CLOSE, /* the close pane */
    /* issue 13, items 3 and 4 */
    SMT_CTX_GROUP,
    SMT_CTX_HISTORY,
    SMT_CTX_COMMAND,
    SMT_CTX_COUNT
} smt_ctx;

typedef enum smt_action {
    SMT_ACT_NONE = 0,
    SMT_ACT_QUIT,
    SMT_ACT_HELP,
    SMT_ACT_UP,
    SMT_ACT_DOWN,
    SMT_ACT_PGUP,
    SMT_ACT_PGDN,
    SMT_ACT_HOME,
    SMT_ACT_END,
    SMT_ACT_SCROLL_LEFT,
    SMT_ACT_SCROLL_RIGHT,
    SMT_ACT_SEARCH,
    SMT_ACT_FILTER,
    SMT_ACT_ESCAPE,
    SMT_ACT_SORT_NEXT,
    SMT_ACT_SORT_PREV,
    SMT_ACT_SORT_REVERSE,
    SMT_ACT_PAUSE,
    SMT_ACT_INSPECT,
    SMT_ACT_INSPECT_SCROLL_UP,
    SMT_ACT_INSPECT_SCROLL_DOWN,
    SMT_ACT_EDIT,
    SMT_ACT_BULK,
    SMT_ACT_LOG,
    SMT_ACT_COLUMNS,
    SMT_ACT_THEME_NEXT,
    SMT_ACT_THEME_PREV,
    SMT_ACT_REDRAW,
    SMT_ACT_CLOSE,
    /* edit pane */
    SMT_ACT_EDIT_ADD,
    SMT_ACT_EDIT_CHANGE,
    SMT_ACT_EDIT_DELETE,
    SMT_ACT_EDIT_UNDO,
    /* bulk pane */
    SMT_ACT_BULK_FILTER,
    SMT_ACT_BULK_ADD_SET,
    SMT_ACT_BULK_ADD_DELETE,
    SMT_ACT_BULK_REMOVE,
    SMT_ACT_BULK_APPLY,
    SMT_ACT_BULK_UNDO,
    /* event log */
    SMT_ACT_LOG_SESSIONS,
    /* column chooser */
    SMT_ACT_COL_TOGGLE,
    SMT_ACT_COL_MOVE_UP,
    SMT_ACT_COL_MOVE_DOWN,
    SMT_ACT_COL_SORT,
    SMT_ACT_COL_RESET,
    SMT_ACT_COL_SAVE,
    /* closing sessions, tags, copying (table and close pane) */
    SMT_ACT_CLOSE_SESSIONS,
    SMT_ACT_CLOSE_FILTER,
    SMT_ACT_CLOSE_APPLY,
    SMT_ACT_TAG,
    SMT_ACT_TAG_CLEAR,
    SMT_ACT_COPY_ID,
    SMT_ACT_COPY_ROW,
    SMT_ACT_FILTER_RESTORE,
    /* issue 13, items 3, 4, 5 and 7: group-by, history, the log's filter and jump, the command line */
    SMT_ACT_GROUP,
    SMT_ACT_GROUP_KEY_NEXT,
    SMT_ACT_GROUP_KEY_PREV,
    SMT_ACT_GROUP_SORT,
    SMT_ACT_GROUP_REVERSE,
    SMT_ACT_GROUP_DRILL,
    SMT_ACT_HISTORY,
    SMT_ACT_LOG_FILTER,
    SMT_ACT_LOG_JUMP,
    SMT_ACT_LOG_SAVE,
    SMT_ACT_COMMAND,
    SMT_ACT_COUNT
} smt_action;

enum {
    SMT_KEYF_SAFE = 1u << 0,   /* allowed in read-only mode (the allow-list) */
    SMT_KEYF_GLOBAL = 1u << 1, /* also works while another pane has the focus */
    SMT_KEYF_BAR = 1u << 2     /* shown in the bottom key bar (its first key is an F-key) */
};

#define SMT_BINDING_KEYS 4

typedef struct smt_binding {
    smt_ctx ctx;
    int32_t keys[SMT_BINDING_KEYS]; /* 0-terminated when fewer */
    const char *label;             /* how help writes the keys */
    const char *bar;               /* short key bar label, or NULL */
    smt_action action;
    unsigned flags;
    const char *help;
} smt_binding;

/* The binding for key in ctx: the pane's own bindings first, then the global ones. NULL when
 * the key is not bound there. */
const smt_binding *smt_keys_lookup(smt_ctx ctx, int32_t key);
/* The allow-list check done at the one dispatch point. */
bool smt_keys_allowed(const smt_binding *b, bool read_only);
/* True when the action changes sessions on the server (for the guards inside the actions). */
bool smt_action_mutates(smt_action a);

/* How a key reads in a message: "x", "Tab", "F11", "^X", "Alt-…" never (Esc comes apart). */
const char *smt_key_name(int32_t key, char *buf, size_t cap);

size_t smt_keys_count(void);
const smt_binding *smt_keys_at(size_t i);
const char *smt_ctx_title(smt_ctx ctx);

#endif
