/*
 * cmd_delete_file.c — DELETE FILE (E4), spec 2.4: P1P2 02 00, data = FID (2 bytes) or empty
 * for the current EF. CCxx deletes key xx. Access: the file table (files.c).
 */
#include "cmd.h"
#include "files.h"
#include "hsm/err.h"

int hsm_cmd_delete_file(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p1 != 0x02 || a->p2 != 0x00) {
        return HSM_ERR_P1P2;
    }
    uint16_t fid = c->s->current_ef;
    if (a->nc == 2) {
        fid = (uint16_t)((a->data[0] << 8) | a->data[1]);
    } else if (a->nc != 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (fid == 0) {
        return HSM_ERR_NOT_FOUND;
    }
    int rc = hsm_file_delete(c->s, fid);
    if (rc == HSM_OK && fid == c->s->current_ef) {
        c->s->current_ef = 0;
    }
    return rc;
}
