#include "symbols.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdlib.h>
#include <string.h>

/* libstdc++'s demangler (the Itanium C++ ABI's), as eu-stack and gdb use:
 * a C++ frame reads _ZN6Parker4parkEbl otherwise. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

void symbols_use_debuginfod(const char *urls) {
        if (!urls) {
                unsetenv("DEBUGINFOD_URLS");
                return;
        }
        setenv("DEBUGINFOD_URLS", urls, 1);
        /* A server that accepts and never answers held a capture 150 s:
         * 5 s without progress, 30 s a file at most. */
        setenv("DEBUGINFOD_TIMEOUT", "5", 1);
        setenv("DEBUGINFOD_MAXTIME", "30", 1);
}

Dwfl *symbols_open(pid_t pid) {
        static char *debuginfo_path = NULL;
        static const Dwfl_Callbacks callbacks = {
                .find_elf = dwfl_linux_proc_find_elf,
                .find_debuginfo = dwfl_standard_find_debuginfo,
                .debuginfo_path = &debuginfo_path,
        };
        Dwfl *dwfl = dwfl_begin(&callbacks);
        if (dwfl && (dwfl_linux_proc_report(dwfl, pid) != 0 || dwfl_report_end(dwfl, NULL, NULL) != 0)) {
                dwfl_end(dwfl);
                return NULL;
        }
        return dwfl;
}

void symbols_lookup(Dwfl *dwfl, const struct perf_map *jit, Dwarf_Addr addr, struct symbol *ret) {
        *ret = (struct symbol) {};
        Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, addr) : NULL;
        if (!mod) {
                const struct jit_symbol *j = jit ? perf_map_find(jit, addr) : NULL;
                if (j) {
                        ret->name = j->name;
                        ret->offset = addr - j->start;
                        ret->module = "[jit]";
                }
                return;
        }
        GElf_Off offset = 0;
        GElf_Sym sym;
        Dwarf_Addr base = 0;
        ret->module = dwfl_module_info(mod, NULL, &base, NULL, NULL, NULL, NULL, NULL);
        ret->name = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
        ret->offset = offset;
        if (!ret->name) {
                const char *slash = ret->module ? strrchr(ret->module, '/') : NULL;
                snprintf(ret->demangled, sizeof ret->demangled, "%s+0x%" PRIx64,
                         slash ? slash + 1 : ret->module ? ret->module : "?", (uint64_t) (addr - base));
                ret->name = ret->demangled;
                ret->by_address = true;
                return;
        }
        if (ret->name && ret->name[0] == '_' && ret->name[1] == 'Z') {
                int status;
                char *plain = __cxa_demangle(ret->name, NULL, NULL, &status);
                if (plain && status == 0) {
                        snprintf(ret->demangled, sizeof ret->demangled, "%s", plain);
                        ret->name = ret->demangled;
                }
                free(plain);
        }
        Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
        if (line)
                ret->file = dwfl_lineinfo(line, NULL, &ret->line, NULL, NULL, NULL);
}
