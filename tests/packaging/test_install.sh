#!/usr/bin/env bash
# `cmake --install`: the binary, the man page (valid roff, groff warns of
# nothing) and the bash and zsh completions, under the prefix given.
#   test_install.sh BUILD_DIR
set -euo pipefail
build=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

prefix="$work/local"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "cmake --install failed"; }
for f in bin/doit share/man/man1/doit.1 share/bash-completion/completions/doit \
         share/zsh/site-functions/_doit; do
  [ -s "$prefix/$f" ] || fail "not installed: $f"
done
"$prefix/bin/doit" --version | grep -q "doit-cpp" || fail "installed binary does not run"

man_page="$prefix/share/man/man1/doit.1"
grep -q '@PROJECT_VERSION@' "$man_page" && fail "man page version not filled in"
warnings=$(groff -man -Tutf8 -ww -z "$man_page" 2>&1)
[ -z "$warnings" ] || fail "groff warns: $warnings"
rendered=$(groff -man -Tutf8 "$man_page" 2>/dev/null | sed 's/.\x08//g')
for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS FILES "EXIT STATUS" EXAMPLES; do
  grep -q "^$section" <<<"$rendered" || fail "man page lacks section $section"
done

bash -n "$prefix/share/bash-completion/completions/doit" || fail "bash completion: syntax"
if command -v zsh >/dev/null; then
  zsh -n "$prefix/share/zsh/site-functions/_doit" || fail "zsh completion: syntax"
fi
head -n1 "$prefix/share/zsh/site-functions/_doit" | grep -qx '#compdef doit' ||
  fail "zsh completion is not for doit"
echo ok
