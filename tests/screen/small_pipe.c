/* small_pipe: an LD_PRELOAD library for the screen tests that makes every pipe as small as the kernel allows (one
 * page): a request to grow a pipe (F_SETPIPE_SZ) asks for 4096 bytes instead, as when the user's pipe limit refuses. */
#undef _FILE_OFFSET_BITS /* both fcntl and fcntl64 are defined here, each under its own name */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    if (cmd == F_SETPIPE_SZ)
        arg = 4096;
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
