/* Symbolizing addresses of a live process with elfutils libdw: the
 * modules come from /proc/PID/maps, symbols and lines from their files
 * (and separate debug info where installed). */
#pragma once

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct symbol {
        const char *name;       /* NULL: unknown; C++ names demangled */
        uint64_t offset;        /* from the symbol's start */
        const char *module;     /* the file's path, or NULL */
        const char *file;       /* source file, or NULL */
        int line;
        char demangled[1024];   /* where a demangled name is kept */
};

/* A Dwfl with PID's modules reported; NULL on failure (dwfl_errmsg). */
Dwfl *symbols_open(pid_t pid);
/* What is at `addr`. The strings belong to the Dwfl, or to *ret. */
void symbols_lookup(Dwfl *dwfl, Dwarf_Addr addr, struct symbol *ret);
