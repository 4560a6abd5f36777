/* Explicit Unicode classes (White_Space, controls, format, bidi controls) for key checks and terminal escaping. */
#ifndef SM_CORE_UNICODE_H
#define SM_CORE_UNICODE_H

#include <stdbool.h>
#include <stdint.h>

/* The lists are written out in core/unicode.c (Unicode 15.1 data) rather than taken from the C
 * library's locale tables, so that what a key may hold does not depend on the machine's locale. */

/* White_Space property: U+0009..000D, U+0020, U+0085, U+00A0, U+1680, U+2000..200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000. */
bool sm_unicode_is_white_space(uint32_t cp);
/* General category Cc: C0 controls U+0000..001F, DEL U+007F and C1 controls U+0080..009F. */
bool sm_unicode_is_control(uint32_t cp);
/* General category Cf (format characters: soft hyphen, zero-width space/joiners, bidi controls,
 * word joiner and invisible operators, BOM, interlinear annotation, tags ...). */
bool sm_unicode_is_format(uint32_t cp);
/* Bidirectional controls (Bidi_Control property, all of them Cf): U+061C, U+200E, U+200F,
 * U+202A..202E, U+2066..2069. */
bool sm_unicode_is_bidi_control(uint32_t cp);

#endif
