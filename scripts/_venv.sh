# Sourced by scripts/demo and scripts/test: make .venv, install the project into it (once per
# change of pyproject.toml), and put it first on PATH.
# Usage: source scripts/_venv.sh [extra]   e.g. "dev" installs the test tools too.
set -euo pipefail
_extra="${1:-}"
_python="${PYTHON:-python3}"
if ! "$_python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Alliance Portal needs Python 3.11 or newer as '$_python' (set PYTHON=... to choose)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$_python" -m venv .venv; then
    echo "Could not create a virtual environment. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2
    exit 1
  fi
fi
# Exactly the pinned, hash-checked versions of requirements/<base|dev>.lock (scripts/lock makes
# them), then the project itself without resolving anything further.
_lock="requirements/${_extra:-base}.lock"
_hash="$(cat pyproject.toml requirements/*.lock | sha256sum | cut -c1-16)"
_stamp=".venv/.installed-$_hash${_extra:+-$_extra}"
# An install with extras also satisfies a plain one.
if [ ! -f "$_stamp" ] && { [ -n "$_extra" ] || ! ls .venv/.installed-"$_hash"* >/dev/null 2>&1; }; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --require-hashes -r "$_lock"
  .venv/bin/python -m pip install --quiet --no-deps -e .
  touch "$_stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"
