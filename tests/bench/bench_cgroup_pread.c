/* The floor for a cgroup-sample: the preads, through kept-open fds, of the
 * files every cgroup metric reads on this machine (v1 memory, cpuacct, cpu
 * and pids beside v2's pressure files), for the cgroup paths given. Prints
 * µs of CPU per cgroup. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *const files[] = {
        "memory/%s/memory.usage_in_bytes", "memory/%s/memory.stat", "memory/%s/memory.oom_control",
        "cpuacct/%s/cpuacct.usage", "cpu/%s/cpu.stat", "pids/%s/pids.current",
        "unified/%s/cpu.pressure", "unified/%s/memory.pressure", "unified/%s/io.pressure",
};
#define N_FILES (sizeof files / sizeof files[0])

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        int n = argc - 1, rounds = 200;
        int *fd = calloc((size_t) n * N_FILES, sizeof *fd);
        for (int i = 0; i < n; i++)
                for (size_t f = 0; f < N_FILES; f++) {
                        char rel[512], path[600];
                        snprintf(rel, sizeof rel, files[f], argv[i + 1]);
                        snprintf(path, sizeof path, "/sys/fs/cgroup/%s", rel);
                        if ((fd[i * N_FILES + f] = open(path, O_RDONLY)) < 0) {
                                perror(path);
                                return 1;
                        }
                }
        char buf[8192];
        double t0 = now();
        for (int r = 0; r < rounds; r++)
                for (int i = 0; i < n * (int) N_FILES; i++)
                        if (pread(fd[i], buf, sizeof buf, 0) < 0)
                                return 1;
        printf("%.2f\n", (now() - t0) * 1e6 / (rounds * n));
        return 0;
}
