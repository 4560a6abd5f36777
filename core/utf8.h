/* Strict UTF-8 validation for every string that crosses a trust boundary. */
#ifndef SM_CORE_UTF8_H
#define SM_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8: no overlong forms, no surrogates, nothing above
 * U+10FFFF, and no NUL byte (a NUL would silently truncate C strings downstream). */
bool sm_utf8_valid(const char *s, size_t len);

/* Decodes one code point at s (len bytes available). Returns the byte length of the sequence
 * (1..4) and stores the code point, or returns 0 for an invalid/truncated sequence. */
size_t sm_utf8_decode(const char *s, size_t len, uint32_t *codepoint);

/* Encodes one code point (at most U+10FFFF) as UTF-8 into out (4 bytes room); returns its length
 * (1..4). */
size_t sm_utf8_encode(uint32_t cp, char *out);

#endif
