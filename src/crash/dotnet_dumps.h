/* In run mode, the .NET runtime's own crash dumps. A .NET program handles
 * SIGSEGV itself and, told to by DOTNET_DbgEnableMiniDump, has createdump
 * write a dump of its crash (the crash tracer lets .NET programs go at
 * their exec so nothing stands in its way: follow.c). The command starts
 * with those settings, the dump written into a staging directory of the
 * output; each dump that lands there becomes an artifact of the first
 * crash rule that selects the process, within its max and cooldown:
 * dotnet.dmp (an ELF core that dotnet-dump, lldb/SOS and gdb open) and a
 * trigger.json. */
#pragma once

#include "../loop.h"
#include "tracer.h"

struct dotnet_dumps;

/* `cfg` must outlive it. */
int dotnet_dumps_start(struct loop *loop, const struct crash_config *cfg, struct dotnet_dumps **ret);
/* The environment to start the command with: ours, and the runtime's
 * dump settings (any the user set left as they are). */
char *const *dotnet_dumps_environ(const struct dotnet_dumps *d);
/* Dumps that fired a rule. */
unsigned dotnet_dumps_firings(const struct dotnet_dumps *d);
void dotnet_dumps_free(struct dotnet_dumps *d);
