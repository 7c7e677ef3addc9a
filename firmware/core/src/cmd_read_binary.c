/*
 * cmd_read_binary.c — READ BINARY, spec 2.2.
 *
 * B1 (odd): P1P2 = FID, or 0000 for the current EF; data = 54 <1..3> offset (absent: 0).
 * B0 (even): the current EF, offset in P1P2 (P1 bit 8, short EF identifiers, unsupported).
 * Answer: min(Ne, size - offset) bytes. offset == size answers no data and 9000 (OpenSC's
 * end-of-file probe); offset > size answers 6B00.
 */
#include "cmd.h"
#include "files.h"
#include "hsm/err.h"
#include "hsm/tlv.h"

static int parse_offset(const hsm_apdu *a, size_t *off)
{
    *off = 0;
    if (a->nc == 0) {
        return HSM_OK;
    }
    hsm_tlv_reader r;
    hsm_tlv t;
    hsm_tlv_reader_init(&r, a->data, a->nc);
    if (hsm_tlv_next(&r, &t) != 1 || t.tag != 0x54 || t.len < 1 || t.len > 3 || r.p != r.end) {
        return HSM_ERR_DATA;
    }
    for (size_t i = 0; i < t.len; i++) {
        *off = (*off << 8) | t.value[i];
    }
    return HSM_OK;
}

int hsm_cmd_read_binary(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    uint16_t fid;
    size_t off;
    int rc;

    if (a->ins == 0xB0) {
        if (a->p1 & 0x80) {
            return HSM_ERR_P1P2;
        }
        fid = c->s->current_ef;
        off = ((size_t)a->p1 << 8) | a->p2;
    } else {
        fid = (uint16_t)((a->p1 << 8) | a->p2);
        if (fid == 0) {
            fid = c->s->current_ef;
        }
        if ((rc = parse_offset(a, &off)) != HSM_OK) {
            return rc;
        }
    }
    if (fid == 0) {
        return HSM_ERR_NOT_ALLOWED; /* no current EF */
    }
    size_t n;
    rc = hsm_file_read(c->s, fid, off, c->out + c->out_len, hsm_cmd_room(c), &n);
    if (rc != HSM_OK) {
        return rc;
    }
    c->s->current_ef = fid;
    c->out_len += n;
    return HSM_OK;
}
