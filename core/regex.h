/* Regular expressions of the filter language: POSIX ERE syntax matched by RE2 in linear time and bounded memory. */
#ifndef SM_CORE_REGEX_H
#define SM_CORE_REGEX_H

#include <stdbool.h>
#include <stddef.h>

/* The cost budget (docs/filters.md, "Limits"). Matching time is linear in the value length times
 * the size of the compiled program, and a hostile pattern keeps RE2's lazy DFA from caching, so
 * the program size is what bounds the time per value; the limits keep the worst allowed filter at
 * under a millisecond of CPU per 4 KB value (bench/filter measures it). */

/* Instructions in the compiled program of one regular expression. Up to about 65, RE2's bit-state
 * fallback covers every value of up to 4096 bytes, which is what keeps the worst case cheap. */
#define SM_REGEX_PROGRAM_MAX 64
/* Instructions of all the regular expressions of one filter together. */
#define SM_FILTER_REGEX_PROGRAM_MAX 128
/* `matches` clauses in one filter. */
#define SM_FILTER_MATCHES_MAX 16
/* RE2's max_mem for one regular expression: program and DFA state cache together. RE2 keeps no
 * more (matching also takes a transient bit-state bitmap of at most 32 KiB), so one filter holds
 * at most SM_FILTER_MATCHES_MAX times this (1 MiB). Small as it is, it leaves the DFA room for the
 * usual patterns; a hostile one makes the DFA give up early and RE2 falls back to its bit-state
 * matcher, which is what bounds the worst case. */
#define SM_REGEX_MEMORY_MAX (64 * 1024)
/* The largest repetition count, {1000}; nested counts multiply and the product has the same limit. */
#define SM_REGEX_REPEAT_MAX 1000

typedef struct sm_regex sm_regex;

/* Compiles the POSIX extended regular expression pattern[0..len) (valid UTF-8, no NUL) for
 * whole-value matching. Returns SM_OK and stores it in *out, or SM_ERR_INVALID (bad syntax),
 * SM_ERR_LIMIT (a limit above; the program size check is the caller's) or SM_ERR_NOMEM, with a
 * sentence in why[0..why_size) that never quotes the pattern. */
int sm_regex_compile(const char *pattern, size_t len, sm_regex **out, char *why, size_t why_size);

/* Instructions in the compiled program (what SM_REGEX_PROGRAM_MAX bounds). */
size_t sm_regex_program_size(const sm_regex *re);

/* True when the whole of value[0..len) matches. Never fails: running out of memory reads as no match. */
bool sm_regex_full_match(const sm_regex *re, const char *value, size_t len);

void sm_regex_free(sm_regex *re);

#endif
