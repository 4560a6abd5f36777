/* sessmon-load's simulated users: a seeded RNG and realistic, skewed property values per session. */
#ifndef SM_LOAD_PROFILE_H
#define SM_LOAD_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <sessmon.h>

/* xorshift64*: fast, seedable, good enough for picking simulated users (never for secrets). */
typedef struct sm_rng {
    uint64_t state;
} sm_rng;

void sm_rng_seed(sm_rng *r, uint64_t seed);
uint64_t sm_rng_next(sm_rng *r);
/* Uniform in [0, n); n 0 gives 0. */
size_t sm_rng_below(sm_rng *r, size_t n);
/* Uniform in [0, 1). */
double sm_rng_unit(sm_rng *r);

/* User properties one simulated session proposes (indices into the tables of profile.c, so a
 * slot costs a few bytes and the strings are shared). */
typedef struct sm_profile {
    uint8_t department;
    uint8_t tier;
    uint8_t app_version;
    uint8_t region;
    uint8_t status;
    uint8_t client_type;
    uint8_t environment; /* index among the environments of client_type */
    uint32_t user_number;
} sm_profile;

#define SM_PROFILE_MAX_PROPS 6

/* Draws a new simulated user. source_ip (may be NULL) picks the Region matching the demo geo
 * table (demo/sessmond.json); other addresses get a random region. */
void sm_profile_draw(sm_profile *p, sm_rng *r, const char *source_ip);

/* Fills props (capacity SM_PROFILE_MAX_PROPS) with the user properties; user_buf holds the
 * generated "User" value (at least 16 bytes). Returns the count. */
size_t sm_profile_props(const sm_profile *p, sm_property *props, char *user_buf, size_t user_buf_len);

const char *sm_profile_client_type(const sm_profile *p);
const char *sm_profile_environment(const sm_profile *p);

/* One churn update: changes Status (usually), Tier or AppVersion of p to a different value and
 * writes the changed property to *out. */
void sm_profile_mutate(sm_profile *p, sm_rng *r, sm_property *out);

/* The Region the demo geo table implies for a source address, or NULL when it has none. */
const char *sm_profile_region_for_source(const char *source_ip);

#endif
