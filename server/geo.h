/* Geolocation of client addresses from the config's CIDR table (longest-prefix match, IPv4 and IPv6). */
#ifndef SMD_SERVER_GEO_H
#define SMD_SERVER_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define SMD_GEO_CODE_MAX 16 /* bytes in a country or language code */

typedef struct smd_geo_entry {
    uint8_t addr[16];   /* IPv6, or IPv4-mapped IPv6 (::ffff:a.b.c.d) */
    unsigned prefix;    /* bits of addr that must match, 0..128 */
    char country[SMD_GEO_CODE_MAX + 1];  /* upper case, "" = unknown */
    char language[SMD_GEO_CODE_MAX + 1]; /* lower case, "" = unknown */
    char latitude[32];  /* decimal text or "NaN" */
    char longitude[32];
} smd_geo_entry;

typedef struct smd_geo {
    smd_geo_entry *items; /* sorted by prefix, longest first */
    size_t count;
    size_t cap; /* entries allocated */
} smd_geo;

void smd_geo_init(smd_geo *g);
void smd_geo_free(smd_geo *g);
/* Adds one row (smd_geo_finish orders them once all are added). cidr is "a.b.c.d/n", "a.b.c.d" (= /32), "v6/n" or "v6" (= /128). country and
 * language may be NULL or "" (unknown); has_lat/has_lon false gives "NaN". SM_OK, or
 * SM_ERR_INVALID with a message naming what is wrong. */
int smd_geo_add(smd_geo *g, const char *cidr, const char *country, const char *language, bool has_lat, double lat,
               bool has_lon, double lon, sm_error *err);
/* Puts the rows in lookup order (longest prefix first); call it after the last smd_geo_add.
 * SM_OK or SM_ERR_NOMEM. */
int smd_geo_finish(smd_geo *g, sm_error *err);
/* Row with the longest prefix containing ip (text form, IPv4-mapped IPv6 accepted), or NULL. */
const smd_geo_entry *smd_geo_lookup(const smd_geo *g, const char *ip);

/* Writes the canonical text of a client address into out: IPv4-mapped IPv6 becomes plain IPv4,
 * IPv6 is compressed. Unparsable input is copied as is (truncated to outlen). */
void smd_ip_normalise(const char *ip, char *out, size_t outlen);

#endif
