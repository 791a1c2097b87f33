#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (run as root, Python 3.11):
# the Debian packages listed in debian-packages.txt (only those missing) and lmtflow with its
# test extra. The README's test command runs this, then pytest; .ci/run runs that same command.
set -euo pipefail
cd "$(dirname "$0")"

mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' debian-packages.txt | awk '{print $1}')
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# pip installs into the interpreter that the README's `python -m pytest` runs (python, else python3)
py=$(command -v python || command -v python3)
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet -e ".[test]"

# CASA (tests/test_casa.py) in its own virtual environment: casatools has no wheels for every
# Python, and its pins (envs/casa-test-requirements.txt) must not move the main environment.
casa_venv="${LMTFLOW_CASA_VENV:-.venv-casa}"
# (checked by package metadata: importing casatools unconfigured would look for ~/.casa/data)
if ! "$casa_venv/bin/python" -c "import importlib.metadata as m
for p in ('casatools', 'casatasks', 'casadata'): m.version(p)" 2>/dev/null; then
    echo "making the CASA test environment in $casa_venv"
    "$py" -m venv "$casa_venv"
    "$casa_venv/bin/python" -m pip install --quiet -r envs/casa-test-requirements.txt
fi
