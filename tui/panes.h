/* The passive and simple panes: inspect, event log, column chooser, help overlay. */
#ifndef SM_TUI_PANES_H
#define SM_TUI_PANES_H

#include <stdbool.h>

#include "tui/keys.h"

struct sm_ui;

void sm_inspect_draw(struct sm_ui *ui, int y, int h);
void sm_log_draw(struct sm_ui *ui, int y, int h);
bool sm_log_action(struct sm_ui *ui, sm_action a);
void sm_columns_draw(struct sm_ui *ui, int y, int h);
bool sm_columns_action(struct sm_ui *ui, sm_action a);
void sm_help_draw(struct sm_ui *ui, int y, int h);
bool sm_help_action(struct sm_ui *ui, sm_action a);
/* Lines the help overlay has (for scrolling and tests). */
int sm_help_line_count(const struct sm_ui *ui);

#endif
