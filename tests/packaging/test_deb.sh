#!/usr/bin/env bash
# The Debian package: cpack builds it from the build tree; its Depends name
# the Debian package of every shared library the binary links (found with
# dpkg -S) and python3-minimal; its files, extracted with dpkg -x into an
# empty root, hold the binary, the man page and the completions, and that
# binary runs examples/hello with the system's Python standard library.
#   test_deb.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if ! cpack --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1; then
  cat "$work/cpack.log" >&2
  fail "cpack failed"
fi
debs=("$work"/pkg/*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb, got: ${debs[*]}"
deb=${debs[0]}
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"

# Every library the binary links directly (NEEDED), but the C/C++ runtime,
# by the package that holds it.
has_dep() { tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/ .*//' | grep -qx "$1"; }
needed=$(objdump -p "$build/doit" | awk '$1 == "NEEDED" { print $2 }')
[ -n "$needed" ] || fail "objdump found no NEEDED entry"
for name in $needed; do
  case "$name" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*) continue ;;
  esac
  lib=$(ldd "$build/doit" | awk -v n="$name" '$1 == n { print $3 }')
  [ -n "$lib" ] || fail "ldd does not resolve $name"
  pkg=$(dpkg -S "$(realpath "$lib")" 2>/dev/null | head -n1 | cut -d: -f1) ||
    pkg=$(dpkg -S "$lib" | head -n1 | cut -d: -f1)
  has_dep "$pkg" || fail "Depends lacks $pkg (for $name)"
  echo "  $name: $pkg"
done
has_dep python3-minimal || fail "Depends lacks python3-minimal"
for family in libpython3 libsqlite3 libxxhash libfmt; do
  grep -q "$family" <<<"$depends" || fail "Depends lacks $family*"
done

root="$work/root"
dpkg -x "$deb" "$root"
for f in usr/bin/doit usr/share/man/man1/doit.1 \
         usr/share/bash-completion/completions/doit usr/share/zsh/vendor-completions/_doit; do
  [ -s "$root/$f" ] || fail "the package lacks /$f"
done
bash -n "$root/usr/share/bash-completion/completions/doit" || fail "bash completion: syntax"

# examples/hello with the packaged binary, in a copy without any state.
cp -r "$src/examples/hello" "$work/hello"
rm -rf "$work/hello/.doit.db"* "$work/hello/build"
cd "$work/hello"
out=$(env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 "$root/usr/bin/doit" 2>"$work/err") ||
  { cat "$work/err" >&2; fail "doit failed on examples/hello"; }
expected=$'.  greeting\n.  report\nHello, doit-cpp!\n2 words'
[ "$out" = "$expected" ] || fail "unexpected output: $out"
[ -s "$work/err" ] && { cat "$work/err" >&2; fail "unexpected stderr"; }
out=$(env -i PATH=/usr/bin:/bin LC_ALL=C.UTF-8 "$root/usr/bin/doit" 2>&1)
[ "$out" = $'-- greeting\n-- report' ] || fail "second run not up to date: $out"
# The interpreter is the system's: its standard library comes from /usr/lib/python3.X.
cat > "$work/hello/where.py" <<'PY'
import os
def task_where():
    return {'actions': ['echo ' + os.__file__], 'verbosity': 2}
PY
out=$("$root/usr/bin/doit" -f where.py 2>&1)
grep -Eq '^/usr/lib/python3\.[0-9]+/os\.py$' <<<"$out" || fail "stdlib not from /usr/lib: $out"
echo "ok: $(basename "$deb")"
