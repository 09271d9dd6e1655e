/* snapshotee: a process for the fork-snapshot core tests and the pause
 * benchmark.
 *
 *   snapshotee [mib=N] [writer=1] [fifo=PATH] [child=1] [dontfork=MIB] [thp=1] [seccomp=1]
 *
 * mib      N MiB of 8-byte slots, touched (dense); with writer=1,
 *          bump_generations() rewrites them without end: pass g writes g
 *          into every slot in order, so any one instant of its memory holds
 *          g in a prefix and g-1 after it
 * thp      the slots madvise(MADV_HUGEPAGE)
 * fifo     read_fifo() blocks in read() on PATH and prints "read N TEXT"
 * child    starts `sleep 3600`; wait_children() blocks in waitpid(-1) and
 *          prints "reaped PID"
 * dontfork MIB of 0xdd bytes, madvise(MADV_DONTFORK), at dontfork_area
 * seccomp  a filter (every thread) that kills the process on fork, vfork
 *          or a clone of a process
 *
 * stamp_clock() stamps CLOCK_MONOTONIC every ms: the largest gap between
 * two stamps is the pause a client would have felt. It prints "ready PID"
 * once set up, then answers commands on stdin: "gap" (the largest gap in
 * ms since the last "gap"), "sigchld" (how many SIGCHLDs it got), "child"
 * (the pid of its sleep), "fork" (how long a bare fork() of it takes, ms:
 * the floor of a snapshot's pause). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What a test reads from the core with gdb. */
volatile uint64_t snapshot_marker = 0x5ca1ab1edeadbeefULL;
volatile uint64_t *slots;
volatile size_t n_slots;
volatile char *dontfork_area;

static atomic_long max_gap_ns, sigchld_count;
static pid_t sleeper;

static const char *arg(int argc, char **argv, const char *key, const char *fallback) {
        size_t n = strlen(key);
        for (int i = 1; i < argc; i++)
                if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
                        return argv[i] + n + 1;
        return fallback;
}

static long now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1000000000L + t.tv_nsec;
}

__attribute__((noinline)) static void *stamp_clock(void *unused) {
        for (long last = now_ns();;) {
                usleep(1000);
                long now = now_ns(), gap = now - last, max = atomic_load(&max_gap_ns);
                while (gap > max && !atomic_compare_exchange_weak(&max_gap_ns, &max, gap))
                        ;
                last = now;
        }
        return NULL;
}

__attribute__((noinline)) static void *bump_generations(void *unused) {
        for (uint64_t g = 1;; g++)
                for (size_t i = 0; i < n_slots; i++)
                        slots[i] = g;
        return NULL;
}

__attribute__((noinline)) static void *read_fifo(void *path) {
        int fd = open(path, O_RDWR);    /* RDWR: open returns without a writer */
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf - 1);
        printf("read %zd %.*s\n", n, n > 0 ? (int) n : 0, buf);
        return NULL;
}

__attribute__((noinline)) static void *wait_children(void *unused) {
        pid_t pid = waitpid(-1, NULL, 0);
        printf("reaped %d\n", (int) pid);
        return NULL;
}

static void on_sigchld(int sig) {
        atomic_fetch_add(&sigchld_count, 1);
}

static void start(void *(*fn)(void *), void *arg) {
        pthread_t t;
        if (pthread_create(&t, NULL, fn, arg) != 0) {
                perror("pthread_create");
                exit(1);
        }
}

/* Kills the process on fork, vfork, clone of a process (not of a thread);
 * clone3 says ENOSYS, so nothing falls back past the filter. */
static void install_seccomp(void) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fork, 4, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vfork, 3, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
                BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof f / sizeof *f, .filter = f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
                perror("seccomp");
                exit(1);
        }
}

__attribute__((noinline)) static void serve_commands(void) {
        char line[64];
        while (fgets(line, sizeof line, stdin)) {
                if (strncmp(line, "gap", 3) == 0)
                        printf("gap %.3f\n", (double) atomic_exchange(&max_gap_ns, 0) / 1e6);
                else if (strncmp(line, "sigchld", 7) == 0)
                        printf("sigchld %ld\n", atomic_load(&sigchld_count));
                else if (strncmp(line, "child", 5) == 0)
                        printf("child %d\n", (int) sleeper);
                else if (strncmp(line, "fork", 4) == 0) {
                        long start = now_ns();
                        pid_t pid = fork();
                        if (pid == 0)
                                _exit(0);
                        long end = now_ns();
                        waitpid(pid, NULL, 0);
                        printf("fork %.3f\n", (double) (end - start) / 1e6);
                }
        }
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        signal(SIGCHLD, on_sigchld);
        size_t bytes = (size_t) (atof(arg(argc, argv, "mib", "64")) * 1048576);
        slots = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (slots == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        if (atoi(arg(argc, argv, "thp", "0")))
                madvise((void *) slots, bytes, MADV_HUGEPAGE);
        n_slots = bytes / sizeof *slots;
        for (size_t i = 0; i < n_slots; i++)
                slots[i] = 0;
        size_t dontfork = (size_t) (atof(arg(argc, argv, "dontfork", "0")) * 1048576);
        if (dontfork) {
                dontfork_area = mmap(NULL, dontfork, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                memset((void *) dontfork_area, 0xdd, dontfork);
                madvise((void *) dontfork_area, dontfork, MADV_DONTFORK);
        }
        if (atoi(arg(argc, argv, "child", "0"))) {
                if ((sleeper = fork()) == 0) {
                        execlp("sleep", "sleep", "3600", (char *) NULL);
                        _exit(127);
                }
                start(wait_children, NULL);
        }
        const char *fifo = arg(argc, argv, "fifo", NULL);
        if (fifo)
                start(read_fifo, (void *) fifo);
        if (atoi(arg(argc, argv, "writer", "0")))
                start(bump_generations, NULL);
        start(stamp_clock, NULL);
        if (atoi(arg(argc, argv, "seccomp", "0")))
                install_seccomp();
        usleep(100000);
        atomic_store(&max_gap_ns, 0);
        printf("ready %d\n", (int) getpid());
        serve_commands();
        return 0;
}
