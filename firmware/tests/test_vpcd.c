/* test_vpcd.c — vpcd framing over a socket pair: split frames, control codes, limits. */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "hsm/card.h"
#include "hsm/err.h"
#include "ram_port.h"
#include "vpcd.h"

static uint8_t buf[HSM_VPCD_FRAME_MAX];

struct dribble {
    int fd;
    const uint8_t *p;
    size_t n;
};

/* Writes one byte at a time, so the reader sees every possible split. */
static void *dribble(void *arg)
{
    struct dribble *d = arg;
    for (size_t i = 0; i < d->n; i++) {
        if (write(d->fd, d->p + i, 1) != 1) {
            break;
        }
    }
    return NULL;
}

static void test_split_frames(void)
{
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static uint8_t stream[3 + 2 + 5 + 2 + 300 + 2];
    size_t n = 0;
    stream[n++] = 0x00, stream[n++] = 0x01, stream[n++] = 0x04;           /* get ATR */
    stream[n++] = 0x00, stream[n++] = 0x05;                                 /* 5-byte APDU */
    memcpy(stream + n, "\x00\x84\x00\x00\x08", 5), n += 5;
    stream[n++] = 0x01, stream[n++] = 0x2C;                                 /* 300 bytes */
    for (int i = 0; i < 300; i++) {
        stream[n++] = (uint8_t)i;
    }
    stream[n++] = 0x00, stream[n++] = 0x00;                                 /* empty frame */
    struct dribble d = {sv[1], stream, n};
    pthread_t th;
    pthread_create(&th, NULL, dribble, &d);
    size_t len = 0;
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), 1);
    CHECK_EQ_INT(len, 1);
    CHECK_EQ_INT(buf[0], 4);
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), 1);
    CHECK_EQ_INT(len, 5);
    CHECK_MEM(buf, "\x00\x84\x00\x00\x08", 5);
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), 1);
    CHECK_EQ_INT(len, 300);
    CHECK_EQ_INT(buf[299], (uint8_t)299);
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), 1);
    CHECK_EQ_INT(len, 0);
    pthread_join(th, NULL);
    close(sv[1]);
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), 0); /* orderly end */
    close(sv[0]);
}

static void test_truncated_and_oversize(void)
{
    int sv[2];
    size_t len;
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ_INT(write(sv[1], "\x00\x10\x01\x02", 4), 4); /* 16 announced, 2 sent */
    close(sv[1]);
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), -1);
    close(sv[0]);

    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ_INT(write(sv[1], "\x00", 1), 1); /* half a header */
    close(sv[1]);
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, sizeof(buf), &len, NULL), -1);
    close(sv[0]);

    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK_EQ_INT(write(sv[1], "\x01\x00", 2), 2); /* 256 announced, buffer of 16 */
    errno = 0;
    CHECK_EQ_INT(hsm_vpcd_read_frame(sv[0], buf, 16, &len, NULL), -1);
    CHECK_EQ_INT(errno, EMSGSIZE);
    close(sv[0]);
    close(sv[1]);
}

static void test_write_frame(void)
{
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static uint8_t big[HSM_VPCD_FRAME_MAX];
    memset(big, 0x3C, sizeof(big));
    CHECK_EQ_INT(hsm_vpcd_write_frame(sv[0], big, 3), 0);
    uint8_t got[5];
    CHECK_EQ_INT(read(sv[1], got, 5), 5);
    CHECK_MEM(got, "\x00\x03\x3C\x3C\x3C", 5);
    errno = 0;
    CHECK_EQ_INT(hsm_vpcd_write_frame(sv[0], big, HSM_VPCD_FRAME_MAX + 1), -1);
    CHECK_EQ_INT(errno, EMSGSIZE);
    close(sv[0]);
    close(sv[1]);
}

static void test_handle(void)
{
    uint8_t out[HSM_VPCD_FRAME_MAX];
    const uint8_t *atr;
    size_t atr_len = hsm_card_atr(&atr);
    uint8_t code = HSM_VPCD_GET_ATR;
    CHECK_EQ_INT(hsm_vpcd_handle(&code, 1, out, sizeof(out)), atr_len);
    CHECK_MEM(out, atr, atr_len);
    /* Power off/on/reset and unknown codes get no answer. */
    const uint8_t silent[] = {HSM_VPCD_POWER_OFF, HSM_VPCD_POWER_ON, HSM_VPCD_RESET, 0x03, 0xFF};
    for (size_t i = 0; i < sizeof(silent); i++) {
        CHECK_EQ_INT(hsm_vpcd_handle(&silent[i], 1, out, sizeof(out)), 0);
    }
    /* APDUs of 0, 2, 3 bytes answer 6700; a valid one answers. */
    CHECK_EQ_INT(hsm_vpcd_handle(buf, 0, out, sizeof(out)), 2);
    CHECK_MEM(out, "\x67\x00", 2);
    CHECK_EQ_INT(hsm_vpcd_handle((const uint8_t *)"\x00\xA4", 2, out, sizeof(out)), 2);
    CHECK_MEM(out, "\x67\x00", 2);
    CHECK_EQ_INT(hsm_vpcd_handle((const uint8_t *)"\x00\x84\x00\x00\x04", 5, out, sizeof(out)), 6);
    CHECK_MEM(out + 4, "\x90\x00", 2);
    /* Selection is lost on reset. */
    const uint8_t sel[] = {0x00, 0xA4, 0x04, 0x0C, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01};
    CHECK_EQ_INT(hsm_vpcd_handle(sel, sizeof(sel), out, sizeof(out)), 2);
    CHECK_MEM(out, "\x90\x00", 2);
    CHECK_EQ_INT(hsm_vpcd_handle((const uint8_t *)"\x80\x58\x00\x00\x00", 5, out, sizeof(out)), 4);
    CHECK_MEM(out, "\xCC\x00\x90\x00", 4);
    code = HSM_VPCD_RESET;
    CHECK_EQ_INT(hsm_vpcd_handle(&code, 1, out, sizeof(out)), 0);
    CHECK_EQ_INT(hsm_vpcd_handle((const uint8_t *)"\x80\x58\x00\x00\x00", 5, out, sizeof(out)), 2);
    CHECK_MEM(out, "\x6D\x00", 2);
}

int main(void)
{
    ram_port_reset(NULL);
    CHECK_EQ_INT(hsm_card_init(), HSM_OK);
    test_split_frames();
    test_truncated_and_oversize();
    test_write_frame();
    test_handle();
    return CHECK_DONE();
}
