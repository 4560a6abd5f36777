/* The key bindings: dispatch, read-only allow-list, help overlay and key bar from one table. */
#ifndef SM_TUI_KEYS_H
#define SM_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key: a Unicode code point (characters, ctrl-X as 1..26, Esc 27), or a curses key code
 * wrapped with SM_KEY_FN so the two ranges never collide. */
#define SM_KEY_FN(k) ((int32_t)(0x1000000 | (k)))
#define SM_KEY_IS_FN(k) (((k)&0x1000000) != 0)
#define SM_KEY_ESC 27
#define SM_KEY_CTRL(c) ((c)&0x1f)

/* Where the key was pressed: the focused pane. */
typedef enum sm_ctx {
    SM_CTX_TABLE = 0, /* the session table (also with the passive inspect pane) */
    SM_CTX_EDIT,
    SM_CTX_BULK,
    SM_CTX_LOG,
    SM_CTX_COLUMNS,
    SM_CTX_HELP,
    SM_CTX_COUNT
} sm_ctx;

typedef enum sm_action {
    SM_ACT_NONE = 0,
    SM_ACT_QUIT,
    SM_ACT_HELP,
    SM_ACT_UP,
    SM_ACT_DOWN,
    SM_ACT_PGUP,
    SM_ACT_PGDN,
    SM_ACT_HOME,
    SM_ACT_END,
    SM_ACT_SCROLL_LEFT,
    SM_ACT_SCROLL_RIGHT,
    SM_ACT_SEARCH,
    SM_ACT_FILTER,
    SM_ACT_ESCAPE,
    SM_ACT_SORT_NEXT,
    SM_ACT_SORT_PREV,
    SM_ACT_SORT_REVERSE,
    SM_ACT_PAUSE,
    SM_ACT_INSPECT,
    SM_ACT_INSPECT_SCROLL_UP,
    SM_ACT_INSPECT_SCROLL_DOWN,
    SM_ACT_EDIT,
    SM_ACT_BULK,
    SM_ACT_LOG,
    SM_ACT_COLUMNS,
    SM_ACT_THEME_NEXT,
    SM_ACT_THEME_PREV,
    SM_ACT_REDRAW,
    SM_ACT_CLOSE,
    /* edit pane */
    SM_ACT_EDIT_ADD,
    SM_ACT_EDIT_CHANGE,
    SM_ACT_EDIT_DELETE,
    SM_ACT_EDIT_UNDO,
    /* bulk pane */
    SM_ACT_BULK_FILTER,
    SM_ACT_BULK_ADD_SET,
    SM_ACT_BULK_ADD_DELETE,
    SM_ACT_BULK_REMOVE,
    SM_ACT_BULK_APPLY,
    SM_ACT_BULK_UNDO,
    /* event log */
    SM_ACT_LOG_SESSIONS,
    /* column chooser */
    SM_ACT_COL_TOGGLE,
    SM_ACT_COL_MOVE_UP,
    SM_ACT_COL_MOVE_DOWN,
    SM_ACT_COL_SORT,
    SM_ACT_COL_RESET,
    SM_ACT_COL_SAVE,
    SM_ACT_COUNT
} sm_action;

enum {
    SM_KEYF_SAFE = 1u << 0,   /* allowed in read-only mode (the allow-list) */
    SM_KEYF_GLOBAL = 1u << 1, /* also works while another pane has the focus */
    SM_KEYF_BAR = 1u << 2     /* shown in the bottom key bar (its first key is an F-key) */
};

#define SM_BINDING_KEYS 4

typedef struct sm_binding {
    sm_ctx ctx;
    int32_t keys[SM_BINDING_KEYS]; /* 0-terminated when fewer */
    const char *label;             /* how help writes the keys */
    const char *bar;               /* short key bar label, or NULL */
    sm_action action;
    unsigned flags;
    const char *help;
} sm_binding;

/* The binding for key in ctx: the pane's own bindings first, then the global ones. NULL when
 * the key is not bound there. */
const sm_binding *sm_keys_lookup(sm_ctx ctx, int32_t key);
/* The allow-list check done at the one dispatch point. */
bool sm_keys_allowed(const sm_binding *b, bool read_only);
/* True when the action changes sessions on the server (for the guards inside the actions). */
bool sm_action_mutates(sm_action a);

size_t sm_keys_count(void);
const sm_binding *sm_keys_at(size_t i);
const char *sm_ctx_title(sm_ctx ctx);

#endif
