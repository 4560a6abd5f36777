/* Cryptographic random bytes for session tokens, password salts and keys. */
#ifndef SMD_SERVER_RANDOM_H
#define SMD_SERVER_RANDOM_H

#include <stddef.h>

/* Fills buf from the kernel's CSPRNG (getrandom), retrying when a signal interrupts it. SM_OK, or
 * SM_ERR_IO when no randomness can be had (then buf must not be used: there is no weaker fallback). */
int smd_random_bytes(void *buf, size_t len);

#endif
