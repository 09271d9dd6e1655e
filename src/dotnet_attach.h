/* Reaching a .NET runtime's diagnostics server from outside: its socket,
 * dotnet-diagnostic-<pid>-<key>-socket in the target's own TMPDIR (its pid
 * and TMPDIR as it sees them, reached through /proc/PID/root, so a
 * process in a container is reached from the host), and one request with
 * its reply at a time. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "dotnet_ipc.h"
#include "proc.h"
#include "util.h"

/* Connects to PID's diagnostics server. Why not, in `why`: -ENOTSUP no
 * .NET runtime in it, -EPERM its diagnostics disabled
 * (DOTNET_EnableDiagnostics=0), -ENOENT no socket (yet). */
int dotnet_connect(const struct proc_root *root, pid_t pid, int *ret_fd, char *why, size_t size);

/* TMPDIR as the target sees it: its environment's, else /tmp. */
void dotnet_tmpdir(const struct proc_root *root, pid_t pid, char *buf, size_t size);

struct dotnet_reply {
        struct dotnet_ipc_header header;
        uint8_t payload[DOTNET_IPC_MAX];
        size_t len;
};

/* Sends the message, not waiting for its reply. */
int dotnet_send(int fd, struct dotnet_ipc_writer *w, char *why, size_t size);
/* Sends the message and reads the reply, all within `timeout`. An error
 * reply (0xFFFF) is -EREMOTEIO with its HRESULT in words in `why`. */
int dotnet_exchange(int fd, struct dotnet_ipc_writer *w, usec_t timeout, struct dotnet_reply *ret, char *why,
                    size_t size);
