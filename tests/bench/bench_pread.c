/* The floor for a process-sample: what a pread of /proc/PID/stat and of
 * /proc/PID/statm costs on this machine, through kept-open fds, for the
 * PIDs given. Prints µs per process. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        int n = argc - 1, rounds = 200;
        int *stat_fd = calloc((size_t) n, sizeof *stat_fd), *statm_fd = calloc((size_t) n, sizeof *statm_fd);
        for (int i = 0; i < n; i++) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%s/stat", argv[i + 1]);
                stat_fd[i] = open(path, O_RDONLY);
                snprintf(path, sizeof path, "/proc/%s/statm", argv[i + 1]);
                statm_fd[i] = open(path, O_RDONLY);
        }
        char buf[1024];
        double t0 = now();
        for (int r = 0; r < rounds; r++)
                for (int i = 0; i < n; i++)
                        if (pread(stat_fd[i], buf, sizeof buf, 0) < 0)
                                return 1;
        double t1 = now();
        for (int r = 0; r < rounds; r++)
                for (int i = 0; i < n; i++)
                        if (pread(stat_fd[i], buf, sizeof buf, 0) < 0 || pread(statm_fd[i], buf, sizeof buf, 0) < 0)
                                return 1;
        double t2 = now();
        printf("%.2f %.2f\n", (t1 - t0) * 1e6 / (rounds * n), (t2 - t1) * 1e6 / (rounds * n));
        return 0;
}
