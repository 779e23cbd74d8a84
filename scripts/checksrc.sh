#!/usr/bin/env bash
# Source rules that clang-format cannot check (STYLE.md habits 1, 9, 11, 12):
#  - no unsafe C calls (sprintf, strcpy, strcat, gets, atoi, ...);
#  - raw malloc/calloc/realloc/strdup only in src/base/ (elsewhere: xmalloc & co);
#  - each third-party library is included by its one adapter file;
#  - domain code (base, store) never includes HTTP headers;
#  - a folder includes only the folders below it in the table of layers
#    (docs/architecture.md), so no two folders depend on each other;
#  - every source file opens with a comment saying what it is for.
# Prints each violation as file:line: reason and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."
fail=0
report() {
    echo "$1"
    fail=1
}

files=$(find src -name '*.[ch]' | sort)

# Unsafe calls, anywhere in src/.
while IFS= read -r hit; do
    [ -n "$hit" ] && report "$hit: unsafe call (use snprintf, buf_*, str_to_i64)"
done < <(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|strtok)\s*\(' $files |
    grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)')

# Raw allocation outside base/.
while IFS= read -r hit; do
    [ -n "$hit" ] && report "$hit: raw allocation outside src/base (use xmalloc, xcalloc, xstrdup)"
done < <(grep -nE '(^|[^_a-z])(malloc|calloc|realloc|strdup|strndup)\s*\(' $(grep -v '^src/base/' <<<"$files") |
    grep -vE '^[^:]+:[0-9]+:\s*(\*|/\*|//)')

# Third-party headers and the one file allowed to include each.
check_include() {
    local header=$1 allowed=$2
    while IFS= read -r hit; do
        [ -z "$hit" ] && continue
        local file=${hit%%:*}
        grep -qxE "$allowed" <<<"$file" || report "$hit: <$header> belongs in $allowed only"
    done < <(grep -nE "^#include <$header>" $files)
}
check_include 'microhttpd\.h' 'src/http/server\.c'
check_include 'sqlite3\.h' 'src/store/sqlite[a-z_]*\.[ch]'
check_include 'libpq-fe\.h' 'src/store/pg[a-z_]*\.[ch]'
check_include 'ini\.h' 'src/base/config\.c'
check_include 'gmime/gmime\.h' 'src/mail/mime\.c'
check_include 'wslay/wslay\.h' 'src/ws/conn\.c'
check_include 'curl/curl\.h' 'src/net/(httpc|imapc)\.c'
check_include 'cjose/cjose\.h' 'src/auth/jwt\.c'
check_include 'sodium\.h' 'src/base/crypto\.c'
check_include 'openssl/[a-z]+\.h' 'src/base/crypto\.c'

# Domain code must not depend on the HTTP layer.
while IFS= read -r hit; do
    [ -n "$hit" ] && report "$hit: base/ and store/ must not include http/ headers"
done < <(grep -nE '^#include "http/' $(grep -E '^src/(base|store)/' <<<"$files"))

# Layers, bottom first: each folder of src/ and the folders it may include.
# A folder may name only folders above it in this list, so there is no cycle.
layers=(
    "base:"
    "net:base"
    "store:base"
    "jobs:base store"
    "ai:base net store jobs"
    "crm:base store jobs ai"
    "mail:base net store jobs ai crm"
    "drip:base net store jobs ai crm mail"
    "alerts:base net store jobs ai crm mail drip"
    "http:base"
    "ws:base http"
    "auth:base net store http"
    "api:base net store jobs ai crm mail drip alerts http ws auth"
    "cmd:base net store jobs ai crm mail drip alerts http ws auth api"
)
declare -A allowed=()
seen=" "
for entry in "${layers[@]}"; do
    dir=${entry%%:*}
    for dep in ${entry#*:}; do
        [[ $seen == *" $dep "* ]] || report "scripts/checksrc.sh: layer $dir names $dep, which is not below it"
    done
    allowed[$dir]=" ${entry#*:} "
    seen="$seen$dir "
done
for f in $files; do
    dir=${f#src/}
    [[ $dir == */* ]] || continue # src/main.c: the top, may include anything
    dir=${dir%%/*}
    if [ -z "${allowed[$dir]+x}" ]; then
        report "$f:1: folder src/$dir/ is not in the table of layers (scripts/checksrc.sh)"
        continue
    fi
    while IFS=: read -r line dep; do
        [ -z "$line" ] && continue
        [ "$dep" = "$dir" ] && continue
        [[ ${allowed[$dir]} == *" $dep "* ]] ||
            report "$f:$line: src/$dir/ may not include $dep/ (layers: scripts/checksrc.sh)"
    done < <(grep -noE '^#include "[a-z_]+/' "$f" | sed -E 's/^([0-9]+):#include "([a-z_]+)\//\1:\2/')
done

# Every file opens with a comment.
for f in $files; do
    head -n 1 "$f" | grep -qE '^/\*' || report "$f:1: file does not open with a comment on its purpose"
done

if [ $fail -ne 0 ]; then
    echo "checksrc: violations found" >&2
    exit 1
fi
