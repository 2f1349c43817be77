/* slow_listen: an LD_PRELOAD library for the tests that delays every listen() by PORTIER_TEST_LISTEN_DELAY_MS;
 * it widens the moment between a socket's bind and its listen, which a client must never see. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int listen(int fd, int backlog)
{
    const char *ms = getenv("PORTIER_TEST_LISTEN_DELAY_MS");
    long delay = ms ? strtol(ms, NULL, 10) : 0;
    if (delay > 0) {
        struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    return (int)syscall(SYS_listen, fd, backlog);
}
