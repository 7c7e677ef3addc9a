/*
 * port.c — the emulator's entropy, clock and LED (port/entropy.h, port/device.h).
 * Entropy comes from the kernel's CSPRNG (getrandom), which runs its own health checks.
 */
#include <errno.h>
#include <sys/random.h>
#include <time.h>

#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/entropy.h"

int hsm_port_entropy(uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return HSM_ERR_ENTROPY;
        }
        buf += n;
        len -= (size_t)n;
    }
    return HSM_OK;
}

uint64_t hsm_port_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void hsm_port_led(hsm_led_state s)
{
    (void)s; /* no LED on a PC */
}
