/* durable: the one way portier replaces a file so that a crash or a power cut leaves either the old or the new
 * content, never a mix or an empty file (temporary file, fsync, rename, fsync of the directory). */
#ifndef PORTIER_DURABLE_H
#define PORTIER_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum {
    /* Atomic (readers see the old or the new file) but not synced: for files that need not survive a power
     * cut, e.g. a simulated device's memory card, where a sync per write would make timing depend on the disk. */
    DURABLE_NO_SYNC = 1u,
};

/* Replace `path` with `len` bytes of `data`: write them to a new temporary file in the same directory, fsync
 * it, rename it over `path`, fsync the directory. `mode` is the new file's mode (0600 for state). Two writers
 * of the same path never share a temporary file. 0, or -1 with errno kept and a message in err (may be NULL). */
int durable_write(const char *path, const void *data, size_t len, mode_t mode, unsigned flags, char *err,
                  size_t errlen);

/* mkdir -p: create `dir` and its missing parents with `mode`. 0, or -1 with errno kept. */
int durable_mkdirs(const char *dir, mode_t mode);
/* durable_mkdirs of the directory part of `path`. */
int durable_mkdirs_for(const char *path, mode_t mode);
/* rm -rf: remove `dir` and everything below it, never following a symbolic link (the link is removed, not what it
 * names). Goes on past what it cannot remove; 0 when dir is gone, -1 otherwise. */
int durable_remove_tree(const char *dir);

/* Read a whole regular file of at most `max` bytes into a new NUL-terminated buffer (*data, free it).
 * 0; -1 with errno (ENOENT when missing, EFBIG when larger than max). */
int durable_read(const char *path, size_t max, char **data, size_t *len);

#endif
