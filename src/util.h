/* Small helpers shared by every module: cleanup attributes, time. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t usec_t;
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* One cleanup style throughout: variables that own a resource are declared
 * with one of these and released when they go out of scope. Ownership is
 * handed out with TAKE_PTR/TAKE_FD, which clear the variable. */
static inline void freep(void *p) { free(*(void **) p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_fclose_ __attribute__((cleanup(fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* Formats `t` (CLOCK_REALTIME µs) as UTC "YYYYmmddTHHMMSSZ" (compact=true,
 * for directory names) or ISO 8601 with milliseconds (for JSON). */
void format_utc(usec_t t, bool compact, char *buf, size_t size);

/* Reads a whole small file (below `max` bytes) at dirfd/path; NUL-terminated.
 * Only a regular file: a FIFO or device is -ENOT_REGULAR, never waited on. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
/* What no errno names: "not a regular file". */
#define ENOT_REGULAR EMEDIUMTYPE
/* strerror(-r), saying "not a regular file" for -ENOT_REGULAR. */
const char *read_error_text(int r);

/* Opens the directory at dirfd/path ("." for dirfd itself, with its own
 * read position) as a DIR stream. */
int opendir_at(int dirfd, const char *path, DIR **ret);

/* A waitpid(2) status as a shell reports it: the exit code, or 128+N when
 * signal N ended the process. */
int exit_code_of_status(int status);
/* The name of a siginfo si_code (SEGV_MAPERR, SI_USER…); NULL: unknown. */
const char *signal_code_name(int signo, int code);
/* The length of the UTF-8 sequence at s, or 0 if s does not start with a
 * valid one (RFC 3629: no overlong forms, surrogates or past U+10FFFF). */
size_t utf8_sequence_length(const unsigned char *s);
/* A signal by name (TERM, SIGTERM) or number; -EINVAL if none. */
int signal_from_text(const char *s);

/* The path of the program `name` in $PATH, or -ENOENT. */
int find_in_path(const char *name, char **ret);

/* Writes all of `buf` or fails with -errno. */
int write_all(int fd, const void *buf, size_t len);
