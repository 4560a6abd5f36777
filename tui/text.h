/* Untrusted text for the terminal: escaping, display width, and fitting into N columns. */
#ifndef SMT_TUI_TEXT_H
#define SMT_TUI_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

/* Session IDs, keys and values come from the network. Every code point goes through one mapping
 * before it reaches the screen:
 *   C0 controls and NUL      -> the Control Pictures block (U+2400 + c), e.g. ESC shows as U+241B
 *   DEL                      -> U+2421
 *   C1 controls (incl. CSI)  -> U+FFFD
 *   invalid UTF-8 (per byte) -> U+FFFD
 *   hidden characters (smt_text_is_hidden: format characters such as bidi controls, zero-width
 *   characters, soft hyphen and BOM; line/paragraph separators) -> U+FFFD (spoofing)
 *   anything the locale cannot print (wcwidth < 0) -> U+FFFD
 *   a combining mark with no base -> U+25CC followed by the mark; at most 4 marks per base
 * When the locale is not UTF-8, every non-ASCII character becomes '?'. */

/* Columns of output buffer (in wchar_t) that smt_text_fit needs for cols columns, NUL included. */
#define SMT_TEXT_CAP(cols) ((size_t)(cols) * 6u + 8u)

/* True for code points that print as nothing or change how the text around them is shown:
 * Unicode format characters (Cf, core/unicode.h: bidi controls, U+200B..200F, U+2060..206F,
 * U+FEFF, U+00AD, tags ...) and U+2028/U+2029. The monitor replaces them, sessmon's script output
 * (tui/cli_out.c) writes them as escapes: one list for both. */
bool smt_text_is_hidden(uint32_t cp);

/* Maps one code point per the table above; returns the replacement (or cp itself). A return of
 * 0 never happens. */
uint32_t smt_text_safe_codepoint(uint32_t cp);

/* Display width (terminal columns) of s[0..len) after escaping. */
int smt_text_width(const char *s, size_t len);

/* Fits s[0..len) into cols columns: escapes it, truncates at a character boundary with an
 * ellipsis (U+2026, or '~' outside UTF-8 locales) when it is wider, never splits a wide
 * character or a combining sequence, and pads with spaces to exactly cols when pad is true.
 * Writes a NUL-terminated wide string of at most outcap wchar_t (see SMT_TEXT_CAP). Returns the
 * number of columns written; *truncated (optional) tells whether the ellipsis was used. */
int smt_text_fit(const char *s, size_t len, int cols, bool pad, wchar_t *out, size_t outcap, bool *truncated);

/* Escapes s[0..len) into UTF-8 text safe for display (same mapping), NUL-terminated, never
 * splitting a character when out is too small. Returns the bytes written (without the NUL). */
size_t smt_text_escape(const char *s, size_t len, char *out, size_t outcap);

/* snprintf that never splits a UTF-8 character when it truncates. Returns the bytes written. */
size_t smt_text_printf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t smt_text_vprintf(char *out, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));


/* Skips spaces and tabs at the start of s and cuts them (and a CR from a CRLF file) off its end,
 * in place: a line or field of a settings or theme file. Returns the first kept character. */
char *smt_text_trim(char *s);

/* ASCII case-insensitive substring test (the incremental search); empty needle matches. */
bool smt_text_contains_ci(const char *hay, size_t haylen, const char *needle, size_t needlelen);

/* Word wrap: where the line starting at byte start of s[0..len) ends when it may be w columns
 * wide — at the last space that fits, else at the last character that fits (at least one
 * character). The next line starts there, after the space if it is one. */
size_t smt_text_wrap(const char *s, size_t len, size_t start, int w);
/* How many lines smt_text_wrap makes of s[0..len) (at most max). */
int smt_text_wrap_count(const char *s, size_t len, int w, int max);

/* Byte offset of the start of the character before byte pos in UTF-8 text s (for line editing). */
size_t smt_text_prev_char(const char *s, size_t pos);
/* Byte offset just after the character at pos. */
size_t smt_text_next_char(const char *s, size_t len, size_t pos);

/* Formats a time in milliseconds since the epoch as local "YYYY-MM-DD HH:MM:SS" (or "HH:MM:SS"
 * when short is true) into out; returns false when the value is not a valid time. */
bool smt_text_format_time(int64_t ms, bool short_form, char *out, size_t outcap);

#endif
