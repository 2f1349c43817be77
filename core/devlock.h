/* devlock: one owner per device. A serial port gets the usual UUCP lock file (/run/lock/LCK..ttyUSB0, the pid in
 * ten columns, stale pids cleared) that other serial programs respect too; every site device gets portier's owner
 * lock (an flock, released by the kernel whatever way the owner dies), so a second owner fails with a clear error
 * naming the first (portierd, a console, portierctl) instead of sharing a panel or a bus. */
#ifndef PORTIER_DEVLOCK_H
#define PORTIER_DEVLOCK_H

#include <stddef.h>
#include <sys/types.h>

struct devlock;

/* The lock directory: $PORTIER_LOCK_DIR when set (tests, unusual systems), else /run/lock. */
const char *devlock_dir(void);

/* The UUCP lock of a terminal device path (a symlink is followed; /dev/pts/3 is locked as LCK..pts_3). 0 with *out
 * set, or -1 with err: "/dev/ttyUSB0 is in use by pid 1234 (portierd)". A lock file whose pid is gone is removed. */
int devlock_tty(const char *path, struct devlock **out, char *err, size_t errlen);

/* The owner lock of one device, by identity ("c3 192.168.1.201:4370", "nix1 /dev/ttyUSB0"). 0 with *out set, or
 * -1 with err: "... is owned by pid 1234 (portierd)". */
int devlock_owner(const char *identity, struct devlock **out, char *err, size_t errlen);

/* Who holds the owner lock of identity now: its pid (0 when nobody), and its program name in name. */
pid_t devlock_owner_of(const char *identity, char *name, size_t namelen);

/* Release (NULL is fine). */
void devlock_release(struct devlock *l);

#endif
