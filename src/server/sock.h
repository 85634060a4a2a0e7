/* sock.h: the daemon's UNIX socket file, made and removed safely, and who may talk through it.
 * Internal to the daemon. This is only the socket file's life cycle and the peer check; the event
 * loop that serves it is server.c. */
#ifndef AC_SERVER_SOCK_H
#define AC_SERVER_SOCK_H

#include "autocorrect/common.h"

#include <sys/types.h>

/* Where we bound, to remove exactly that file at exit (not one another daemon put there since). */
typedef struct ac__sock_file {
    char path[108];
    dev_t dev;
    ino_t ino;
} ac__sock_file;

/* Listens on the UNIX socket `path` (non-blocking, close-on-exec, mode 0600 from the start).
 * Refuses a symbolic link, anything that is not a socket, and a live socket (a daemon answers a
 * connect there); removes a stale socket (connect refused) and takes its place. Returns AC_OK with
 * *fd and *file set, or AC_E_IO with a message. Call before starting threads (it sets the umask
 * for the duration of bind). */
int ac__sock_listen(const char *path, int backlog, int *fd, ac__sock_file *file, char *err);

/* Removes file->path if it is still the socket we made (same device and inode). */
void ac__sock_unlink(const ac__sock_file *file);

/* Connects to the UNIX socket at path (blocking, close-on-exec). Returns the fd, or -errno. */
int ac__sock_connect(const char *path);

/* The user id of the process at the other end of the connected UNIX socket fd, as the kernel
 * recorded it at connect() (SO_PEERCRED; getpeereid where that is missing). Returns 0 with *uid
 * set, or -errno. */
int ac__sock_peer_uid(int fd, uid_t *uid);

/* Whether a peer with uid `peer` may use a daemon running as `self`: the same user, or root (who
 * can read the daemon's memory anyway). 1 or 0. Defence in depth behind the socket's 0600 mode and
 * 0700 directory: a socket path or a systemd SocketMode set too loose still serves one user. */
int ac__sock_peer_allowed(uid_t peer, uid_t self);

#endif
