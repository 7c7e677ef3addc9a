/*
 * main.c — pico-hsm-emu: the Pico HSM core as a virtual smart card for vsmartcard's vpcd.
 *
 *   pico-hsm-emu --flash FILE [--vpcd HOST:PORT] [--otp FILE|none]
 *
 * The OTP root (otp_file.h) lives in FILE.otp next to the flash file unless --otp (or, without
 * it, the environment variable PICO_HSM_OTP) names another file, or "none" for a chip without
 * OTP (as the RP2040).
 *
 * Connects to the vpcd reader (default 127.0.0.1:35963), reconnecting every 200 ms while the
 * reader is absent or after it went away (pcscd restarted). While connected it blocks in read:
 * an idle emulator uses no CPU. TCP_NODELAY on, and TCP_QUICKACK re-armed after every receive
 * (vpcd.c; the kernel clears it), so no round trip waits for Nagle's algorithm or a delayed ACK.
 * SIGTERM / SIGINT end it cleanly and promptly, whatever it is waiting for. SIGUSR1 presses the
 * button while a command waits for the user (press-to-confirm; presence.c documents the
 * PICO_HSM_BUTTON and PICO_HSM_BUTTON_TIMEOUT_MS environment variables).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flash_file.h"
#include "otp_file.h"
#include "host_presence.h"
#include "hsm/apdu.h"
#include "hsm/card.h"
#include "hsm/store.h"
#include "vpcd.h"

static volatile bool stop;
/* Self-pipe: the signal handler writes a byte, so a poll() that started just before the signal
 * still wakes (a plain flag check before a blocking read would race with the signal). */
static int wake[2] = {-1, -1};

/* Transport buffers, owned here: a whole vpcd frame in, a whole R-APDU out. */
static uint8_t rx[HSM_VPCD_FRAME_MAX];
static uint8_t tx[HSM_VPCD_FRAME_MAX];

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    stop = true;
    hsm_host_presence_interrupt();
    if (wake[1] >= 0) {
        ssize_t w = write(wake[1], "x", 1);
        (void)w;
    }
    errno = saved;
}

/* Waits until fd is readable (1) or a stop was requested (0). */
static int wait_readable(int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake[0], .events = POLLIN}};
    while (!stop) {
        int n = poll(p, 2, -1);
        if (n < 0 && errno != EINTR) {
            return 1; /* let the read report the error */
        }
        if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            return 1;
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: pico-hsm-emu --flash FILE [--vpcd HOST:PORT] [--otp FILE|none]\n"
               "  --flash FILE      flash image (created when absent)\n"
               "  --vpcd HOST:PORT  vpcd reader to connect to (default 127.0.0.1:35963)\n"
               "  --otp FILE|none   OTP root file, written once by provisioning (default:\n"
               "                    $PICO_HSM_OTP, else the flash file's name + .otp);\n"
               "                    none: no OTP, as on the RP2040\n");
}

/* Splits a copy of HOST:PORT (argv stays intact, so `ps` shows what was given). */
static int split_hostport(const char *arg, const char **host, const char **port)
{
    static char hp[256];
    if (strlen(arg) >= sizeof(hp)) {
        return -1;
    }
    strcpy(hp, arg);
    char *colon = strrchr(hp, ':');
    if (colon == NULL || colon == hp || colon[1] == '\0') {
        return -1;
    }
    *colon = '\0';
    *host = hp;
    *port = colon + 1;
    return 0;
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        return -1;
    }
    int fd = -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    return fd;
}

/* Serves one connection until the reader goes away or we are told to stop. */
static void serve(int fd)
{
    for (;;) {
        size_t n;
        if (!wait_readable(fd)) {
            return;
        }
        int r = hsm_vpcd_read_frame(fd, rx, sizeof(rx), &n, &stop);
        if (r <= 0) {
            if (r < 0 && !stop) {
                fprintf(stderr, "pico-hsm-emu: reader connection: %s\n", strerror(errno));
            }
            return;
        }
        size_t out = hsm_vpcd_handle(rx, n, tx, sizeof(tx));
        if (out > 0 && hsm_vpcd_write_frame(fd, tx, out) != 0) {
            fprintf(stderr, "pico-hsm-emu: reader connection: %s\n", strerror(errno));
            return;
        }
    }
}

int main(int argc, char **argv)
{
    const char *flash = NULL;
    const char *vpcd = "127.0.0.1:35963";
    const char *otp = getenv("PICO_HSM_OTP");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--flash") == 0 && i + 1 < argc) {
            flash = argv[++i];
        } else if (strcmp(argv[i], "--vpcd") == 0 && i + 1 < argc) {
            vpcd = argv[++i];
        } else if (strcmp(argv[i], "--otp") == 0 && i + 1 < argc) {
            otp = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "pico-hsm-emu: unknown or incomplete argument: %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (flash == NULL) {
        fprintf(stderr, "pico-hsm-emu: --flash FILE is required\n");
        usage(stderr);
        return 2;
    }
    const char *host, *port;
    if (split_hostport(vpcd, &host, &port) != 0) {
        fprintf(stderr, "pico-hsm-emu: --vpcd wants HOST:PORT, got %s\n", vpcd);
        return 2;
    }

    if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "pico-hsm-emu: pipe: %s\n", strerror(errno));
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: reads return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    hsm_host_presence_init(); /* SIGUSR1 = the button (presence.c) */

    static char otp_default[4096];
    if (otp == NULL || otp[0] == '\0') {
        if (snprintf(otp_default, sizeof(otp_default), "%s.otp", flash) >= (int)sizeof(otp_default)) {
            fprintf(stderr, "pico-hsm-emu: flash file name too long\n");
            return 2;
        }
        otp = otp_default;
    }
    if (hsm_host_otp_open(otp) != 0) {
        return 1;
    }
    if (hsm_host_flash_open(flash, HSM_HOST_FLASH_DEFAULT_SIZE) != 0) {
        return 1;
    }
    int rc = hsm_card_init();
    if (rc != 0) {
        fprintf(stderr, "pico-hsm-emu: card initialisation failed (error %d)\n", rc);
        hsm_host_flash_close();
        return 1;
    }
    /* One line of store figures per start: the soak test reads it to watch flash use. */
    hsm_store_stats st;
    hsm_store_get_stats(&st);
    fprintf(stderr,
            "pico-hsm-emu: store: %u objects, %u of %u bytes live, %u of %u sectors free, "
            "erase counts %u..%u\n",
            (unsigned)st.live_objects, (unsigned)st.live_bytes, (unsigned)st.capacity,
            (unsigned)st.free_sectors, (unsigned)st.sectors, (unsigned)st.erase_min,
            (unsigned)st.erase_max);

    bool announced = false;
    while (!stop) {
        int fd = dial(host, port);
        if (fd < 0) {
            if (!announced) {
                fprintf(stderr, "pico-hsm-emu: waiting for the vpcd reader at %s:%s\n", host, port);
                announced = true;
            }
            struct pollfd p = {.fd = wake[0], .events = POLLIN};
            poll(&p, 1, 200); /* retry in 200 ms, or at once on a stop request */
            continue;
        }
        fprintf(stderr, "pico-hsm-emu: connected to the vpcd reader at %s:%s\n", host, port);
        announced = false;
        hsm_card_reset(); /* a new reader connection is a fresh insertion */
        serve(fd);
        close(fd);
    }
    hsm_host_flash_close();
    return 0;
}
