/* misbehave: a process that misbehaves on cue, for autodump's tests.
 *
 *   misbehave MODE [after=SECONDS] [key=value]...
 *
 * idle                              sleep until killed
 * leak    rate=MiB/s max=MiB        grow resident memory in leak_memory()
 * spin                              burn one core in spin_hot()
 * clock                             call clock_gettime (the vDSO) without end in poll_clock()
 * retitle title=TEXT                rewrite its own command line to TEXT, as setproctitle() does
 * jit                               spin in code it generates, named jit_spin_loop in its own
 *                                   /tmp/perf-PID.map, as a JIT runtime names its code
 * threads count=N                   start N threads in spawn_threads()
 * fds     count=N                   open N file descriptors in open_fds()
 * wide    threads=N reserve=MiB touch=MiB fill=pattern|random
 *                                   N threads, a mapping of `reserve` MiB never
 *                                   touched, `touch` MiB written (the shape that
 *                                   makes core dumps slow), in stay_wide()
 * spinner                           start a thread that burns a core in spin_in_thread()
 * maps    count=N                   make N separate mappings in make_mappings()
 * exit    code=N                    exit with status N
 * signal  sig=N                     die of signal N
 * sigwait                           print each signal received; exit 100+N on SIGTERM
 * child   mode=MODE ...             run MODE in a child process; wait for it
 * crash   kind=segv|abort|fpe       crash in crash_in_worker() on a second thread: a NULL
 *                                   write (segv), abort(), or an integer division by zero
 * handled                           fault on purpose, recover in its own SIGSEGV handler
 *                                   (as a JVM does) in fault_and_recover(); exit 0
 * sigusr  count=N                   send itself N SIGUSR1s, each handled; print the time
 * named   name=BYTES count=N        take BYTES as its comm (prctl), then start N threads
 * churn   rate=N                    start N short-lived threads a second, each spinning
 *                                   ~5 ms in churn_thread(), without end
 *
 * Every mode first waits `after` seconds (default 0), then misbehaves, then
 * idles until killed. The functions named above stay on the stack while
 * they run, so a core or a stack dump can be checked for them. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A value a test finds in a core dump: gdb prints it from leak_marker. */
volatile unsigned long leak_marker = 0;
static volatile char **leaked;
static volatile size_t leaked_count;

static const char *arg(int argc, char **argv, const char *key, const char *fallback) {
        size_t n = strlen(key);
        for (int i = 2; i < argc; i++)
                if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
                        return argv[i] + n + 1;
        return fallback;
}

/* Tells when the misbehaviour is complete, for latency measurements. */
static void announce(const char *what) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        printf("%s at %ld.%09ld\n", what, (long) ts.tv_sec, ts.tv_nsec);
        fflush(stdout);
}

static void idle_forever(void) {
        for (;;)
                pause();
}

__attribute__((noinline)) static void leak_memory(double rate_mib, double max_mib) {
        leak_marker = 0xfeedfacecafebeefUL;
        size_t chunk = 1 << 20;
        size_t chunks = (size_t) max_mib;
        leaked = calloc(chunks, sizeof *leaked);
        useconds_t pause_us = (useconds_t) (1e6 / rate_mib);
        for (size_t i = 0; i < chunks; i++) {
                char *p = malloc(chunk);
                memset(p, (int) (i & 0xff) | 1, chunk);        /* touched: resident */
                leaked[i] = p;
                leaked_count = i + 1;
                usleep(pause_us);
        }
        /* Stay in this frame so the leak shows on the stack. */
        idle_forever();
}

__attribute__((noinline)) static void spin_hot(void) {
        volatile unsigned long x = 0;
        for (;;)
                x++;
}

/* Nearly all its time inside the vDSO: a core must carry the vDSO for a
 * debugger to unwind out of it. */
__attribute__((noinline)) static void poll_clock(void) {
        announce("polling the clock");
        struct timespec ts;
        for (;;)
                clock_gettime(CLOCK_MONOTONIC, &ts);
}

/* The argv strings are one block of memory, which /proc/PID/cmdline shows:
 * written over in place (zeros after the new title), the command line reads
 * TEXT from then on, with the same pid, start time and comm. */
__attribute__((noinline)) static void set_title(int argc, char **argv, const char *title) {
        char *start = argv[0], *end = argv[argc - 1] + strlen(argv[argc - 1]);
        size_t room = (size_t) (end - start), len = strlen(title);
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", title);       /* it lies inside the block */
        memset(start, 0, room);
        memcpy(start, copy, len < room ? len : room - 1);
        announce("title set");
        idle_forever();
}

__attribute__((noinline)) static void run_jit_code(void) {
        unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                                   -1, 0);
        if (code == MAP_FAILED)
                exit(1);
        code[0] = 0xeb;         /* jmp . : x86-64, forever */
        code[1] = 0xfe;
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%d.map", (int) getpid());
        FILE *map = fopen(path, "w");
        if (!map)
                exit(1);
        fprintf(map, "%lx 2 jit_spin_loop\n", (unsigned long) code);
        fclose(map);
        announce("jit code running");
        ((void (*)(void)) code)();
}

static void *spin_in_thread(void *unused) {
        (void) unused;
        spin_hot();
        return NULL;
}

static void *thread_idle(void *unused) {
        (void) unused;
        idle_forever();
        return NULL;
}

/* Whether every thread but the calling one sleeps (state S): only then
 * are they idle, blocked in idle_forever(), where a test expects them. */
static bool other_threads_asleep(void) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task");
        DIR *d = opendir(path);
        if (!d)
                return false;
        bool asleep = true;
        struct dirent *de;
        while (asleep && (de = readdir(d))) {
                int tid = atoi(de->d_name);
                if (tid <= 0 || tid == (int) gettid())
                        continue;
                /* Read whole: the comm may hold a newline (mode named). */
                char stat[512] = "";
                snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
                int fd = open(path, O_RDONLY);
                if (fd >= 0) {
                        ssize_t n = read(fd, stat, sizeof stat - 1);
                        stat[n > 0 ? n : 0] = 0;
                        close(fd);
                }
                const char *paren = strrchr(stat, ')');
                asleep = paren && paren[1] == ' ' && paren[2] == 'S';
        }
        closedir(d);
        return asleep;
}

__attribute__((noinline)) static void spawn_threads(int count) {
        for (int i = 0; i < count; i++) {
                pthread_t t;
                pthread_attr_t attr;
                pthread_attr_init(&attr);
                pthread_attr_setstacksize(&attr, 64 << 10);
                if (pthread_create(&t, &attr, thread_idle, NULL) != 0) {
                        perror("pthread_create");
                        exit(1);
                }
        }
        /* "threads started" promises idle threads: a test that stops the
         * process right after must find each in idle_forever(). */
        while (!other_threads_asleep())
                usleep(1000);
        announce("threads started");
        idle_forever();
}

static void *churn_thread(void *unused) {
        (void) unused;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        do
                clock_gettime(CLOCK_MONOTONIC, &now);
        while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 5000000L);
        return NULL;
}

/* Threads come and go without end, as in a server that starts one per
 * request: each new thread a new TID. */
__attribute__((noinline)) static void churn_threads(int rate) {
        announce("churning");
        for (;;) {
                pthread_t t;
                if (pthread_create(&t, NULL, churn_thread, NULL) == 0)
                        pthread_detach(t);
                usleep((useconds_t) (1000000 / rate));
        }
}

__attribute__((noinline)) static void open_fds(int count) {
        for (int i = 0; i < count; i++)
                if (open("/dev/null", O_RDONLY) < 0) {
                        perror("open");
                        break;
                }
        idle_forever();
}

__attribute__((noinline)) static void stay_wide(int threads, double reserve_mib, double touch_mib, const char *fill) {
        size_t reserve = (size_t) (reserve_mib * 1048576), touch = (size_t) (touch_mib * 1048576);
        void *untouched = reserve ? mmap(NULL, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                                  : NULL;
        char *touched = malloc(touch);
        if (untouched == MAP_FAILED || !touched) {
                perror("wide");
                exit(1);
        }
        /* fill=pattern compresses very well, fill=random not at all. */
        bool random_fill = strcmp(fill, "random") == 0;
        uint64_t x = 88172645463325252ULL;
        for (size_t i = 0; i < touch; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                touched[i] = random_fill ? (char) (x | 1) : (char) (i * 7 + 1);
        }
        leak_marker = 0xfeedfacecafebeefUL;
        spawn_threads(threads);
}

__attribute__((noinline)) static void start_spinner(void) {
        pthread_t t;
        if (pthread_create(&t, NULL, spin_in_thread, NULL) != 0) {
                perror("pthread_create");
                exit(1);
        }
        announce("spinner started");
        idle_forever();
}

/* Alternating protections keep the kernel from merging neighbours, so each
 * page is its own mapping (and its own segment in a core). */
__attribute__((noinline)) static void make_mappings(int count) {
        long page = sysconf(_SC_PAGESIZE);
        char *area = mmap(NULL, (size_t) count * (size_t) page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) {
                perror("mmap");
                exit(1);
        }
        for (int i = 0; i < count; i++) {
                area[(size_t) i * (size_t) page] = (char) (i | 1);
                if (i % 2 && mprotect(area + (size_t) i * (size_t) page, (size_t) page, PROT_READ) < 0) {
                        perror("mprotect");
                        exit(1);
                }
        }
        leak_marker = 0xfeedfacecafebeefUL;
        announce("mappings made");
        idle_forever();
}

static volatile int divisor;

__attribute__((noinline)) static void crash_in_worker(const char *kind) {
        announce("crashing");
        if (strcmp(kind, "abort") == 0)
                abort();
        if (strcmp(kind, "fpe") == 0) {
                volatile int x = (divisor + 7) / divisor;
                (void) x;
        }
        *(volatile int *) (uintptr_t) 0x10 = 1;
}

static void *crash_thread(void *kind) {
        crash_in_worker(kind);
        return NULL;
}

static void crash_soon(const char *kind) {
        pthread_t t;
        pthread_create(&t, NULL, crash_thread, (void *) kind);
        pthread_join(t, NULL);
}

static sigjmp_buf recover;

static void on_fault(int sig) {
        siglongjmp(recover, 1);
}

__attribute__((noinline)) static void fault_and_recover(void) {
        signal(SIGSEGV, on_fault);
        for (volatile int i = 0; i < 3; i++)
                if (sigsetjmp(recover, 1) == 0)
                        *(volatile int *) (uintptr_t) 0x10 = i;
        announce("recovered");
        exit(0);
}

static volatile sig_atomic_t handled_count;

static void count_signal(int sig) {
        handled_count++;
}

static void send_signals(long count) {
        signal(SIGUSR1, count_signal);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < count; i++)
                raise(SIGUSR1);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%ld signals in %.3f s\n", (long) handled_count,
               (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9);
        exit(0);
}

static void on_signal(int sig) {
        char line[64];
        int n = snprintf(line, sizeof line, "got signal %d\n", sig);
        (void) !write(STDOUT_FILENO, line, (size_t) n);
        if (sig == SIGTERM)
                _exit(100 + sig);
}

static int behave(const char *mode, int argc, char **argv) {
        double after = atof(arg(argc, argv, "after", "0"));
        if (after > 0)
                usleep((useconds_t) (after * 1e6));
        if (strcmp(mode, "idle") == 0)
                idle_forever();
        if (strcmp(mode, "leak") == 0)
                leak_memory(atof(arg(argc, argv, "rate", "50")), atof(arg(argc, argv, "max", "512")));
        if (strcmp(mode, "spin") == 0)
                spin_hot();
        if (strcmp(mode, "clock") == 0)
                poll_clock();
        if (strcmp(mode, "jit") == 0)
                run_jit_code();
        if (strcmp(mode, "retitle") == 0)
                set_title(argc, argv, arg(argc, argv, "title", "retitled"));
        if (strcmp(mode, "threads") == 0)
                spawn_threads(atoi(arg(argc, argv, "count", "100")));
        if (strcmp(mode, "fds") == 0)
                open_fds(atoi(arg(argc, argv, "count", "1000")));
        if (strcmp(mode, "wide") == 0)
                stay_wide(atoi(arg(argc, argv, "threads", "300")), atof(arg(argc, argv, "reserve", "1024")),
                          atof(arg(argc, argv, "touch", "16")), arg(argc, argv, "fill", "pattern"));
        if (strcmp(mode, "spinner") == 0)
                start_spinner();
        if (strcmp(mode, "maps") == 0)
                make_mappings(atoi(arg(argc, argv, "count", "70000")));
        if (strcmp(mode, "exit") == 0)
                exit(atoi(arg(argc, argv, "code", "0")));
        if (strcmp(mode, "signal") == 0) {
                int sig = atoi(arg(argc, argv, "sig", "9"));
                signal(sig, SIG_DFL);
                raise(sig);
                return 1;
        }
        if (strcmp(mode, "sigwait") == 0) {
                int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM, SIGURG,
                               SIGCONT, SIGTSTP, SIGPWR, SIGRTMIN + 3 };
                for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
                        signal(sigs[i], on_signal);
                printf("ready\n");
                fflush(stdout);
                idle_forever();
        }
        if (strcmp(mode, "crash") == 0)
                crash_soon(arg(argc, argv, "kind", "segv"));
        if (strcmp(mode, "handled") == 0)
                fault_and_recover();
        if (strcmp(mode, "named") == 0) {
                prctl(PR_SET_NAME, arg(argc, argv, "name", "named"));
                spawn_threads(atoi(arg(argc, argv, "count", "20")));
        }
        if (strcmp(mode, "churn") == 0)
                churn_threads(atoi(arg(argc, argv, "rate", "200")));
        if (strcmp(mode, "sigusr") == 0)
                send_signals(atol(arg(argc, argv, "count", "100000")));
        if (strcmp(mode, "child") == 0) {
                pid_t pid = fork();
                if (pid == 0)
                        return behave(arg(argc, argv, "mode", "idle"), argc, argv);
                int status;
                waitpid(pid, &status, 0);
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        fprintf(stderr, "misbehave: unknown mode '%s'\n", mode);
        return 2;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: misbehave MODE [after=SECONDS] [key=value]...\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        return behave(argv[1], argc, argv);
}
