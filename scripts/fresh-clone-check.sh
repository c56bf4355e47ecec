#!/usr/bin/env bash
# Fresh-clone check: what a newcomer gets from `git clone` + `npm ci` + `npm test` on a machine with Node 20 and
# the npm registry only.
#
# Clones this repository's committed HEAD into an empty temp dir outside the workspace (so no `../shared`, no
# untracked or ignored files, no node_modules), then runs `npm ci` and `npm test` there in a clean environment
# (`env -i`: no CI, no NODE_EXTRA_CA_CERTS, no MEDIA_INGEST_*) whose PATH is a temp bin dir exposing only what a
# bare Node-20 machine has: node, npm, npx, git, a shell and coreutils-like basics. yt-dlp, ffmpeg, ffprobe,
# chromium, openssl, python3 and mount are NOT on it, so the optional suites must skip (each with one
# "SKIPPED SUITE" line, printed again at the end) and everything else must pass.
#
# `npm ci` additionally sees a C/C++ toolchain and python3: better-sqlite3 builds from source with node-gyp when
# its prebuilt binary cannot be downloaded (GitHub is out of reach in CI, only the npm registry is). `npm test`
# does not see them.
#
# Limits: only PATH is restricted. Tools found by absolute path (e.g. /usr/bin/ffmpeg) and services reachable on
# the network (Postgres, Redis, S3) are still there.
#
# Usage: scripts/fresh-clone-check.sh [--keep]   (--keep leaves the temp dir for inspection)
# Exit status: that of `npm test` (or of the first step that failed).
set -euo pipefail

keep=0
[ "${1:-}" = "--keep" ] && keep=1
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/media-ingest-fresh-clone.XXXXXX")
cleanup() {
  if [ "$keep" = 1 ]; then echo "fresh-clone: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
started=$(date +%s)
say() { printf 'fresh-clone: %s\n' "$*"; }

# A bin dir with only the named tools (symlinks to the real ones); a missing tool is skipped.
expose() {
  local dir=$1 tool real
  shift
  mkdir -p "$dir"
  for tool in "$@"; do
    # The executable, not a shell builtin (make runs simple commands such as printf without a shell).
    real=$(type -P "$tool" 2>/dev/null) || continue
    ln -sf "$real" "$dir/$tool"
  done
}
bare="$work/bin"
expose "$bare" node npm npx git sh bash dash env cat cp mv rm mkdir rmdir ln ls chmod touch sed grep awk find \
  xargs sort uniq head tail tr wc cut date dirname basename mktemp readlink realpath tee uname id sleep true false \
  test expr printf kill ps tar gzip
toolchain="$work/toolchain"
expose "$toolchain" make flock cc gcc c++ g++ ar as ld strip
# python3 may be a pyenv shim, which needs pyenv on PATH: link the interpreter itself.
if py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null); then ln -sf "$py" "$toolchain/python3"; fi

for hidden in yt-dlp ffmpeg ffprobe chromium openssl python3 mount; do
  [ -e "$bare/$hidden" ] && { say "internal error: $hidden leaked into the bare PATH"; exit 1; }
done

clean_env=(env -i "HOME=$HOME" "LANG=${LANG:-C.UTF-8}" "TMPDIR=${TMPDIR:-/tmp}" "TERM=dumb")
head=$(git -C "$repo" rev-parse HEAD)
say "cloning $repo (HEAD ${head:0:7}) into $work/media-ingest"
git clone --quiet --no-hardlinks --no-checkout "$repo" "$work/media-ingest"
cd "$work/media-ingest"
git checkout --quiet "$head"
[ ! -e ../shared ] || { say "../shared exists next to the clone"; exit 1; }

say "npm ci (PATH: bare + build toolchain)"
"${clean_env[@]}" "PATH=$bare:$toolchain" npm ci --no-audit --no-fund >"$work/npm-ci.log" 2>&1 || {
  tail -40 "$work/npm-ci.log"; say "npm ci FAILED"; keep=1; exit 1;
}

say "npm test (PATH: bare only, CI unset)"
status=0
"${clean_env[@]}" "PATH=$bare" npm test >"$work/npm-test.log" 2>&1 || status=$?
grep -E 'Test Files|Tests  ' "$work/npm-test.log" | tail -2 || true
say "optional suites skipped:"
grep -h 'SKIPPED SUITE' "$work/npm-test.log" | sed 's/^.*SKIPPED SUITE — /  - /' | sort -u || say "  (none)"
if [ "$status" -ne 0 ]; then
  grep -E '(FAIL|✗|×) ' "$work/npm-test.log" | head -40 || true
  keep=1
  say "npm test FAILED (exit $status); log: $work/npm-test.log"
fi
say "done in $(( $(date +%s) - started )) s"
exit "$status"
