/* daemon.h: `autocorrectd`'s command line, shared by the real program (src/daemon/main.c, with the
 * model backend) and the server tests (tests/server/, with a fake backend). Internal. */
#ifndef AC_SERVER_DAEMON_H
#define AC_SERVER_DAEMON_H

#include "server/backend.h"

/* Runs `autocorrectd ARGS` with the given backend: parses the options, reads the config, checks the
 * socket path, serves until SIGTERM. Returns the exit status: 0 success, 1 failure, 2 usage. */
int ac__daemon_main(int argc, char **argv, const ac_backend_ops *ops);

#endif
