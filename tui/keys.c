/* The key bindings: dispatch, read-only allow-list, help overlay and key bar from one table. */
#include "tui/keys.h"

#include <curses.h>
#include <stdio.h>

#define F(n) SMT_KEY_FN(KEY_F(n))
#define K(k) SMT_KEY_FN(k)
#define SAFE SMT_KEYF_SAFE
#define GLOBAL SMT_KEYF_GLOBAL
#define BAR SMT_KEYF_BAR

/* Deny by default: a binding without SAFE is refused in read-only mode. */
static const smt_binding bindings[] = {
    /* session table */
    {SMT_CTX_TABLE, {F(1), '?', 'h'}, "F1 ? h", "Help", SMT_ACT_HELP, SAFE | GLOBAL | BAR, "show this help"},
    {SMT_CTX_TABLE, {F(2), 'c'}, "F2 c", "Columns", SMT_ACT_COLUMNS, SAFE | BAR, "choose and reorder columns"},
    {SMT_CTX_TABLE, {F(3), '/'}, "F3 /", "Search", SMT_ACT_SEARCH, SAFE | BAR,
     "incremental search: rows whose ID or any displayed cell contains the text"},
    {SMT_CTX_TABLE, {F(4), 'f', '\\'}, "F4 f \\", "Filter", SMT_ACT_FILTER, SAFE | BAR,
     "view filter in the session filter language (checked as you type)"},
    {SMT_CTX_TABLE, {F(5), '\n', '\r', K(KEY_ENTER)}, "F5 Enter", "Inspect", SMT_ACT_INSPECT, SAFE | BAR,
     "open or close the inspect pane for the selected session"},
    {SMT_CTX_TABLE, {'i'}, "i", NULL, SMT_ACT_INSPECT, SAFE, "open or close the inspect pane"},
    {SMT_CTX_TABLE, {F(6), '>'}, "F6 >", "Sort", SMT_ACT_SORT_NEXT, SAFE | BAR, "sort by the next column"},
    {SMT_CTX_TABLE, {'<'}, "<", NULL, SMT_ACT_SORT_PREV, SAFE, "sort by the previous column"},
    {SMT_CTX_TABLE, {'r'}, "r", NULL, SMT_ACT_SORT_REVERSE, SAFE, "reverse the sort order"},
    {SMT_CTX_TABLE, {F(7), 'e'}, "F7 e", "Edit", SMT_ACT_EDIT, BAR,
     "edit the user properties of the selected session"},
    {SMT_CTX_TABLE, {F(8), 'b'}, "F8 b", "Bulk", SMT_ACT_BULK, BAR,
     "bulk update: set or delete properties on every session matching a filter"},
    {SMT_CTX_TABLE, {F(9), 'l'}, "F9 l", "Log", SMT_ACT_LOG, SAFE | GLOBAL | BAR, "show or hide the event log"},
    {SMT_CTX_TABLE, {F(10), 'q'}, "F10 q", "Quit", SMT_ACT_QUIT, SAFE | GLOBAL | BAR, "quit"},
    {SMT_CTX_TABLE, {'p', 'Z'}, "p Z", NULL, SMT_ACT_PAUSE, SAFE | GLOBAL,
     "pause or resume the table (changes queue up while paused)"},
    {SMT_CTX_TABLE, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "select the previous session"},
    {SMT_CTX_TABLE, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "select the next session"},
    {SMT_CTX_TABLE, {K(KEY_PPAGE), SMT_KEY_CTRL('b')}, "PgUp ^B", NULL, SMT_ACT_PGUP, SAFE, "one page up"},
    {SMT_CTX_TABLE, {K(KEY_NPAGE), SMT_KEY_CTRL('f')}, "PgDn ^F", NULL, SMT_ACT_PGDN, SAFE, "one page down"},
    {SMT_CTX_TABLE, {K(KEY_HOME), 'g'}, "Home g", NULL, SMT_ACT_HOME, SAFE, "first session"},
    {SMT_CTX_TABLE, {K(KEY_END), 'G'}, "End G", NULL, SMT_ACT_END, SAFE, "last session"},
    {SMT_CTX_TABLE, {K(KEY_LEFT)}, "Left", NULL, SMT_ACT_SCROLL_LEFT, SAFE, "scroll the columns left"},
    {SMT_CTX_TABLE, {K(KEY_RIGHT)}, "Right", NULL, SMT_ACT_SCROLL_RIGHT, SAFE, "scroll the columns right"},
    {SMT_CTX_TABLE, {'[', 'K'}, "[ K", NULL, SMT_ACT_INSPECT_SCROLL_UP, SAFE, "scroll the inspect pane up"},
    {SMT_CTX_TABLE, {']', 'J'}, "] J", NULL, SMT_ACT_INSPECT_SCROLL_DOWN, SAFE, "scroll the inspect pane down"},
    {SMT_CTX_TABLE, {SMT_KEY_ESC}, "Esc", NULL, SMT_ACT_ESCAPE, SAFE,
     "close the inspect pane, else clear the search, else clear the filter (u puts it back)"},
    {SMT_CTX_TABLE, {'t'}, "t", NULL, SMT_ACT_THEME_NEXT, SAFE | GLOBAL, "next colour theme"},
    {SMT_CTX_TABLE, {'T'}, "T", NULL, SMT_ACT_THEME_PREV, SAFE | GLOBAL, "previous colour theme"},
    {SMT_CTX_TABLE, {SMT_KEY_CTRL('l')}, "^L", NULL, SMT_ACT_REDRAW, SAFE | GLOBAL, "redraw the screen"},

    /* closing sessions, tags, copying */
    {SMT_CTX_TABLE, {'D', SMT_KEY_CTRL('d'), K(KEY_DC)}, "D ^D Del", NULL, SMT_ACT_CLOSE_SESSIONS, 0,
     "close sessions: the tagged ones, else the cursor's (preview and confirmation; there is no undo)"},
    {SMT_CTX_TABLE, {' '}, "Space", NULL, SMT_ACT_TAG, SAFE, "tag or untag the cursor's session and move down"},
    {SMT_CTX_TABLE, {'U'}, "U", NULL, SMT_ACT_TAG_CLEAR, SAFE, "untag every session"},
    {SMT_CTX_TABLE, {'u'}, "u", NULL, SMT_ACT_FILTER_RESTORE, SAFE, "put back the filter or search Esc cleared"},
    {SMT_CTX_TABLE, {'y'}, "y", NULL, SMT_ACT_COPY_ID, SAFE,
     "copy the cursor's session ID to the clipboard (OSC 52: the terminal must allow it)"},
    {SMT_CTX_TABLE, {'Y'}, "Y", NULL, SMT_ACT_COPY_ROW, SAFE,
     "copy the cursor's row as shown, tab-separated (OSC 52: the terminal must allow it)"},

    /* edit pane */
    {SMT_CTX_EDIT, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "previous property"},
    {SMT_CTX_EDIT, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "next property"},
    {SMT_CTX_EDIT, {'a', K(KEY_IC)}, "a Ins", NULL, SMT_ACT_EDIT_ADD, 0, "add a property (key and value)"},
    {SMT_CTX_EDIT, {'\n', '\r', K(KEY_ENTER), 'c'}, "Enter c", NULL, SMT_ACT_EDIT_CHANGE, 0,
     "change the selected property's value"},
    {SMT_CTX_EDIT, {'d', K(KEY_DC)}, "d Del", NULL, SMT_ACT_EDIT_DELETE, 0, "delete the selected property"},
    {SMT_CTX_EDIT, {'u'}, "u", NULL, SMT_ACT_EDIT_UNDO, 0, "undo the last edit (restores the previous values)"},
    {SMT_CTX_EDIT, {SMT_KEY_ESC, 'e', F(7)}, "Esc e F7", NULL, SMT_ACT_CLOSE, SAFE, "close the edit pane"},

    /* bulk update pane */
    {SMT_CTX_BULK, {'f', '/', '\\'}, "f /", NULL, SMT_ACT_BULK_FILTER, SAFE,
     "edit the filter (match count and preview update as you type)"},
    {SMT_CTX_BULK, {'a', K(KEY_IC)}, "a Ins", NULL, SMT_ACT_BULK_ADD_SET, SAFE, "add a property to set"},
    {SMT_CTX_BULK, {'x'}, "x", NULL, SMT_ACT_BULK_ADD_DELETE, SAFE, "add a property to delete"},
    {SMT_CTX_BULK, {'d', K(KEY_DC)}, "d Del", NULL, SMT_ACT_BULK_REMOVE, SAFE, "remove the selected map entry"},
    {SMT_CTX_BULK, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "previous map entry"},
    {SMT_CTX_BULK, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "next map entry"},
    {SMT_CTX_BULK, {K(KEY_PPAGE)}, "PgUp", NULL, SMT_ACT_PGUP, SAFE, "scroll the preview up"},
    {SMT_CTX_BULK, {K(KEY_NPAGE)}, "PgDn", NULL, SMT_ACT_PGDN, SAFE, "scroll the preview down"},
    {SMT_CTX_BULK, {K(KEY_LEFT)}, "Left", NULL, SMT_ACT_SCROLL_LEFT, SAFE, "preview: show earlier map keys"},
    {SMT_CTX_BULK, {K(KEY_RIGHT)}, "Right", NULL, SMT_ACT_SCROLL_RIGHT, SAFE, "preview: show later map keys"},
    {SMT_CTX_BULK, {'A'}, "A", NULL, SMT_ACT_BULK_APPLY, 0,
     "apply: asks for confirmation naming the number of sessions"},
    {SMT_CTX_BULK, {'u'}, "u", NULL, SMT_ACT_BULK_UNDO, 0, "undo the last bulk update (previous values)"},
    {SMT_CTX_BULK, {SMT_KEY_ESC, 'b', F(8)}, "Esc b F8", NULL, SMT_ACT_CLOSE, SAFE, "close the bulk update pane"},

    /* event log */
    {SMT_CTX_LOG, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "scroll up"},
    {SMT_CTX_LOG, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "scroll down"},
    {SMT_CTX_LOG, {K(KEY_PPAGE)}, "PgUp", NULL, SMT_ACT_PGUP, SAFE, "page up"},
    {SMT_CTX_LOG, {K(KEY_NPAGE)}, "PgDn", NULL, SMT_ACT_PGDN, SAFE, "page down"},
    {SMT_CTX_LOG, {K(KEY_HOME), 'g'}, "Home g", NULL, SMT_ACT_HOME, SAFE, "oldest entry"},
    {SMT_CTX_LOG, {K(KEY_END), 'G'}, "End G", NULL, SMT_ACT_END, SAFE, "newest entry (follow)"},
    {SMT_CTX_LOG, {'s'}, "s", NULL, SMT_ACT_LOG_SESSIONS, SAFE,
     "hide or show session open/close lines (the others are kept apart, so they stay longer)"},
    {SMT_CTX_LOG, {SMT_KEY_ESC}, "Esc", NULL, SMT_ACT_CLOSE, SAFE, "close the log"},

    /* column chooser */
    {SMT_CTX_COLUMNS, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "previous key"},
    {SMT_CTX_COLUMNS, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "next key"},
    {SMT_CTX_COLUMNS, {' ', '\n', '\r', K(KEY_ENTER)}, "Space Enter", NULL, SMT_ACT_COL_TOGGLE, SAFE,
     "show or hide the column"},
    {SMT_CTX_COLUMNS, {'K', '-', K(KEY_SR)}, "K - S-Up", NULL, SMT_ACT_COL_MOVE_UP, SAFE, "move the column left"},
    {SMT_CTX_COLUMNS, {'J', '+', K(KEY_SF)}, "J + S-Down", NULL, SMT_ACT_COL_MOVE_DOWN, SAFE, "move the column right"},
    {SMT_CTX_COLUMNS, {'s'}, "s", NULL, SMT_ACT_COL_SORT, SAFE, "sort the table by this key"},
    {SMT_CTX_COLUMNS, {'r'}, "r", NULL, SMT_ACT_COL_RESET, SAFE, "back to the default columns"},
    {SMT_CTX_COLUMNS, {'w'}, "w", NULL, SMT_ACT_COL_SAVE, SAFE,
     "save the columns, sort and theme for the next start (asks first; a local file, not the server)"},
    {SMT_CTX_COLUMNS, {SMT_KEY_ESC, 'c', F(2)}, "Esc c F2", NULL, SMT_ACT_CLOSE, SAFE, "close the chooser"},

    /* close pane */
    {SMT_CTX_CLOSE, {'f', '/', '\\'}, "f /", NULL, SMT_ACT_CLOSE_FILTER, SAFE,
     "edit the filter of the sessions to close (count and preview update as you type)"},
    {SMT_CTX_CLOSE, {'A', '\n', '\r', K(KEY_ENTER)}, "A Enter", NULL, SMT_ACT_CLOSE_APPLY, 0,
     "close them: asks for confirmation naming the number of sessions (typed above 5)"},
    {SMT_CTX_CLOSE, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "scroll the preview up"},
    {SMT_CTX_CLOSE, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "scroll the preview down"},
    {SMT_CTX_CLOSE, {K(KEY_PPAGE)}, "PgUp", NULL, SMT_ACT_PGUP, SAFE, "preview page up"},
    {SMT_CTX_CLOSE, {K(KEY_NPAGE)}, "PgDn", NULL, SMT_ACT_PGDN, SAFE, "preview page down"},
    {SMT_CTX_CLOSE, {SMT_KEY_ESC, 'D'}, "Esc D", NULL, SMT_ACT_CLOSE, SAFE, "close the pane (nothing is sent)"},
    /* issue 13: group-by, history, the command line (global), the log's filter, jump and save */
    {SMT_CTX_TABLE, {'a'}, "a", NULL, SMT_ACT_GROUP, SAFE | GLOBAL,
     "group-by pane: live counts per value of a key (any key, $State too)"},
    {SMT_CTX_TABLE, {'H'}, "H", NULL, SMT_ACT_HISTORY, SAFE | GLOBAL,
     "history pane: sessions, opens/s, closes/s and events/s over the last 10 minutes"},
    {SMT_CTX_TABLE, {':'}, ":", NULL, SMT_ACT_COMMAND, SAFE | GLOBAL,
     "command line (:filter :sort :group :columns :close :theme :save-filter :use :export; Tab completes)"},
    {SMT_CTX_GROUP, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "previous value"},
    {SMT_CTX_GROUP, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "next value"},
    {SMT_CTX_GROUP, {K(KEY_PPAGE)}, "PgUp", NULL, SMT_ACT_PGUP, SAFE, "page up"},
    {SMT_CTX_GROUP, {K(KEY_NPAGE)}, "PgDn", NULL, SMT_ACT_PGDN, SAFE, "page down"},
    {SMT_CTX_GROUP, {K(KEY_HOME), 'g'}, "Home g", NULL, SMT_ACT_HOME, SAFE, "first value"},
    {SMT_CTX_GROUP, {K(KEY_END), 'G'}, "End G", NULL, SMT_ACT_END, SAFE, "last value"},
    {SMT_CTX_GROUP, {K(KEY_RIGHT), '\t'}, "Right Tab", NULL, SMT_ACT_GROUP_KEY_NEXT, SAFE, "group by the next key"},
    {SMT_CTX_GROUP, {K(KEY_LEFT), K(KEY_BTAB)}, "Left S-Tab", NULL, SMT_ACT_GROUP_KEY_PREV, SAFE,
     "group by the previous key"},
    {SMT_CTX_GROUP, {'s', 'o'}, "s o", NULL, SMT_ACT_GROUP_SORT, SAFE, "sort by count or by value"},
    {SMT_CTX_GROUP, {'r'}, "r", NULL, SMT_ACT_GROUP_REVERSE, SAFE, "reverse the order"},
    {SMT_CTX_GROUP, {'\n', '\r', K(KEY_ENTER)}, "Enter", NULL, SMT_ACT_GROUP_DRILL, SAFE,
     "drill down: set the view filter to this value and show the table"},
    {SMT_CTX_GROUP, {SMT_KEY_ESC, 'a'}, "Esc a", NULL, SMT_ACT_CLOSE, SAFE, "close the group-by pane"},
    {SMT_CTX_HISTORY, {SMT_KEY_ESC, 'H'}, "Esc H", NULL, SMT_ACT_CLOSE, SAFE, "close the history pane"},
    {SMT_CTX_COMMAND, {SMT_KEY_ESC}, "Esc", NULL, SMT_ACT_CLOSE, SAFE, "close the command pane"},
    {SMT_CTX_LOG, {'/', 'f'}, "/ f", NULL, SMT_ACT_LOG_FILTER, SAFE,
     "filter the log with the session filter language (session lines only; empty: everything)"},
    {SMT_CTX_LOG, {'\n', '\r', K(KEY_ENTER)}, "Enter", NULL, SMT_ACT_LOG_JUMP, SAFE,
     "jump to the entry's session: select it in the table"},
    {SMT_CTX_LOG, {'w'}, "w", NULL, SMT_ACT_LOG_SAVE, SAFE, "save the log (as filtered) to a file as NDJSON"},

    /* help overlay */
    {SMT_CTX_HELP, {K(KEY_UP), 'k'}, "Up k", NULL, SMT_ACT_UP, SAFE, "scroll up"},
    {SMT_CTX_HELP, {K(KEY_DOWN), 'j'}, "Down j", NULL, SMT_ACT_DOWN, SAFE, "scroll down"},
    {SMT_CTX_HELP, {K(KEY_PPAGE)}, "PgUp", NULL, SMT_ACT_PGUP, SAFE, "page up"},
    {SMT_CTX_HELP, {K(KEY_NPAGE), ' '}, "PgDn Space", NULL, SMT_ACT_PGDN, SAFE, "page down"},
    {SMT_CTX_HELP, {SMT_KEY_ESC, 'q', '?', F(1)}, "Esc q ? F1", NULL, SMT_ACT_CLOSE, SAFE, "close the help"},
};

static const char *const ctx_titles[SMT_CTX_COUNT] = {
    [SMT_CTX_TABLE] = "Session table (keys marked * also work in every pane)",
    [SMT_CTX_EDIT] = "Edit pane",
    [SMT_CTX_BULK] = "Bulk update pane",
    [SMT_CTX_LOG] = "Event log",
    [SMT_CTX_COLUMNS] = "Column chooser",
    [SMT_CTX_HELP] = "Help",
    [SMT_CTX_CLOSE] = "Close sessions pane",
    [SMT_CTX_GROUP] = "Group-by pane",
    [SMT_CTX_HISTORY] = "History pane",
    [SMT_CTX_COMMAND] = "Command line (Tab completes, Up/Down history, Enter runs, Esc closes)",
};

static bool binding_has_key(const smt_binding *b, int32_t key)
{
    for (int i = 0; i < SMT_BINDING_KEYS && b->keys[i]; i++)
        if (b->keys[i] == key)
            return true;
    return false;
}

const smt_binding *smt_keys_lookup(smt_ctx ctx, int32_t key)
{
    size_t n = sizeof bindings / sizeof *bindings;
    for (size_t i = 0; i < n; i++)
        if (bindings[i].ctx == ctx && binding_has_key(&bindings[i], key))
            return &bindings[i];
    if (ctx == SMT_CTX_HELP)
        return NULL; /* the overlay is modal */
    for (size_t i = 0; i < n; i++)
        if (bindings[i].ctx == SMT_CTX_TABLE && (bindings[i].flags & SMT_KEYF_GLOBAL) &&
            binding_has_key(&bindings[i], key))
            return &bindings[i];
    return NULL;
}

bool smt_keys_allowed(const smt_binding *b, bool read_only)
{
    return b && (!read_only || (b->flags & SMT_KEYF_SAFE));
}

bool smt_action_mutates(smt_action a)
{
    switch (a) {
    case SMT_ACT_EDIT:
    case SMT_ACT_BULK:
    case SMT_ACT_EDIT_ADD:
    case SMT_ACT_EDIT_CHANGE:
    case SMT_ACT_EDIT_DELETE:
    case SMT_ACT_EDIT_UNDO:
    case SMT_ACT_BULK_APPLY:
    case SMT_ACT_BULK_UNDO:
    case SMT_ACT_CLOSE_SESSIONS:
    case SMT_ACT_CLOSE_APPLY:
        return true;
    default:
        return false;
    }
}

size_t smt_keys_count(void)
{
    return sizeof bindings / sizeof *bindings;
}

const smt_binding *smt_keys_at(size_t i)
{
    return i < smt_keys_count() ? &bindings[i] : NULL;
}

const char *smt_ctx_title(smt_ctx ctx)
{
    return (unsigned)ctx < SMT_CTX_COUNT ? ctx_titles[ctx] : "";
}

const char *smt_key_name(int32_t key, char *buf, size_t cap)
{
    if (SMT_KEY_IS_FN(key)) {
        int k = key & 0xffffff;
        for (int f = 1; f <= 24; f++)
            if (k == KEY_F(f)) {
                snprintf(buf, cap, "F%d", f);
                return buf;
            }
        const char *n = k == KEY_BTAB ? "S-Tab" : k == KEY_IC ? "Ins" : k == KEY_DC ? "Del" : k == KEY_BACKSPACE ? "Backspace"
                        : k == KEY_ENTER ? "Enter" : "that key";
        snprintf(buf, cap, "%s", n);
    } else if (key == '\t') {
        snprintf(buf, cap, "Tab");
    } else if (key == 127 || key == 8) {
        snprintf(buf, cap, "Backspace");
    } else if (key > 0 && key < 32) {
        snprintf(buf, cap, "^%c", (char)('@' + key));
    } else if (key >= 32 && key < 127) {
        snprintf(buf, cap, "'%c'", (char)key);
    } else {
        snprintf(buf, cap, "U+%04X", (unsigned)key);
    }
    return buf;
}
