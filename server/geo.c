/* Geolocation of client addresses from the config's CIDR table (longest-prefix match, IPv4 and IPv6). */
#include "server/geo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void smd_geo_init(smd_geo *g)
{
    g->items = NULL;
    g->count = 0;
    g->cap = 0;
}

void smd_geo_free(smd_geo *g)
{
    free(g->items);
    smd_geo_init(g);
}

/* Parses an address into 16 bytes; IPv4 is mapped into ::ffff:0:0/96. Returns 4 or 6, 0 if invalid. */
static int parse_addr(const char *text, uint8_t out[16])
{
    struct in_addr a4;
    if (inet_pton(AF_INET, text, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &a4, 4);
        return 4;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, text, &a6) == 1) {
        memcpy(out, &a6, 16);
        return 6;
    }
    return 0;
}

static bool prefix_matches(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static int copy_code(char *dst, const char *src, bool upper, const char *what, const char *cidr, sm_error *err)
{
    dst[0] = '\0';
    if (!src)
        return SM_OK;
    size_t len = strlen(src);
    if (len > SMD_GEO_CODE_MAX)
        return sm_error_set(err, SM_ERR_INVALID, "geo %s: %s code is longer than %d characters", cidr, what,
                            SMD_GEO_CODE_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (!(isalnum(c) || c == '-'))
            return sm_error_set(err, SM_ERR_INVALID, "geo %s: %s code may hold only letters, digits and '-'", cidr,
                                what);
        dst[i] = (char)(upper ? toupper(c) : tolower(c));
    }
    dst[len] = '\0';
    return SM_OK;
}

int smd_geo_add(smd_geo *g, const char *cidr, const char *country, const char *language, bool has_lat, double lat,
               bool has_lon, double lon, sm_error *err)
{
    smd_geo_entry e;
    memset(&e, 0, sizeof e);
    char host[64];
    const char *slash = strchr(cidr, '/');
    size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
    if (hl == 0 || hl >= sizeof host)
        return sm_error_set(err, SM_ERR_INVALID, "geo: '%.64s' is not an address or CIDR block", cidr);
    memcpy(host, cidr, hl);
    host[hl] = '\0';
    int fam = parse_addr(host, e.addr);
    if (!fam)
        return sm_error_set(err, SM_ERR_INVALID, "geo: '%.64s' is not an IPv4 or IPv6 address", host);
    unsigned maxbits = fam == 4 ? 32 : 128;
    unsigned bits = maxbits;
    if (slash) {
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3)
            return sm_error_set(err, SM_ERR_INVALID, "geo: bad prefix length in '%.64s'", cidr);
        bits = 0;
        for (; *p; p++) {
            if (!isdigit((unsigned char)*p))
                return sm_error_set(err, SM_ERR_INVALID, "geo: bad prefix length in '%.64s'", cidr);
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (bits > maxbits)
            return sm_error_set(err, SM_ERR_INVALID, "geo: prefix length %u is above %u in '%.64s'", bits, maxbits,
                                cidr);
    }
    e.prefix = fam == 4 ? bits + 96 : bits;
    int rc = copy_code(e.country, country, true, "country", cidr, err);
    if (rc == SM_OK)
        rc = copy_code(e.language, language, false, "language", cidr, err);
    if (rc != SM_OK)
        return rc;
    if (has_lat && (!isfinite(lat) || lat < -90 || lat > 90))
        return sm_error_set(err, SM_ERR_INVALID, "geo %.64s: latitude must be between -90 and 90", cidr);
    if (has_lon && (!isfinite(lon) || lon < -180 || lon > 180))
        return sm_error_set(err, SM_ERR_INVALID, "geo %.64s: longitude must be between -180 and 180", cidr);
    if (has_lat)
        snprintf(e.latitude, sizeof e.latitude, "%.10g", lat);
    else
        strcpy(e.latitude, "NaN");
    if (has_lon)
        snprintf(e.longitude, sizeof e.longitude, "%.10g", lon);
    else
        strcpy(e.longitude, "NaN");

    if (g->count == g->cap) {
        /* Geometric growth: a table of thousands of rows (read again on every reload) must not
         * cost a copy per row. */
        size_t ncap = g->cap ? g->cap * 2 : 16;
        smd_geo_entry *n = realloc(g->items, ncap * sizeof *n);
        if (!n)
            return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
        g->items = n;
        g->cap = ncap;
    }
    g->items[g->count++] = e;
    return SM_OK;
}

int smd_geo_finish(smd_geo *g, sm_error *err)
{
    if (g->count < 2)
        return SM_OK;
    /* Longest prefixes first, so the first hit of a scan is the longest match; among equal
     * prefixes the order of the file. A counting sort: prefixes are 0..128, and a table of
     * thousands of rows (read again on every reload) costs one pass. */
    size_t start[130] = {0};
    for (size_t i = 0; i < g->count; i++)
        start[128 - g->items[i].prefix + 1]++;
    for (size_t p = 1; p < 130; p++)
        start[p] += start[p - 1];
    smd_geo_entry *sorted = malloc(g->cap * sizeof *sorted);
    if (!sorted)
        return sm_error_set(err, SM_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->count; i++)
        sorted[start[128 - g->items[i].prefix]++] = g->items[i];
    free(g->items);
    g->items = sorted;
    return SM_OK;
}

const smd_geo_entry *smd_geo_lookup(const smd_geo *g, const char *ip)
{
    uint8_t a[16];
    if (!g->count || !parse_addr(ip, a))
        return NULL;
    for (size_t i = 0; i < g->count; i++)
        if (prefix_matches(a, g->items[i].addr, g->items[i].prefix))
            return &g->items[i];
    return NULL;
}

void smd_ip_normalise(const char *ip, char *out, size_t outlen)
{
    if (!outlen)
        return;
    uint8_t a[16];
    int fam = parse_addr(ip, a);
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char tmp[INET6_ADDRSTRLEN];
    if (fam && memcmp(a, mapped, 12) == 0 && inet_ntop(AF_INET, a + 12, tmp, sizeof tmp)) {
        snprintf(out, outlen, "%s", tmp);
        return;
    }
    if (fam == 6 && inet_ntop(AF_INET6, a, tmp, sizeof tmp)) {
        snprintf(out, outlen, "%s", tmp);
        return;
    }
    snprintf(out, outlen, "%s", ip);
}
