/* Symbolizing addresses of a live process with elfutils libdw: the
 * modules come from /proc/PID/maps, symbols and lines from their files
 * (and separate debug info where installed). */
#pragma once

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "perfmap.h"

struct symbol {
        const char *name;       /* NULL: unknown; C++ names demangled */
        bool by_address;        /* no symbol: `name` is MODULE+0xOFFSET, the address in its file */
        uint64_t offset;        /* from the symbol's start */
        const char *module;     /* the file's path, or NULL */
        const char *file;       /* source file, or NULL */
        int line;
        char demangled[1024];   /* where a demangled name is kept */
};

/* Whether libdw may fetch debug info over the network: only from `urls`
 * (the config's; NULL: never, whatever DEBUGINFOD_URLS the environment
 * holds, as Debian's login shells set it), and each fetch bounded. */
void symbols_use_debuginfod(const char *urls);

/* A Dwfl with PID's modules reported; NULL on failure (dwfl_errmsg). */
Dwfl *symbols_open(pid_t pid);
/* What is at `addr`: a symbol of its module; else code a runtime generated,
 * from its perf map `jit` (may be NULL); else, in a module without a symbol
 * there (a stripped binary's static function), its address in the module,
 * so that each stays apart. The strings belong to the Dwfl, the map, or
 * *ret. */
void symbols_lookup(Dwfl *dwfl, const struct perf_map *jit, Dwarf_Addr addr, struct symbol *ret);
