/* Proves that the parts of sessmon share no names: the client library (sm_), the server's (smd_)
 * and the monitor's (smt_) are linked whole into this one program, so any symbol two of them
 * define is a duplicate definition and this program does not link. */
#include <stdio.h>

#include "client/sessmon.h"

int main(void)
{
    /* one call into the public API, so the program is more than an empty main */
    printf("client, server and monitor link together (%s)\n", sm_client_errcode_name(SM_CLIENT_OK));
    return 0;
}
