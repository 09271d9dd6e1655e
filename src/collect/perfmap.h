/* JIT frames: the perf map a runtime writes for the code it generates
 * (/tmp/perf-PID.map: "START SIZE NAME" lines, hex), read as the process
 * sees it — through /proc/PID/root, named by its pid in its own namespace.
 * JVMs (a perf-map agent, or -XX:+DumpPerfMapAtExit / jcmd
 * Compiler.perfmap), .NET (DOTNET_PerfMapEnabled=1) and Node
 * (--perf-basic-prof) write one when asked. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct jit_symbol {
        uint64_t start, size;
        char *name;
};

struct perf_map {
        struct jit_symbol *syms;        /* sorted by start; a later line for the same code wins */
        size_t n;
};

/* Parses the text of a perf map; lines that do not parse are skipped. */
int perf_map_parse(const char *text, struct perf_map *ret);
/* The process's perf map; an empty one (0) if it writes none. */
int perf_map_load(int proc_fd, pid_t pid, struct perf_map *ret);
const struct jit_symbol *perf_map_find(const struct perf_map *m, uint64_t addr);
void perf_map_free(struct perf_map *m);
