/* The key bindings: dispatch, read-only allow-list, help overlay and key bar from one table. */
#include "tui/keys.h"

#include <curses.h>

#define F(n) SM_KEY_FN(KEY_F(n))
#define K(k) SM_KEY_FN(k)
#define SAFE SM_KEYF_SAFE
#define GLOBAL SM_KEYF_GLOBAL
#define BAR SM_KEYF_BAR

/* Deny by default: a binding without SAFE is refused in read-only mode. */
static const sm_binding bindings[] = {
    /* session table */
    {SM_CTX_TABLE, {F(1), '?', 'h'}, "F1 ? h", "Help", SM_ACT_HELP, SAFE | GLOBAL | BAR, "show this help"},
    {SM_CTX_TABLE, {F(2), 'c'}, "F2 c", "Columns", SM_ACT_COLUMNS, SAFE | BAR, "choose and reorder columns"},
    {SM_CTX_TABLE, {F(3), '/'}, "F3 /", "Search", SM_ACT_SEARCH, SAFE | BAR,
     "incremental search: rows whose ID or any value contains the text"},
    {SM_CTX_TABLE, {F(4), 'f', '\\'}, "F4 f \\", "Filter", SM_ACT_FILTER, SAFE | BAR,
     "view filter in the session filter language (checked as you type)"},
    {SM_CTX_TABLE, {F(5), '\n', '\r', K(KEY_ENTER)}, "F5 Enter", "Inspect", SM_ACT_INSPECT, SAFE | BAR,
     "open or close the inspect pane for the selected session"},
    {SM_CTX_TABLE, {'i'}, "i", NULL, SM_ACT_INSPECT, SAFE, "open or close the inspect pane"},
    {SM_CTX_TABLE, {F(6), '>'}, "F6 >", "Sort", SM_ACT_SORT_NEXT, SAFE | BAR, "sort by the next column"},
    {SM_CTX_TABLE, {'<'}, "<", NULL, SM_ACT_SORT_PREV, SAFE, "sort by the previous column"},
    {SM_CTX_TABLE, {'r'}, "r", NULL, SM_ACT_SORT_REVERSE, SAFE, "reverse the sort order"},
    {SM_CTX_TABLE, {F(7), 'e'}, "F7 e", "Edit", SM_ACT_EDIT, BAR,
     "edit the user properties of the selected session"},
    {SM_CTX_TABLE, {F(8), 'b'}, "F8 b", "Bulk", SM_ACT_BULK, BAR,
     "bulk update: set or delete properties on every session matching a filter"},
    {SM_CTX_TABLE, {F(9), 'l'}, "F9 l", "Log", SM_ACT_LOG, SAFE | GLOBAL | BAR, "show or hide the event log"},
    {SM_CTX_TABLE, {F(10), 'q'}, "F10 q", "Quit", SM_ACT_QUIT, SAFE | GLOBAL | BAR, "quit"},
    {SM_CTX_TABLE, {'p', 'Z', ' '}, "p Z Space", NULL, SM_ACT_PAUSE, SAFE | GLOBAL,
     "pause or resume the table (changes queue up while paused)"},
    {SM_CTX_TABLE, {K(KEY_UP), 'k'}, "Up k", NULL, SM_ACT_UP, SAFE, "select the previous session"},
    {SM_CTX_TABLE, {K(KEY_DOWN), 'j'}, "Down j", NULL, SM_ACT_DOWN, SAFE, "select the next session"},
    {SM_CTX_TABLE, {K(KEY_PPAGE), SM_KEY_CTRL('b')}, "PgUp ^B", NULL, SM_ACT_PGUP, SAFE, "one page up"},
    {SM_CTX_TABLE, {K(KEY_NPAGE), SM_KEY_CTRL('f')}, "PgDn ^F", NULL, SM_ACT_PGDN, SAFE, "one page down"},
    {SM_CTX_TABLE, {K(KEY_HOME), 'g'}, "Home g", NULL, SM_ACT_HOME, SAFE, "first session"},
    {SM_CTX_TABLE, {K(KEY_END), 'G'}, "End G", NULL, SM_ACT_END, SAFE, "last session"},
    {SM_CTX_TABLE, {K(KEY_LEFT)}, "Left", NULL, SM_ACT_SCROLL_LEFT, SAFE, "scroll the columns left"},
    {SM_CTX_TABLE, {K(KEY_RIGHT)}, "Right", NULL, SM_ACT_SCROLL_RIGHT, SAFE, "scroll the columns right"},
    {SM_CTX_TABLE, {'[', 'K'}, "[ K", NULL, SM_ACT_INSPECT_SCROLL_UP, SAFE, "scroll the inspect pane up"},
    {SM_CTX_TABLE, {']', 'J'}, "] J", NULL, SM_ACT_INSPECT_SCROLL_DOWN, SAFE, "scroll the inspect pane down"},
    {SM_CTX_TABLE, {SM_KEY_ESC}, "Esc", NULL, SM_ACT_ESCAPE, SAFE,
     "close the inspect pane, else clear the search, else clear the filter"},
    {SM_CTX_TABLE, {'t'}, "t", NULL, SM_ACT_THEME_NEXT, SAFE | GLOBAL, "next colour theme"},
    {SM_CTX_TABLE, {'T'}, "T", NULL, SM_ACT_THEME_PREV, SAFE | GLOBAL, "previous colour theme"},
    {SM_CTX_TABLE, {SM_KEY_CTRL('l')}, "^L", NULL, SM_ACT_REDRAW, SAFE | GLOBAL, "redraw the screen"},

    /* edit pane */
    {SM_CTX_EDIT, {K(KEY_UP), 'k'}, "Up k", NULL, SM_ACT_UP, SAFE, "previous property"},
    {SM_CTX_EDIT, {K(KEY_DOWN), 'j'}, "Down j", NULL, SM_ACT_DOWN, SAFE, "next property"},
    {SM_CTX_EDIT, {'a', K(KEY_IC)}, "a Ins", NULL, SM_ACT_EDIT_ADD, 0, "add a property (key and value)"},
    {SM_CTX_EDIT, {'\n', '\r', K(KEY_ENTER), 'c'}, "Enter c", NULL, SM_ACT_EDIT_CHANGE, 0,
     "change the selected property's value"},
    {SM_CTX_EDIT, {'d', K(KEY_DC)}, "d Del", NULL, SM_ACT_EDIT_DELETE, 0, "delete the selected property"},
    {SM_CTX_EDIT, {'u'}, "u", NULL, SM_ACT_EDIT_UNDO, 0, "undo the last edit (restores the previous values)"},
    {SM_CTX_EDIT, {SM_KEY_ESC, 'e', F(7)}, "Esc e F7", NULL, SM_ACT_CLOSE, SAFE, "close the edit pane"},

    /* bulk update pane */
    {SM_CTX_BULK, {'f', '/', '\\'}, "f /", NULL, SM_ACT_BULK_FILTER, SAFE,
     "edit the filter (match count and preview update as you type)"},
    {SM_CTX_BULK, {'a', K(KEY_IC)}, "a Ins", NULL, SM_ACT_BULK_ADD_SET, SAFE, "add a property to set"},
    {SM_CTX_BULK, {'x'}, "x", NULL, SM_ACT_BULK_ADD_DELETE, SAFE, "add a property to delete"},
    {SM_CTX_BULK, {'d', K(KEY_DC)}, "d Del", NULL, SM_ACT_BULK_REMOVE, SAFE, "remove the selected map entry"},
    {SM_CTX_BULK, {K(KEY_UP), 'k'}, "Up k", NULL, SM_ACT_UP, SAFE, "previous map entry"},
    {SM_CTX_BULK, {K(KEY_DOWN), 'j'}, "Down j", NULL, SM_ACT_DOWN, SAFE, "next map entry"},
    {SM_CTX_BULK, {K(KEY_PPAGE)}, "PgUp", NULL, SM_ACT_PGUP, SAFE, "scroll the preview up"},
    {SM_CTX_BULK, {K(KEY_NPAGE)}, "PgDn", NULL, SM_ACT_PGDN, SAFE, "scroll the preview down"},
    {SM_CTX_BULK, {K(KEY_LEFT)}, "Left", NULL, SM_ACT_SCROLL_LEFT, SAFE, "preview: show earlier map keys"},
    {SM_CTX_BULK, {K(KEY_RIGHT)}, "Right", NULL, SM_ACT_SCROLL_RIGHT, SAFE, "preview: show later map keys"},
    {SM_CTX_BULK, {'A'}, "A", NULL, SM_ACT_BULK_APPLY, 0,
     "apply: asks for confirmation naming the number of sessions"},
    {SM_CTX_BULK, {'u'}, "u", NULL, SM_ACT_BULK_UNDO, 0, "undo the last bulk update (previous values)"},
    {SM_CTX_BULK, {SM_KEY_ESC, 'b', F(8)}, "Esc b F8", NULL, SM_ACT_CLOSE, SAFE, "close the bulk update pane"},

    /* event log */
    {SM_CTX_LOG, {K(KEY_UP), 'k'}, "Up k", NULL, SM_ACT_UP, SAFE, "scroll up"},
    {SM_CTX_LOG, {K(KEY_DOWN), 'j'}, "Down j", NULL, SM_ACT_DOWN, SAFE, "scroll down"},
    {SM_CTX_LOG, {K(KEY_PPAGE)}, "PgUp", NULL, SM_ACT_PGUP, SAFE, "page up"},
    {SM_CTX_LOG, {K(KEY_NPAGE)}, "PgDn", NULL, SM_ACT_PGDN, SAFE, "page down"},
    {SM_CTX_LOG, {K(KEY_HOME), 'g'}, "Home g", NULL, SM_ACT_HOME, SAFE, "oldest entry"},
    {SM_CTX_LOG, {K(KEY_END), 'G'}, "End G", NULL, SM_ACT_END, SAFE, "newest entry (follow)"},
    {SM_CTX_LOG, {'s'}, "s", NULL, SM_ACT_LOG_SESSIONS, SAFE,
     "hide or show session open/close lines (the others are kept apart, so they stay longer)"},
    {SM_CTX_LOG, {SM_KEY_ESC}, "Esc", NULL, SM_ACT_CLOSE, SAFE, "close the log"},

    /* column chooser */
    {SM_CTX_COLUMNS, {K(KEY_UP), 'k'}, "Up k", NULL, SM_ACT_UP, SAFE, "previous key"},
    {SM_CTX_COLUMNS, {K(KEY_DOWN), 'j'}, "Down j", NULL, SM_ACT_DOWN, SAFE, "next key"},
    {SM_CTX_COLUMNS, {' ', '\n', '\r', K(KEY_ENTER)}, "Space Enter", NULL, SM_ACT_COL_TOGGLE, SAFE,
     "show or hide the column"},
    {SM_CTX_COLUMNS, {'K', '-', K(KEY_SR)}, "K - S-Up", NULL, SM_ACT_COL_MOVE_UP, SAFE, "move the column left"},
    {SM_CTX_COLUMNS, {'J', '+', K(KEY_SF)}, "J + S-Down", NULL, SM_ACT_COL_MOVE_DOWN, SAFE, "move the column right"},
    {SM_CTX_COLUMNS, {'s'}, "s", NULL, SM_ACT_COL_SORT, SAFE, "sort the table by this key"},
    {SM_CTX_COLUMNS, {'r'}, "r", NULL, SM_ACT_COL_RESET, SAFE, "back to the default columns"},
    {SM_CTX_COLUMNS, {'w'}, "w", NULL, SM_ACT_COL_SAVE, SAFE,
     "save the columns, sort and theme for the next start (asks first; a local file, not the server)"},
    {SM_CTX_COLUMNS, {SM_KEY_ESC, 'c', F(2)}, "Esc c F2", NULL, SM_ACT_CLOSE, SAFE, "close the chooser"},

    /* help overlay */
    {SM_CTX_HELP, {K(KEY_UP), 'k'}, "Up k", NULL, SM_ACT_UP, SAFE, "scroll up"},
    {SM_CTX_HELP, {K(KEY_DOWN), 'j'}, "Down j", NULL, SM_ACT_DOWN, SAFE, "scroll down"},
    {SM_CTX_HELP, {K(KEY_PPAGE)}, "PgUp", NULL, SM_ACT_PGUP, SAFE, "page up"},
    {SM_CTX_HELP, {K(KEY_NPAGE), ' '}, "PgDn Space", NULL, SM_ACT_PGDN, SAFE, "page down"},
    {SM_CTX_HELP, {SM_KEY_ESC, 'q', '?', F(1)}, "Esc q ? F1", NULL, SM_ACT_CLOSE, SAFE, "close the help"},
};

static const char *const ctx_titles[SM_CTX_COUNT] = {
    [SM_CTX_TABLE] = "Session table (keys marked * also work in every pane)",
    [SM_CTX_EDIT] = "Edit pane",
    [SM_CTX_BULK] = "Bulk update pane",
    [SM_CTX_LOG] = "Event log",
    [SM_CTX_COLUMNS] = "Column chooser",
    [SM_CTX_HELP] = "Help",
};

static bool binding_has_key(const sm_binding *b, int32_t key)
{
    for (int i = 0; i < SM_BINDING_KEYS && b->keys[i]; i++)
        if (b->keys[i] == key)
            return true;
    return false;
}

const sm_binding *sm_keys_lookup(sm_ctx ctx, int32_t key)
{
    size_t n = sizeof bindings / sizeof *bindings;
    for (size_t i = 0; i < n; i++)
        if (bindings[i].ctx == ctx && binding_has_key(&bindings[i], key))
            return &bindings[i];
    if (ctx == SM_CTX_HELP)
        return NULL; /* the overlay is modal */
    for (size_t i = 0; i < n; i++)
        if (bindings[i].ctx == SM_CTX_TABLE && (bindings[i].flags & SM_KEYF_GLOBAL) && binding_has_key(&bindings[i], key))
            return &bindings[i];
    return NULL;
}

bool sm_keys_allowed(const sm_binding *b, bool read_only)
{
    return b && (!read_only || (b->flags & SM_KEYF_SAFE));
}

bool sm_action_mutates(sm_action a)
{
    switch (a) {
    case SM_ACT_EDIT:
    case SM_ACT_BULK:
    case SM_ACT_EDIT_ADD:
    case SM_ACT_EDIT_CHANGE:
    case SM_ACT_EDIT_DELETE:
    case SM_ACT_EDIT_UNDO:
    case SM_ACT_BULK_APPLY:
    case SM_ACT_BULK_UNDO:
        return true;
    default:
        return false;
    }
}

size_t sm_keys_count(void)
{
    return sizeof bindings / sizeof *bindings;
}

const sm_binding *sm_keys_at(size_t i)
{
    return i < sm_keys_count() ? &bindings[i] : NULL;
}

const char *sm_ctx_title(sm_ctx ctx)
{
    return (unsigned)ctx < SM_CTX_COUNT ? ctx_titles[ctx] : "";
}
