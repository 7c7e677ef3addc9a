/*
 * cmd_update_binary.c — UPDATE BINARY (D7, odd instruction), spec 2.3; also how OpenSC creates
 * files. P1P2 = FID, or 0000 for the current EF (6A82 when there is none). Data: 54 offset
 * (1..3 bytes), then 53 content. The file becomes the current EF. Which files may be written
 * is the file table's decision (files.c).
 */
#include "cmd.h"
#include "files.h"
#include "hsm/err.h"
#include "hsm/tlv.h"

int hsm_cmd_update_binary(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    uint16_t fid = (uint16_t)((a->p1 << 8) | a->p2);
    if (fid == 0) {
        fid = c->s->current_ef;
        if (fid == 0) {
            return HSM_ERR_NOT_FOUND;
        }
    }
    hsm_tlv_reader r;
    hsm_tlv off, data;
    hsm_tlv_reader_init(&r, a->data, a->nc);
    if (hsm_tlv_next(&r, &off) != 1 || off.tag != 0x54 || off.len < 1 || off.len > 3 ||
        hsm_tlv_next(&r, &data) != 1 || data.tag != 0x53 || r.p != r.end) {
        return HSM_ERR_DATA;
    }
    size_t offset = 0;
    for (size_t i = 0; i < off.len; i++) {
        offset = (offset << 8) | off.value[i];
    }
    int rc = hsm_file_write(c->s, fid, offset, data.value, data.len);
    if (rc == HSM_OK) {
        c->s->current_ef = fid;
    }
    return rc;
}
