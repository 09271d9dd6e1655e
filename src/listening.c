#include "listening.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define TCP_LISTEN "0A"

static bool has_inode(const uint64_t *inodes, size_t n, uint64_t inode) {
        for (size_t i = 0; i < n; i++)
                if (inodes[i] == inode)
                        return true;
        return false;
}

/* "0100007F:1F90" (a NUL after it): the kernel prints each 32-bit word of the address as
 * it lies in memory, so reading the words back as native integers gives
 * the address's bytes in order. */
static bool parse_address(const char *hex, bool v6, struct listen_addr *ret) {
        size_t words = v6 ? 4 : 1;
        uint32_t w[4] = {};
        for (size_t i = 0; i < words; i++) {
                char part[9];
                memcpy(part, hex + 8 * i, 8);
                part[8] = 0;
                char *end;
                w[i] = (uint32_t) strtoul(part, &end, 16);
                if (*end)
                        return false;
        }
        const char *colon = hex + 8 * words;
        char *end;
        unsigned long port = *colon == ':' ? strtoul(colon + 1, &end, 16) : 0;
        if (*colon != ':' || *end || port == 0 || port > 65535)
                return false;
        char text[INET6_ADDRSTRLEN];
        unsigned char bytes[16];
        memcpy(bytes, w, sizeof bytes);
        static const unsigned char any[16];
        if (!v6)
                snprintf(ret->host, sizeof ret->host, "%s",
                         memcmp(bytes, any, 4) == 0 ? "127.0.0.1" : inet_ntop(AF_INET, bytes, text, sizeof text));
        else
                snprintf(ret->host, sizeof ret->host, "[%s]",
                         memcmp(bytes, any, 16) == 0 ? "::1" : inet_ntop(AF_INET6, bytes, text, sizeof text));
        ret->port = (unsigned) port;
        return true;
}

void listening_parse(const char *text, bool v6, const uint64_t *inodes, size_t n_inodes, struct listen_addr *ret,
                     size_t max, size_t *n) {
        /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
        for (const char *line = strchr(text, '\n'); line && *n < max; line = strchr(line, '\n')) {
                line++;
                char local[64], state[4];
                unsigned long long inode;
                if (sscanf(line, " %*[0-9]: %63s %*s %3s %*s %*s %*s %*s %*s %llu", local, state, &inode) != 3 ||
                    strcmp(state, TCP_LISTEN) != 0 || !has_inode(inodes, n_inodes, inode))
                        continue;
                /* ADDR:PORT, the address 8 or 32 hex digits, the port 4. */
                if (strlen(local) == (v6 ? 37u : 13u) && parse_address(local, v6, &ret[*n]))
                        (*n)++;
        }
}

/* The inodes of PID's sockets ("socket:[N]" links in PID/fd). */
static int socket_inodes(const struct proc_root *root, pid_t pid, uint64_t **ret, size_t *ret_n) {
        char path[32];
        snprintf(path, sizeof path, "%d/fd", (int) pid);
        DIR *d;
        int r = opendir_at(root->fd, path, &d);
        if (r < 0)
                return r;
        uint64_t *inodes = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char link[64];
                ssize_t len = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
                unsigned long long inode;
                if (len <= 0)
                        continue;
                link[len] = 0;
                if (sscanf(link, "socket:[%llu]", &inode) != 1)
                        continue;
                uint64_t *grown = realloc(inodes, (n + 1) * sizeof *grown);
                if (!grown) {
                        r = -ENOMEM;
                        break;
                }
                (inodes = grown)[n++] = inode;
        }
        closedir(d);
        if (r < 0) {
                free(inodes);
                return r;
        }
        *ret = inodes;
        *ret_n = n;
        return 0;
}

int listening_of_process(const struct proc_root *root, pid_t pid, struct listen_addr *ret, size_t max,
                         size_t *ret_n) {
        _cleanup_free_ uint64_t *inodes = NULL;
        size_t n_inodes = 0, n = 0;
        int r = socket_inodes(root, pid, &inodes, &n_inodes);
        if (r < 0)
                return r;
        for (int v6 = 0; v6 <= 1 && n_inodes; v6++) {
                char path[32];
                snprintf(path, sizeof path, "%d/net/tcp%s", (int) pid, v6 ? "6" : "");
                _cleanup_free_ char *text = NULL;
                if (read_file_at(root->fd, path, 16 << 20, &text, NULL) == 0)
                        listening_parse(text, v6, inodes, n_inodes, ret, max, &n);
        }
        *ret_n = n;
        return 0;
}
