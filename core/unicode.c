/* Explicit Unicode classes (White_Space, controls, format, bidi controls) for key checks and terminal escaping. */
#include "core/unicode.h"

#include <stddef.h>

typedef struct cp_range {
    uint32_t first, last;
} cp_range;

static bool in_ranges(const cp_range *r, size_t n, uint32_t cp)
{
    for (size_t i = 0; i < n && r[i].first <= cp; i++)
        if (cp <= r[i].last)
            return true;
    return false;
}

/* PropList.txt, White_Space (Unicode 15.1). Sorted. */
static const cp_range white_space[] = {
    {0x0009, 0x000D}, {0x0020, 0x0020}, {0x0085, 0x0085}, {0x00A0, 0x00A0}, {0x1680, 0x1680},
    {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

/* UnicodeData.txt, general category Cf (Unicode 15.1). Sorted. */
static const cp_range format[] = {
    {0x00AD, 0x00AD},   /* soft hyphen */
    {0x0600, 0x0605},   /* Arabic number signs */
    {0x061C, 0x061C},   /* Arabic letter mark */
    {0x06DD, 0x06DD},   /* Arabic end of ayah */
    {0x070F, 0x070F},   /* Syriac abbreviation mark */
    {0x0890, 0x0891},   /* Arabic pound/piastre mark above */
    {0x08E2, 0x08E2},   /* Arabic disputed end of ayah */
    {0x180E, 0x180E},   /* Mongolian vowel separator */
    {0x200B, 0x200F},   /* zero-width space, ZWNJ, ZWJ, LRM, RLM */
    {0x202A, 0x202E},   /* LRE, RLE, PDF, LRO, RLO */
    {0x2060, 0x2064},   /* word joiner, invisible function application/times/separator/plus */
    {0x2066, 0x206F},   /* LRI, RLI, FSI, PDI, deprecated shaping/digit controls */
    {0xFEFF, 0xFEFF},   /* zero-width no-break space (BOM) */
    {0xFFF9, 0xFFFB},   /* interlinear annotation anchor/separator/terminator */
    {0x110BD, 0x110BD}, /* Kaithi number sign */
    {0x110CD, 0x110CD}, /* Kaithi number sign above */
    {0x13430, 0x1343F}, /* Egyptian hieroglyph format controls */
    {0x1BCA0, 0x1BCA3}, /* shorthand format controls */
    {0x1D173, 0x1D17A}, /* musical symbol begin/end beam, tie, slur, phrase */
    {0xE0001, 0xE0001}, /* language tag */
    {0xE0020, 0xE007F}, /* tag characters */
};

/* PropList.txt, Bidi_Control (Unicode 15.1). Sorted. */
static const cp_range bidi_control[] = {
    {0x061C, 0x061C}, {0x200E, 0x200F}, {0x202A, 0x202E}, {0x2066, 0x2069},
};

bool sm_unicode_is_white_space(uint32_t cp)
{
    return in_ranges(white_space, sizeof white_space / sizeof white_space[0], cp);
}

bool sm_unicode_is_control(uint32_t cp)
{
    return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F);
}

bool sm_unicode_is_format(uint32_t cp)
{
    return in_ranges(format, sizeof format / sizeof format[0], cp);
}

bool sm_unicode_is_bidi_control(uint32_t cp)
{
    return in_ranges(bidi_control, sizeof bidi_control / sizeof bidi_control[0], cp);
}
