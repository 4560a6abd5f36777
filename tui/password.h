/* Where sessmon's password comes from: $SESSMON_PASSWORD or a no-echo prompt, never argv. */
#ifndef SM_TUI_PASSWORD_H
#define SM_TUI_PASSWORD_H

#include <stddef.h>

#define SM_PASSWORD_MAX 1024

typedef enum sm_password_status {
    SM_PASSWORD_OK = 0,
    SM_PASSWORD_TOO_LONG,   /* $SESSMON_PASSWORD does not fit */
    SM_PASSWORD_NO_TERMINAL /* no $SESSMON_PASSWORD and no /dev/tty to ask on */
} sm_password_status;

/* Fills out (cap bytes) with the password for principal: empty for anonymous (""), else
 * $SESSMON_PASSWORD, else what the user types on /dev/tty with echo off. Ctrl-C at the prompt
 * restores the terminal before the process exits. */
sm_password_status sm_password_resolve(const char *principal, char *out, size_t cap);

#endif
