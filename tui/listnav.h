/* The one list widget of the monitor: cursor, scroll, page, home/end, mouse row -> item, clamping. */
#ifndef SMT_LISTNAV_H
#define SMT_LISTNAV_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/keys.h"

/* A list of count items shown in rows screen lines from item top on. With a cursor the cursor
 * is always a valid item (0 when the list is empty) and always on screen; without one (a
 * viewport: help, inspect, the log) the keys scroll the lines. Either way top never leaves
 * lines blank at the end while there are items above to fill them. */
typedef struct smt_list {
    size_t count;
    size_t cursor;
    size_t top;
    int rows;       /* lines on screen, >= 1 */
    bool viewport;  /* no cursor: Up/Down scroll */
} smt_list;

void smt_list_init(smt_list *l, bool viewport);

/* The list got new dimensions: its count changed (items arrived or left) or the screen was
 * resized. The cursor stays on its index (clamped), the view follows it. */
void smt_list_resize(smt_list *l, size_t count, int rows);

/* Moves the cursor (or the view) by delta items, clamped to the list. */
void smt_list_move(smt_list *l, long delta);
/* Puts the cursor on item i (clamped) with the least scrolling that shows it. */
void smt_list_select(smt_list *l, size_t i);
/* Puts the cursor on item i and, where the list allows, at screen line offset (the table
 * keeps the selected session at the same line while rows move around it). */
void smt_list_place(smt_list *l, size_t i, long offset);
/* Lines one page moves: the rows shown, at least 1. */
size_t smt_list_page(const smt_list *l);

/* Applies a navigation action (Up, Down, PgUp, PgDn, Home, End); false for any other. */
bool smt_list_action(smt_list *l, smt_action a);

/* The item a click on screen line row (0 = the list's first line) hits; false when below the end. */
bool smt_list_item_at_row(const smt_list *l, int row, size_t *item);
/* Items shown: [top, end). */
size_t smt_list_end(const smt_list *l);

#endif
