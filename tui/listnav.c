/* The one list widget of the monitor: cursor, scroll, page, home/end, mouse row -> item, clamping. */
#include "tui/listnav.h"

#include <stdint.h>

void smt_list_init(smt_list *l, bool viewport)
{
    *l = (smt_list){0, 0, 0, 1, viewport};
}

static size_t max_top(const smt_list *l)
{
    size_t rows = (size_t)(l->rows > 0 ? l->rows : 1);
    return l->count > rows ? l->count - rows : 0;
}

/* The invariants: cursor < count (or 0), cursor visible, no blank tail that items could fill. */
static void clamp(smt_list *l)
{
    if (l->rows < 1)
        l->rows = 1;
    if (l->count == 0) {
        l->cursor = l->top = 0;
        return;
    }
    if (l->viewport) {
        if (l->top > max_top(l))
            l->top = max_top(l);
        l->cursor = l->top;
        return;
    }
    if (l->cursor >= l->count)
        l->cursor = l->count - 1;
    if (l->top > max_top(l))
        l->top = max_top(l);
    if (l->cursor < l->top)
        l->top = l->cursor;
    if (l->cursor >= l->top + (size_t)l->rows)
        l->top = l->cursor - (size_t)l->rows + 1;
}

void smt_list_resize(smt_list *l, size_t count, int rows)
{
    l->count = count;
    l->rows = rows;
    clamp(l);
}

void smt_list_move(smt_list *l, long delta)
{
    size_t *at = l->viewport ? &l->top : &l->cursor;
    if (delta < 0)
        *at = (size_t)-delta > *at ? 0 : *at - (size_t)-delta;
    else
        *at = (size_t)delta > SIZE_MAX - *at ? SIZE_MAX : *at + (size_t)delta;
    if (l->viewport && *at > max_top(l))
        *at = max_top(l);
    if (!l->viewport && l->count && *at >= l->count)
        *at = l->count - 1;
    clamp(l);
}

void smt_list_select(smt_list *l, size_t i)
{
    if (l->viewport)
        l->top = i;
    else
        l->cursor = i;
    clamp(l);
}

void smt_list_place(smt_list *l, size_t i, long offset)
{
    l->cursor = i;
    if (l->count && l->cursor >= l->count)
        l->cursor = l->count - 1;
    long top = (long)l->cursor - offset;
    l->top = top > 0 ? (size_t)top : 0;
    clamp(l);
}

size_t smt_list_page(const smt_list *l)
{
    return l->rows > 1 ? (size_t)l->rows : 1;
}

bool smt_list_action(smt_list *l, smt_action a)
{
    long page = (long)smt_list_page(l);
    switch (a) {
    case SMT_ACT_UP: smt_list_move(l, -1); return true;
    case SMT_ACT_DOWN: smt_list_move(l, 1); return true;
    case SMT_ACT_PGUP: smt_list_move(l, -page); return true;
    case SMT_ACT_PGDN: smt_list_move(l, page); return true;
    case SMT_ACT_HOME: smt_list_select(l, 0); return true;
    case SMT_ACT_END: smt_list_select(l, l->count ? l->count - 1 : 0); return true;
    default: return false;
    }
}

bool smt_list_item_at_row(const smt_list *l, int row, size_t *item)
{
    if (row < 0 || row >= l->rows)
        return false;
    size_t i = l->top + (size_t)row;
    if (i >= l->count)
        return false;
    *item = i;
    return true;
}

size_t smt_list_end(const smt_list *l)
{
    size_t end = l->top + (size_t)(l->rows > 0 ? l->rows : 1);
    return end < l->count ? end : l->count;
}
