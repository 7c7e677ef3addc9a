/*
 * tlv.h — the one BER-TLV reader and writer (ISO 7816-4 section 5.2 / X.690 subset).
 *
 * Tags: one byte, or multi-byte when the low five bits of the first byte are all ones
 * (continuation bytes have bit 8 set); at most 4 tag bytes, held big-endian in a uint32_t
 * (e.g. 7F49). Lengths: short form 00..7F, long form 81 xx, 82 xx xx, 83 xx xx xx; indefinite
 * length (80) and lengths beyond the input are rejected. The reader never reads past `end`.
 */
#ifndef HSM_TLV_H
#define HSM_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;   /* next unread byte */
    const uint8_t *end; /* one past the last byte */
} hsm_tlv_reader;

typedef struct {
    uint32_t tag;
    const uint8_t *value; /* inside the reader's input */
    size_t len;
    bool constructed;     /* bit 6 of the first tag byte */
} hsm_tlv;

void hsm_tlv_reader_init(hsm_tlv_reader *r, const uint8_t *buf, size_t len);

/* Reads the next TLV. Returns 1 when one was read, 0 at the end of input, HSM_ERR_DATA when the
 * input is malformed (truncated tag, length or value; unsupported length form). */
int hsm_tlv_next(hsm_tlv_reader *r, hsm_tlv *out);

/* Finds the first TLV with `tag` at the top level of buf. Returns 1 found, 0 absent, or
 * HSM_ERR_DATA if the input is malformed before the tag is reached. */
int hsm_tlv_find(const uint8_t *buf, size_t len, uint32_t tag, hsm_tlv *out);

/* Writer into a caller-owned buffer. On overflow `overflow` is set and writes become no-ops, so
 * a sequence of writes is checked once at the end with hsm_tlv_writer_ok(). */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
} hsm_tlv_writer;

void hsm_tlv_writer_init(hsm_tlv_writer *w, uint8_t *buf, size_t cap);
bool hsm_tlv_writer_ok(const hsm_tlv_writer *w);
void hsm_tlv_put_raw(hsm_tlv_writer *w, const void *data, size_t len);
void hsm_tlv_put(hsm_tlv_writer *w, uint32_t tag, const void *value, size_t len);
/* Constructed TLV whose length is known only later: begin returns a mark, end patches the
 * length (moving the value if the length needs more bytes than reserved). */
size_t hsm_tlv_begin(hsm_tlv_writer *w, uint32_t tag);
void hsm_tlv_end(hsm_tlv_writer *w, size_t mark);
/* Bytes needed to encode a tag / a length. */
size_t hsm_tlv_tag_size(uint32_t tag);
size_t hsm_tlv_len_size(size_t len);

#endif
