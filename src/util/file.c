/* Whole-file reads, read-only maps and the monotonic clock (see include/autocorrect/common.h). */
#include "autocorrect/common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int ac_file_read(const char *path, size_t max_bytes, char **out, size_t *len, char *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ac__errorf(err, AC_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ac__errorf(err, AC_E_IO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return ac__errorf(err, AC_E_LIMIT, "%s is %lld bytes, over the limit of %zu", path,
                          (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    char *data = malloc(size + 1);
    if (!data) {
        close(fd);
        return ac__errorf(err, AC_E_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            free(data);
            close(fd);
            return ac__errorf(err, AC_E_IO, "cannot read %s: %s", path, n < 0 ? strerror(e) : "file shrank");
        }
        got += (size_t)n;
    }
    close(fd);
    data[size] = 0;
    *out = data;
    *len = size;
    return AC_OK;
}

int ac_file_map(const char *path, const void **addr, size_t *len, char *err)
{
    *addr = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ac__errorf(err, AC_E_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ac__errorf(err, AC_E_IO, "%s is not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return AC_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return ac__errorf(err, AC_E_IO, "cannot map %s: %s", path, strerror(e));
    *addr = p;
    *len = (size_t)st.st_size;
    return AC_OK;
}

void ac_file_unmap(const void *addr, size_t len)
{
    if (addr && len)
        munmap((void *)addr, len);
}

double ac_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
