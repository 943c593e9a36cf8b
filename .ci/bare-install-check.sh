#!/usr/bin/env bash
# A plain `pip install instsim`, no extras: every command works, or stops at the door with
# exit 2 naming the extra it needs (src/instsim/extras.py). Runs each command's cheapest path.
# Usage: bash .ci/bare-install-check.sh   (BARE_VENV=/path reuses a venv made by an earlier run)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
venv=${BARE_VENV:-/tmp/instsim-bare}
pip_q=(--quiet --disable-pip-version-check)

if [ ! -x "$venv/bin/python" ]; then
  # a plain venv: the system's site-packages (which hold the extras) stay out of sight
  python3 -m venv "$venv"
  "$venv/bin/pip" install "${pip_q[@]}" torch==2.13.0
  "$venv/bin/pip" install "${pip_q[@]}" "$repo"
fi
"$venv/bin/pip" install "${pip_q[@]}" --no-deps --force-reinstall "$repo"   # this checkout

# it must really be bare: none of the extras' distinctive modules importable
for module in fluidsynth pyarrow matplotlib ray; do
  if "$venv/bin/python" -c "import $module" 2>/dev/null; then
    echo "bare-install-check: $module is installed in $venv; not a plain install" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"   # not the checkout: the installed package is what runs
instsim="$venv/bin/instsim"
failed=0

# expect CODE TEXT -- COMMAND...: the command exits with CODE and its output holds TEXT
expect() {
  local code=$1 text=$2
  shift 3
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (expected $code, output with '$text'):" >&2
    tail -n 15 <<<"$out" >&2
    failed=1
  else
    echo "ok:   $* -> exit $rc"
  fi
}

expect 0 "Commands:" -- "$instsim" --help
expect 0 "instsim.backbones" -- "$instsim" plugins
expect 0 "" -- "$instsim" extract "$repo/examples/audio" -o "$work/features"
n=$(find "$work/features" -name '*.npz' | wc -l)
[ "$n" -eq 4 ] || { echo "FAIL: extract wrote $n npz files, expected 4" >&2; failed=1; }
expect 2 "pip install 'instsim[parquet]'" -- "$instsim" extract "$repo/examples/audio" -o "$work/p" --format parquet
[ ! -e "$work/p" ] || { echo "FAIL: extract --format parquet created $work/p" >&2; failed=1; }
expect 2 "pip install 'instsim[ray]'" -- "$instsim" extract "$repo/examples/audio" -o "$work/r" --engine ray
[ ! -e "$work/r" ] || { echo "FAIL: extract --engine ray created $work/r" >&2; failed=1; }
expect 2 "pip install 'instsim[synth]'" -- "$instsim" synth --out "$work/synth" --songs 1 --seconds 2
[ ! -e "$work/synth" ] || { echo "FAIL: synth created $work/synth" >&2; failed=1; }
# the extra is named before a sample pack, POP909 or MIDI-collection folder is looked at
expect 2 "pip install 'instsim[synth]'" -- "$instsim" synth --out "$work/synth" --songs 1 --seconds 2 --sample-pack "$work/no-pack"
expect 2 "pip install 'instsim[synth]'" -- "$instsim" synth --out "$work/synth" --songs 1 --seconds 2 --arrangements "$work/no-pop909"
expect 2 "pip install 'instsim[synth]'" -- "$instsim" synth --out "$work/synth" --songs 1 --seconds 2 --midi-collection "$work/no-midi"
[ ! -e "$work/synth" ] || { echo "FAIL: synth created $work/synth" >&2; failed=1; }
expect 0 "Usage:" -- "$instsim" synth --help
expect 0 "Usage:" -- "$instsim" train --help
expect 0 "Usage:" -- "$instsim" dataset --help
expect 0 "Usage:" -- "$instsim" evaluate --help
# evaluate: warned at the door that plots need instsim[plots], then a clear usage error
expect 2 "instsim[plots]" -- "$instsim" evaluate --model default --dataset slakh --data-home "$work/none" --out "$work/eval"
expect 2 "pip install 'instsim[search]'" -- "$instsim" index "$work/features" -o "$work/ix"
expect 2 "pip install 'instsim[search]'" -- "$instsim" search "$work/ix" query.wav
expect 0 "Usage:" -- "$instsim" real-check --help
expect 2 "does not exist" -- "$instsim" dataset check --dataset slakh --data-home "$work/none"

exit "$failed"
