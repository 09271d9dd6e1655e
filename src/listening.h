/* The TCP sockets a process listens on: its socket inodes (PID/fd) found
 * in its network namespace's tables (PID/net/tcp, tcp6). How a Go
 * program's net/http/pprof endpoint is found without being told. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

struct listen_addr {
        char host[48];          /* "127.0.0.1" or "[::1]": a wildcard becomes loopback */
        unsigned port;
};

/* Appends to ret (at most max in all, *n so far) the LISTEN sockets of a
 * /proc/net/tcp (v6: tcp6) text whose inode is one of `inodes`. Pure. */
void listening_parse(const char *text, bool v6, const uint64_t *inodes, size_t n_inodes, struct listen_addr *ret,
                     size_t max, size_t *n);
/* The sockets PID listens on, at most max. */
int listening_of_process(const struct proc_root *root, pid_t pid, struct listen_addr *ret, size_t max,
                         size_t *ret_n);
