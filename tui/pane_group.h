/* The group-by pane: live counts of sessions per value of one key (its API, for the command line and tests). */
#ifndef SMT_PANE_GROUP_H
#define SMT_PANE_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#define SMT_GROUP_MAX_VALUES 100000u /* distinct values tracked; the rest count as "(other values)" */
#define SMT_GROUP_WINDOW_SLOTS 12u   /* opens/closes of the last minute in 5-second slots */
#define SMT_GROUP_SLOT_MS 5000u

typedef struct smt_group_pane smt_group_pane;

/* Groups by key ("$State" or SMT_COL_STATE: the session state; any other: a property). Counts
 * are rebuilt once, then kept per event. false with a message when the key cannot be a key. */
bool smt_group_set_key(smt_group_pane *p, const char *key, char *err, size_t errcap);
const char *smt_group_key(const smt_group_pane *p); /* "" = none yet */
/* Sort by count (descending) or by value (ascending); reversed flips either. */
void smt_group_set_order(smt_group_pane *p, bool by_value, bool reversed);

/* For tests: open sessions counted with this value (NULL = without the key), opens and closes
 * of it in the last minute, and the number of values listed. */
size_t smt_group_count_of(smt_group_pane *p, const char *value, unsigned *opens, unsigned *closes);
size_t smt_group_values(smt_group_pane *p);
/* The filter text Enter would set for the value under the cursor. */
bool smt_group_drill_filter(smt_group_pane *p, char *out, size_t cap);

#endif
