#include "util.h"

#include <signal.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

void format_utc(usec_t t, bool compact, char *buf, size_t size) {
        time_t secs = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        gmtime_r(&secs, &tm);
        if (compact)
                strftime(buf, size, "%Y%m%dT%H%M%SZ", &tm);
        else {
                char base[32];
                strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
                snprintf(buf, size, "%s.%03uZ", base, (unsigned) (t % USEC_PER_SEC / 1000));
        }
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len) {
        /* O_NONBLOCK: a FIFO someone planted where a file was expected
         * must not hang the reader before fstat can refuse it. */
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        struct stat st;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -ENOT_REGULAR;
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap >= max)
                                return -EFBIG;
                        char *n = realloc(buf, cap * 2);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        cap *= 2;
                }
                ssize_t r = read(fd, buf + len, cap - len - 1);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (r == 0)
                        break;
                len += (size_t) r;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

const char *read_error_text(int r) {
        return r == -ENOT_REGULAR ? "not a regular file" : strerror(-r);
}

int write_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += w;
                len -= (size_t) w;
        }
        return 0;
}

int opendir_at(int dirfd, const char *path, DIR **ret) {
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

int exit_code_of_status(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *signal_code_name(int signo, int code) {
        switch (code) {
        case SI_USER: return "SI_USER";
        case SI_KERNEL: return "SI_KERNEL";
        case SI_QUEUE: return "SI_QUEUE";
        case SI_TKILL: return "SI_TKILL";
        }
        /* The same numbers mean different things per signal. */
        static const char *const segv[] = { [SEGV_MAPERR] = "SEGV_MAPERR", [SEGV_ACCERR] = "SEGV_ACCERR",
                                            [SEGV_BNDERR] = "SEGV_BNDERR", [SEGV_PKUERR] = "SEGV_PKUERR" };
        static const char *const bus[] = { [BUS_ADRALN] = "BUS_ADRALN", [BUS_ADRERR] = "BUS_ADRERR",
                                           [BUS_OBJERR] = "BUS_OBJERR", [BUS_MCEERR_AR] = "BUS_MCEERR_AR",
                                           [BUS_MCEERR_AO] = "BUS_MCEERR_AO" };
        static const char *const fpe[] = { [FPE_INTDIV] = "FPE_INTDIV", [FPE_INTOVF] = "FPE_INTOVF",
                                           [FPE_FLTDIV] = "FPE_FLTDIV", [FPE_FLTOVF] = "FPE_FLTOVF",
                                           [FPE_FLTUND] = "FPE_FLTUND", [FPE_FLTRES] = "FPE_FLTRES",
                                           [FPE_FLTINV] = "FPE_FLTINV", [FPE_FLTSUB] = "FPE_FLTSUB" };
        static const char *const ill[] = { [ILL_ILLOPC] = "ILL_ILLOPC", [ILL_ILLOPN] = "ILL_ILLOPN",
                                           [ILL_ILLADR] = "ILL_ILLADR", [ILL_ILLTRP] = "ILL_ILLTRP",
                                           [ILL_PRVOPC] = "ILL_PRVOPC", [ILL_PRVREG] = "ILL_PRVREG",
                                           [ILL_COPROC] = "ILL_COPROC", [ILL_BADSTK] = "ILL_BADSTK" };
        const char *const *names = NULL;
        size_t n = 0;
        switch (signo) {
        case SIGSEGV: names = segv; n = ELEMENTSOF(segv); break;
        case SIGBUS: names = bus; n = ELEMENTSOF(bus); break;
        case SIGFPE: names = fpe; n = ELEMENTSOF(fpe); break;
        case SIGILL: names = ill; n = ELEMENTSOF(ill); break;
        }
        return code > 0 && (size_t) code < n && names[code] ? names[code] : NULL;
}

int signal_from_text(const char *s) {
        const char *name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcmp(abbrev, name) == 0)
                        return sig;
        }
        char *end;
        errno = 0;
        long n = strtol(s, &end, 10);
        return !errno && end != s && !*end && n > 0 && n <= SIGRTMAX ? (int) n : -EINVAL;
}

size_t utf8_sequence_length(const unsigned char *s) {
        if (s[0] < 0x80)
                return 1;
        /* RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF. */
        size_t n;
        unsigned lo = 0x80, hi = 0xbf;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                if (s[0] == 0xe0)
                        lo = 0xa0;
                else if (s[0] == 0xed)
                        hi = 0x9f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                if (s[0] == 0xf0)
                        lo = 0x90;
                else if (s[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return n;
}

int find_in_path(const char *name, char **ret) {
        const char *path = getenv("PATH");
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *full;
                if (asprintf(&full, "%s/%s", dir, name) < 0)
                        return -ENOMEM;
                if (access(full, X_OK) == 0) {
                        *ret = full;
                        return 0;
                }
                free(full);
        }
        return -ENOENT;
}
