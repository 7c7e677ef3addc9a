/*
 * fuzz_vpcd.c — libFuzzer target over the emulator's vpcd stream: framing and dispatch.
 *
 * Input: the raw byte stream a vpcd reader would send (2-byte big-endian lengths and frames,
 * possibly truncated or oversized). It is written into one end of a socket pair and the
 * emulator's own reader (hsm_vpcd_read_frame, with a receive capacity chosen by the first
 * byte so the oversize path is reached too) and handler (hsm_vpcd_handle) consume it from the
 * other end, answering with hsm_vpcd_write_frame, until the stream ends or a frame is refused.
 * Invariants checked: a frame is never longer than the capacity, every APDU answer holds at
 * least the status word, and a refused frame sets errno to EMSGSIZE or EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsm/card.h"
#include "fuzz_card.h"
#include "ram_port.h"
#include "vpcd.h"

static uint8_t frame[HSM_VPCD_FRAME_MAX];
static uint8_t resp[HSM_VPCD_FRAME_MAX];
static uint8_t sink[1 << 16];

static void drain(int fd)
{
    while (read(fd, sink, sizeof(sink)) > 0) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_card_once();
    hsm_card_reset();
    if (size == 0 || size > 60000) {
        return 0;
    }
    /* Capacities: the real one, or a small one so that oversized frames are refused. */
    static const size_t caps[] = {HSM_VPCD_FRAME_MAX, 300, 5, 1};
    size_t cap = caps[data[0] & 3];
    data++, size--;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        abort();
    }
    int bufsz = 1 << 17;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    if (size > 0 && write(sv[1], data, size) != (ssize_t)size) {
        abort(); /* the buffer holds the whole input: nothing else is expected */
    }
    shutdown(sv[1], SHUT_WR);

    bool stop = false;
    for (;;) {
        size_t n = 0;
        errno = 0;
        int r = hsm_vpcd_read_frame(sv[0], frame, cap, &n, &stop);
        if (r == 0) {
            break;
        }
        if (r < 0) {
            if (errno != EMSGSIZE && errno != EPIPE) {
                abort();
            }
            break;
        }
        if (n > cap) {
            abort();
        }
        size_t out = hsm_vpcd_handle(frame, n, resp, sizeof(resp));
        if (n > 1 && out < 2) {
            abort();
        }
        if (out > 0) {
            if (hsm_vpcd_write_frame(sv[0], resp, out) != 0) {
                abort();
            }
            drain(sv[1]);
        }
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
