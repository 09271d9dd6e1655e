#!/bin/sh
# embed.sh INPUT OUTPUT SYMBOL: writes a C file defining SYMBOL as the
# NUL-terminated bytes of INPUT. od is in coreutils, so no xxd is needed.
set -eu
{
  printf '/* generated from %s by embed.sh; do not edit */\n' "$(basename "$1")"
  printf 'const char %s[] = {\n' "$3"
  od -An -v -tx1 "$1" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/ /'
  printf ' 0x00\n};\n'
} > "$2"
