/* test_tlv.c — the BER-TLV reader (nested, long-form lengths, truncated input) and writer. */
#include "check.h"
#include "hsm/err.h"
#include "hsm/tlv.h"

static void test_read_nested(void)
{
    /* 7F21 { 7F4E { 5F29 01 00, 42 02 'A' 'B' }, 5F37 01 FF } */
    const uint8_t in[] = {0x7F, 0x21, 0x0F, 0x7F, 0x4E, 0x08, 0x5F, 0x29, 0x01, 0x00, 0x42,
                          0x02, 'A', 'B', 0x5F, 0x37, 0x01, 0xFF};
    hsm_tlv_reader r;
    hsm_tlv t, u;
    hsm_tlv_reader_init(&r, in, sizeof(in));
    CHECK_EQ_INT(hsm_tlv_next(&r, &t), 1);
    CHECK_EQ_INT(t.tag, 0x7F21);
    CHECK(t.constructed);
    CHECK_EQ_INT(t.len, 15);
    CHECK_EQ_INT(hsm_tlv_next(&r, &u), 0);

    CHECK_EQ_INT(hsm_tlv_find(t.value, t.len, 0x7F4E, &u), 1);
    CHECK_EQ_INT(u.len, 8);
    hsm_tlv v;
    CHECK_EQ_INT(hsm_tlv_find(u.value, u.len, 0x42, &v), 1);
    CHECK_EQ_INT(v.len, 2);
    CHECK_MEM(v.value, "AB", 2);
    CHECK(!v.constructed);
    CHECK_EQ_INT(hsm_tlv_find(u.value, u.len, 0x43, &v), 0);
    CHECK_EQ_INT(hsm_tlv_find(t.value, t.len, 0x5F37, &v), 1);
    CHECK_EQ_INT(v.value[0], 0xFF);
}

static void test_lengths(void)
{
    static uint8_t in[4 + 70000];
    const size_t lens[] = {0, 1, 127, 128, 255, 256, 65535, 65536};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        hsm_tlv_writer w;
        static uint8_t val[70000];
        memset(val, (int)i, lens[i]);
        hsm_tlv_writer_init(&w, in, sizeof(in));
        hsm_tlv_put(&w, 0x53, val, lens[i]);
        CHECK(hsm_tlv_writer_ok(&w));
        CHECK_EQ_INT(w.len, 1 + hsm_tlv_len_size(lens[i]) + lens[i]);
        CHECK_EQ_INT(in[1], lens[i] < 128 ? lens[i] : lens[i] <= 255 ? 0x81 : lens[i] <= 65535 ? 0x82 : 0x83);
        hsm_tlv_reader r;
        hsm_tlv t;
        hsm_tlv_reader_init(&r, in, w.len);
        CHECK_EQ_INT(hsm_tlv_next(&r, &t), 1);
        CHECK_EQ_INT(t.tag, 0x53);
        CHECK_EQ_INT(t.len, lens[i]);
        CHECK(r.p == r.end);
        /* Every truncation of the encoding is rejected. */
        size_t cuts[] = {1, 2, w.len - 1};
        for (size_t k = 0; k < 3; k++) {
            if (cuts[k] >= w.len || cuts[k] == 0) {
                continue;
            }
            hsm_tlv_reader_init(&r, in, cuts[k]);
            CHECK_EQ_INT(hsm_tlv_next(&r, &t), HSM_ERR_DATA);
        }
    }
}

static void test_malformed(void)
{
    const struct { const char *name; uint8_t in[8]; size_t n; } bad[] = {
        {"length missing", {0x54}, 1},
        {"indefinite length", {0x30, 0x80, 0x00, 0x00}, 4},
        {"length of length 4", {0x04, 0x84, 0, 0, 0, 1, 0xAA}, 7},
        {"long length truncated", {0x04, 0x82, 0x01}, 3},
        {"value truncated", {0x04, 0x03, 0x01, 0x02}, 4},
        {"multi-byte tag truncated", {0x7F}, 1},
        {"tag continuation unterminated", {0x1F, 0x81, 0x82, 0x83, 0x84, 0x01, 0x00}, 7},
        {"81 with short value", {0x04, 0x81, 0x05, 0x01}, 4},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hsm_tlv_reader r;
        hsm_tlv t;
        hsm_tlv_reader_init(&r, bad[i].in, bad[i].n);
        int rc = hsm_tlv_next(&r, &t);
        if (rc != HSM_ERR_DATA) {
            fprintf(stderr, "bad case: %s\n", bad[i].name);
        }
        CHECK_EQ_INT(rc, HSM_ERR_DATA);
    }
    /* An empty input is the end, not an error; find in malformed input is an error. */
    hsm_tlv_reader r;
    hsm_tlv t;
    hsm_tlv_reader_init(&r, bad[0].in, 0);
    CHECK_EQ_INT(hsm_tlv_next(&r, &t), 0);
    CHECK_EQ_INT(hsm_tlv_find(bad[4].in, bad[4].n, 0x99, &t), HSM_ERR_DATA);
}

static void test_writer(void)
{
    uint8_t buf[600];
    hsm_tlv_writer w;
    /* Constructed with a short body, then with a body that needs an 82 length. */
    hsm_tlv_writer_init(&w, buf, sizeof(buf));
    size_t m = hsm_tlv_begin(&w, 0x7F49);
    hsm_tlv_put(&w, 0x86, "\x04\x01\x02", 3);
    hsm_tlv_end(&w, m);
    CHECK(hsm_tlv_writer_ok(&w));
    const uint8_t want[] = {0x7F, 0x49, 0x05, 0x86, 0x03, 0x04, 0x01, 0x02};
    CHECK_EQ_INT(w.len, sizeof(want));
    CHECK_MEM(buf, want, sizeof(want));

    uint8_t big[300];
    memset(big, 0x5A, sizeof(big));
    hsm_tlv_writer_init(&w, buf, sizeof(buf));
    m = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x04, big, sizeof(big));
    hsm_tlv_end(&w, m);
    CHECK(hsm_tlv_writer_ok(&w));
    CHECK_EQ_INT(buf[0], 0x30);
    CHECK_EQ_INT(buf[1], 0x82);
    CHECK_EQ_INT((buf[2] << 8) | buf[3], 304);
    CHECK_EQ_INT(buf[4], 0x04);
    CHECK_EQ_INT(w.len, 4 + 304);
    CHECK_EQ_INT(buf[w.len - 1], 0x5A);

    /* Overflow is sticky and reported; nothing is written past cap. */
    uint8_t small[8];
    memset(small, 0xEE, sizeof(small));
    hsm_tlv_writer_init(&w, small, 6);
    hsm_tlv_put(&w, 0x04, big, 10);
    CHECK(!hsm_tlv_writer_ok(&w));
    CHECK_EQ_INT(small[6], 0xEE);
    hsm_tlv_put(&w, 0x04, big, 1);
    CHECK(!hsm_tlv_writer_ok(&w));
    /* A length that grows at end() past cap overflows instead of corrupting. */
    hsm_tlv_writer_init(&w, buf, 131);
    m = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put_raw(&w, big, 129);
    hsm_tlv_end(&w, m);
    CHECK(!hsm_tlv_writer_ok(&w));
    CHECK_EQ_INT(hsm_tlv_tag_size(0x7F4E), 2);
    CHECK_EQ_INT(hsm_tlv_tag_size(0x5F2901), 3);
}

int main(void)
{
    test_read_nested();
    test_lengths();
    test_malformed();
    test_writer();
    return CHECK_DONE();
}
