#!/usr/bin/env bash
# Python venv for the interop check, with the exact pins of
# .ci/requirements-interop.txt (Confluent's client from PyPI).
#
#   py=$(bash .ci/python-env.sh)        # or: source .ci/python-env.sh
#
# The venv lives at ${SRCI_CACHE:-$HOME/.cache/sragent-ci}/pyenv and is
# rebuilt only when it is missing, broken, or when the requirements file or
# the base interpreter changed (a hash of both is kept inside the venv). The
# venv's python is printed as the last line of stdout (when sourced, it is
# also left in SRCI_PYTHON); progress goes to stderr, pip's output only
# when pip fails. Set SRCI_BASE_PYTHON to build from another python3.

_sragent_python_env() (
  set -euo pipefail
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  req="$here/requirements-interop.txt"
  cache="${SRCI_CACHE:-$HOME/.cache/sragent-ci}"
  venv="$cache/pyenv"
  base="${SRCI_BASE_PYTHON:-python3}"
  say() { echo "python-env: $*" >&2; }

  [ -f "$req" ] || { say "missing $req"; exit 1; }
  command -v "$base" >/dev/null || { say "no $base on PATH"; exit 1; }
  # What the venv is built from: the pins and the interpreter (a venv does
  # not survive its base python changing).
  base_id=$("$base" -c 'import sys, platform; print(sys.version.replace("\n", " "), platform.machine(), sys.base_prefix)')
  want=$({ echo "format 1"; echo "$base_id"; cat "$req"; } | sha256sum | cut -d' ' -f1)
  py="$venv/bin/python"

  mkdir -p "$cache"
  exec 9>"$cache/pyenv.lock"
  if command -v flock >/dev/null; then
    flock -w 600 9 || { say "could not lock $cache/pyenv.lock"; exit 1; }
  fi

  have=$(cat "$venv/.requirements.sha256" 2>/dev/null || true)
  if [ "$have" = "$want" ] && "$py" -c 'import confluent_kafka.schema_registry.avro, fastavro' 2>/dev/null; then
    say "venv up to date: $venv"
  else
    if [ -e "$venv" ]; then
      say "rebuilding $venv (requirements or interpreter changed, or venv broken)"
      rm -rf "$venv"
    else
      say "creating $venv"
    fi
    start=$SECONDS
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    if ! "$base" -m venv "$venv" >"$log" 2>&1; then
      cat "$log" >&2
      say "FAILED: $base -m venv $venv"
      rm -rf "$venv"
      exit 1
    fi
    if ! "$py" -m pip install --quiet --disable-pip-version-check --no-input \
      --requirement "$req" >"$log" 2>&1; then
      cat "$log" >&2
      say "FAILED: pip install -r $req"
      rm -rf "$venv"
      exit 1
    fi
    if ! "$py" -m pip check >"$log" 2>&1; then
      cat "$log" >&2
      say "FAILED: pip check (inconsistent pins in $req)"
      rm -rf "$venv"
      exit 1
    fi
    "$py" -c 'import confluent_kafka.schema_registry.avro, fastavro' || {
      say "FAILED: the venv cannot import confluent_kafka.schema_registry.avro"
      rm -rf "$venv"
      exit 1
    }
    echo "$want" >"$venv/.requirements.sha256"
    say "installed $(grep -c '==' "$req") pinned packages in $((SECONDS - start))s"
  fi
  "$py" -c 'import confluent_kafka, fastavro, sys
print("python-env: python %s, confluent-kafka %s, librdkafka %s, fastavro %s"
      % (sys.version.split()[0], confluent_kafka.version(), confluent_kafka.libversion()[0],
         fastavro.__version__), file=sys.stderr)'
  echo "$py"
)

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: leave the caller's shell options alone, return instead of exit.
  if SRCI_PYTHON=$(_sragent_python_env); then
    export SRCI_PYTHON
    echo "$SRCI_PYTHON"
    unset -f _sragent_python_env
  else
    unset -f _sragent_python_env
    return 1
  fi
else
  _sragent_python_env
fi
