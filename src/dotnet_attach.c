#include "dotnet_attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* Whether its environment turns the diagnostics server off. */
static bool diagnostics_disabled(const char *env, size_t len, const char **ret_var) {
        static const char *const vars[] = { "DOTNET_EnableDiagnostics", "COMPlus_EnableDiagnostics",
                                            "DOTNET_EnableDiagnostics_IPC" };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                const char *v = environ_value(env, len, vars[i]);
                if (v && strcmp(v, "0") == 0) {
                        *ret_var = vars[i];
                        return true;
                }
        }
        return false;
}

void dotnet_tmpdir(const struct proc_root *root, pid_t pid, char *buf, size_t size) {
        _cleanup_free_ char *env = NULL;
        size_t len;
        const char *t = proc_read_environ(root, pid, &env, &len) == 0 ? environ_value(env, len, "TMPDIR") : NULL;
        snprintf(buf, size, "%s", t && *t == '/' ? t : "/tmp");
}

/* dotnet-diagnostic-<nspid>-<key>-socket in its TMPDIR: the one whose key
 * is its start time (a socket left by an earlier process of the same pid
 * has another), else the newest. An O_PATH fd to it. */
static int open_socket(const struct proc_root *root, pid_t pid, int *ret_fd) {
        pid_t nspid;
        struct proc_stat st;
        char tmpdir[PATH_MAX], prefix[64], path[48];
        int r = proc_read_nspid(root, pid, &nspid);
        if (r < 0 || (r = proc_read_stat(root, pid, &st)) < 0)
                return r;
        dotnet_tmpdir(root, pid, tmpdir, sizeof tmpdir);
        snprintf(path, sizeof path, "%d/root", (int) pid);
        _cleanup_close_ int proc_root_fd = openat(root->fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_root_fd < 0)
                return -errno;
        struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int dir = (int) syscall(SYS_openat2, proc_root_fd, tmpdir, &how, sizeof how);
        if (dir < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = fdopendir(dir);
        if (!d) {
                close(dir);
                return -errno;
        }
        snprintf(prefix, sizeof prefix, "dotnet-diagnostic-%d-", (int) nspid);
        char best[NAME_MAX + 1] = "";
        struct timespec newest = {};
        struct dirent *de;
        while ((de = readdir(d))) {
                struct stat s;
                size_t n = strlen(de->d_name);
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || n < 7 || strcmp(de->d_name + n - 7, "-socket") ||
                    fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISSOCK(s.st_mode))
                        continue;
                bool exact = strtoull(de->d_name + strlen(prefix), NULL, 10) == st.starttime;
                if (exact || s.st_mtim.tv_sec > newest.tv_sec) {
                        snprintf(best, sizeof best, "%s", de->d_name);
                        newest = exact ? (struct timespec) { INT64_MAX, 0 } : s.st_mtim;
                }
        }
        if (!*best)
                return -ENOENT;
        int fd = openat(dirfd(d), best, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

int dotnet_connect(const struct proc_root *root, pid_t pid, int *ret_fd, char *why, size_t size) {
        bool coreclr;
        int r = proc_maps_mention(root, pid, "/libcoreclr.so", &coreclr);
        if (r < 0) {
                snprintf(why, size, "cannot read its maps: %s", strerror(-r));
                return r;
        }
        if (!coreclr) {
                snprintf(why, size, "not a .NET process (no libcoreclr.so mapped)");
                return -ENOTSUP;
        }
        _cleanup_close_ int path_fd = -1;
        if ((r = open_socket(root, pid, &path_fd)) < 0) {
                _cleanup_free_ char *env = NULL;
                size_t len;
                const char *var;
                if (proc_read_environ(root, pid, &env, &len) == 0 && diagnostics_disabled(env, len, &var)) {
                        snprintf(why, size, "the .NET runtime's diagnostics are disabled (%s=0)", var);
                        return -EPERM;
                }
                snprintf(why, size, "no .NET diagnostics socket (dotnet-diagnostic-PID-*-socket) in its TMPDIR: %s",
                         strerror(-r));
                return -ENOENT;
        }
        /* Connected through the O_PATH fd: no path length limit. */
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d", path_fd);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                r = -errno;
                snprintf(why, size, "cannot connect to its diagnostics socket: %s", strerror(-r));
                if (fd >= 0)
                        close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Exactly n bytes, or -ETIMEDOUT / -EPIPE. */
static int read_all(int fd, uint8_t *buf, size_t n, usec_t deadline) {
        for (size_t got = 0; got < n;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (now >= deadline || poll(&p, 1, (int) ((deadline - now) / USEC_PER_MSEC) + 1) == 0)
                        return -ETIMEDOUT;
                ssize_t r = read(fd, buf + got, n - got);
                if (r < 0 && errno != EINTR && errno != EAGAIN)
                        return -errno;
                if (r == 0)
                        return -EPIPE;
                got += r > 0 ? (size_t) r : 0;
        }
        return 0;
}

int dotnet_send(int fd, struct dotnet_ipc_writer *w, char *why, size_t size) {
        int len = dotnet_ipc_finish(w);
        if (len < 0) {
                snprintf(why, size, "the request is too long");
                return len;
        }
        if (send(fd, w->buf, (size_t) len, MSG_NOSIGNAL) != len) {
                snprintf(why, size, "cannot send the request: %m");
                return -EIO;
        }
        return 0;
}

int dotnet_exchange(int fd, struct dotnet_ipc_writer *w, usec_t timeout, struct dotnet_reply *ret, char *why,
                    size_t size) {
        int r = dotnet_send(fd, w, why, size);
        if (r < 0)
                return r;
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + timeout;
        uint8_t head[DOTNET_IPC_HEADER_SIZE];
        r = read_all(fd, head, sizeof head, deadline);
        if (r == 0 && dotnet_ipc_parse_header(head, sizeof head, &ret->header) < 0)
                r = -EBADMSG;
        ret->len = r == 0 ? ret->header.size - DOTNET_IPC_HEADER_SIZE : 0;
        if (r == 0)
                r = read_all(fd, ret->payload, ret->len, deadline);
        if (r < 0) {
                snprintf(why, size, "%s", r == -ETIMEDOUT ? "the runtime did not answer in time"
                                        : r == -EBADMSG ? "the runtime's answer is not of the diagnostics protocol"
                                                        : "the runtime closed the connection without an answer");
                return r;
        }
        if (ret->header.set == DOTNET_SET_SERVER && ret->header.id == DOTNET_SERVER_ERROR) {
                struct dotnet_ipc_reader rd = { .p = ret->payload, .len = ret->len };
                uint32_t hr = dotnet_ipc_get_u32(&rd);
                snprintf(why, size, "%s (HRESULT 0x%08" PRIx32 ")", dotnet_ipc_hresult_text(hr), hr);
                return -EREMOTEIO;
        }
        return 0;
}
