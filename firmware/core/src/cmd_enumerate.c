/*
 * cmd_enumerate.c — ENUMERATE OBJECTS (58), spec 2.5: the 2-byte identifiers of every key and
 * every user-visible EF, no TLV, in ascending order; which files are listed is the file table's
 * decision (files.c): internal objects (10xx) and 2Fxx never are.
 */
#include "cmd.h"
#include "files.h"
#include "hsm/err.h"

static int add(uint16_t fid, void *ctx)
{
    hsm_cmd *c = ctx;
    const uint8_t id[2] = {(uint8_t)(fid >> 8), (uint8_t)fid};
    return hsm_cmd_out(c, id, sizeof(id));
}

int hsm_cmd_enumerate_objects(hsm_cmd *c)
{
    if (c->apdu->p1 != 0 || c->apdu->p2 != 0) {
        return HSM_ERR_P1P2;
    }
    return hsm_file_each_listed(add, c);
}
