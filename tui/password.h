/* Where sessmon's password comes from: $SESSMON_PASSWORD or a no-echo prompt, never argv. */
#ifndef SMT_TUI_PASSWORD_H
#define SMT_TUI_PASSWORD_H

#include <stddef.h>

#define SMT_PASSWORD_MAX 1024

typedef enum smt_password_status {
    SMT_PASSWORD_OK = 0,
    SMT_PASSWORD_TOO_LONG,   /* $SESSMON_PASSWORD does not fit */
    SMT_PASSWORD_NO_TERMINAL /* no $SESSMON_PASSWORD and no /dev/tty to ask on */
} smt_password_status;

/* Fills out (cap bytes) with the password for principal: empty for anonymous (""), else
 * $SESSMON_PASSWORD, else what the user types on /dev/tty with echo off. Ctrl-C at the prompt
 * restores the terminal before the process exits. */
smt_password_status smt_password_resolve(const char *principal, char *out, size_t cap);

#endif
