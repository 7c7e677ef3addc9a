/*
 * vpcd.c — vpcd framing and frame handling; see vpcd.h.
 */
#include "vpcd.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsm/card.h"

/* Asks the kernel to acknowledge at once. Debian's vpcd sends a frame's 2-byte header and its
 * body in two writes with Nagle's algorithm on: the body waits for the header's ACK, which a
 * delayed ACK holds back for ~40 ms. The kernel clears quick-ACK mode by itself, so it is
 * re-armed after every receive. A no-op on sockets that are not TCP. */
static void quickack(int fd)
{
    const int one = 1;
    int saved = errno; /* callers report their own errno: this call must not change it */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    errno = saved;
}

/* Reads exactly n bytes. Returns n, 0 if the stream ended before the first byte, -1 otherwise. */
static ssize_t read_full(int fd, uint8_t *p, size_t n, volatile const bool *stop)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r > 0) {
            quickack(fd);
            got += (size_t)r;
        } else if (r == 0) {
            if (got == 0) {
                return 0;
            }
            errno = EPIPE;
            return -1;
        } else if (errno != EINTR || (stop && *stop)) {
            return -1;
        }
    }
    return (ssize_t)n;
}

int hsm_vpcd_read_frame(int fd, uint8_t *buf, size_t cap, size_t *len, volatile const bool *stop)
{
    uint8_t hdr[2];
    ssize_t r = read_full(fd, hdr, 2, stop);
    if (r <= 0) {
        return (int)r;
    }
    size_t n = ((size_t)hdr[0] << 8) | hdr[1];
    if (n > cap) {
        errno = EMSGSIZE;
        return -1;
    }
    if (n > 0) {
        r = read_full(fd, buf, n, stop);
        if (r != (ssize_t)n) {
            if (r == 0) {
                errno = EPIPE; /* the stream ended between header and body */
            }
            return -1;
        }
    }
    *len = n;
    return 1;
}

int hsm_vpcd_write_frame(int fd, const uint8_t *buf, size_t len)
{
    if (len > HSM_VPCD_FRAME_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    /* One send for header and body: one TCP segment for small answers. */
    static uint8_t out[2 + HSM_VPCD_FRAME_MAX];
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, buf, len);
    size_t done = 0, total = len + 2;
    while (done < total) {
        ssize_t w = send(fd, out + done, total - done, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

size_t hsm_vpcd_handle(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    if (n == 1) {
        switch (in[0]) {
        case HSM_VPCD_POWER_OFF:
        case HSM_VPCD_POWER_ON:
        case HSM_VPCD_RESET:
            hsm_card_reset();
            return 0;
        case HSM_VPCD_GET_ATR: {
            const uint8_t *atr;
            size_t len = hsm_card_atr(&atr);
            if (len > cap) {
                return 0;
            }
            memcpy(out, atr, len);
            return len;
        }
        default:
            return 0; /* unknown control code: vpcd expects no answer */
        }
    }
    return hsm_card_apdu(in, n, out, cap);
}
