/* sock.c: making, checking and removing the daemon's UNIX socket file, and the peer check (see
 * sock.h). */
#include "server/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_addr(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path)
        return -ENAMETOOLONG;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return 0;
}

int ac__sock_connect(const char *path)
{
    struct sockaddr_un a;
    if (fill_addr(path, &a))
        return -ENAMETOOLONG;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int ac__sock_listen(const char *path, int backlog, int *fd_out, ac__sock_file *file, char *err)
{
    struct sockaddr_un a;
    if (fill_addr(path, &a) || strlen(path) >= sizeof file->path)
        return ac__errorf(err, AC_E_IO, "socket path %.60s... is too long", path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return ac__errorf(err, AC_E_IO, "%s is a symbolic link: refusing to use it as the socket", path);
        if (!S_ISSOCK(st.st_mode))
            return ac__errorf(err, AC_E_IO, "%s exists and is not a socket: refusing to replace it", path);
        int c = ac__sock_connect(path);
        if (c >= 0) {
            close(c);
            return ac__errorf(err, AC_E_IO, "another daemon is already listening on %s", path);
        }
        if (c != -ECONNREFUSED)
            return ac__errorf(err, AC_E_IO, "cannot check the socket %s: %s", path, strerror(-c));
        /* stale: nobody listens. Remove it only if it is still the same file we looked at. */
        struct stat again;
        if (lstat(path, &again) == 0 && (again.st_ino != st.st_ino || again.st_dev != st.st_dev))
            return ac__errorf(err, AC_E_IO, "the socket %s changed while being checked", path);
        if (unlink(path) != 0 && errno != ENOENT)
            return ac__errorf(err, AC_E_IO, "cannot remove the stale socket %s: %s", path, strerror(errno));
    } else if (errno != ENOENT) {
        return ac__errorf(err, AC_E_IO, "cannot check %s: %s", path, strerror(errno));
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ac__errorf(err, AC_E_IO, "socket: %s", strerror(errno));
    mode_t old = umask(0177); /* the socket file is born 0600: no window where others may connect */
    int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
    int e = errno;
    umask(old);
    if (rc != 0) {
        close(fd);
        return ac__errorf(err, AC_E_IO, "cannot bind %s: %s", path, strerror(e));
    }
    if (listen(fd, backlog) != 0 || lstat(path, &st) != 0) {
        e = errno;
        close(fd);
        unlink(path);
        return ac__errorf(err, AC_E_IO, "cannot listen on %s: %s", path, strerror(e));
    }
    snprintf(file->path, sizeof file->path, "%s", path);
    file->dev = st.st_dev;
    file->ino = st.st_ino;
    *fd_out = fd;
    return AC_OK;
}

void ac__sock_unlink(const ac__sock_file *file)
{
    struct stat st;
    if (!file->path[0] || lstat(file->path, &st) != 0)
        return;
    if (S_ISSOCK(st.st_mode) && st.st_dev == file->dev && st.st_ino == file->ino)
        unlink(file->path);
}

int ac__sock_peer_uid(int fd, uid_t *uid)
{
#ifdef SO_PEERCRED
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -errno;
    if (len != sizeof cred)
        return -EINVAL;
    *uid = cred.uid;
#else
    gid_t gid;
    if (getpeereid(fd, uid, &gid) != 0)
        return -errno;
#endif
    return 0;
}

int ac__sock_peer_allowed(uid_t peer, uid_t self)
{
    return peer == self || peer == 0;
}
