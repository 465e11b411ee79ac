#!/usr/bin/env bash
# The project's Python virtualenv: creates .tools/venv (git-ignored) with the machine's python3 and
# installs tools/requirements.txt into it, or reuses it as it is when neither that file (its
# sha256) nor the python3 version changed since the last install. Progress goes to stderr; the
# venv's directory is printed on stdout, so callers can do:
#   venv=$(bash tools/python-venv.sh) && "$venv/bin/python" ...
# With a name, the same for another set of tools: `bash tools/python-venv.sh deploy` makes
# .tools/deploy-venv from tools/requirements-deploy.txt (aws-sam-cli, cfn-lint), and
# `bash tools/python-venv.sh lambda` .tools/lambda-venv (cargo-lambda, zig).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.tools/venv
requirements=tools/requirements.txt
if [ $# -gt 0 ]; then
  [[ "$1" =~ ^[a-z][a-z0-9-]*$ ]] || { echo "error: bad tool set name '$1'" >&2; exit 1; }
  venv=.tools/$1-venv
  requirements=tools/requirements-$1.txt
  [ -f "$requirements" ] || { echo "error: no $requirements" >&2; exit 1; }
fi

fail() { echo "error: $*" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 ||
  fail "python3 is required for the Python tools (moto, boto3): apt-get install python3 python3-venv python3-pip"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  fail "python3 >= 3.10 is required (moto 5.2), found $(python3 --version 2>&1): install a newer python3"
python3 -c 'import venv, ensurepip' 2>/dev/null ||
  fail "python3 cannot create virtualenvs with pip (the venv/ensurepip modules are missing): apt-get install python3-venv python3-pip"

stamp="$(sha256sum "$requirements" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
mkdir -p .tools
# One installer at a time (the tests and a benchmark may start together).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$venv.lock"
  flock 9
fi
if [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$stamp" ] || ! "$venv/bin/python" -c '' 2>/dev/null; then
  echo "installing the Python tools from $requirements into $venv ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 ||
    fail "python3 -m venv failed (see above): apt-get install python3-venv, or remove $venv and retry"
  # No pip cache: CI starts clean, and the cache would double the disk the tools take.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-cache-dir -r "$requirements" >&2 ||
    fail "pip could not install $requirements (see above): check the network or the pinned versions, then rerun"
  echo "$stamp" > "$venv/.requirements-sha256"
fi
echo "$PWD/$venv"
