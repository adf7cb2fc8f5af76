#!/usr/bin/env bash
# Set up everything callpact needs on Debian/Ubuntu: system packages through apt,
# a virtual environment in .venv with callpact and its test tools.
# Idempotent and quick when already done. Run as root or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."

# One package a line (several features add theirs here).
APT_PACKAGES=(
    redis-server
    espeak-ng
    flite
    sox
    build-essential
    swig
    pkg-config
    libssl-dev
    uuid-dev
    libsrtp2-dev
    libspeex-dev
    libspeexdsp-dev
    libgsm1-dev
    dpkg-dev
    xz-utils
    sip-tester
    python3-dev
    debian-archive-keyring
    bzip2
    libjansson-dev
    libxml2-dev
    libxslt1-dev
    libsqlite3-dev
    libedit-dev
    docker-compose
)
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.callpact-installed
# Reinstall when the dependencies changed, or when a package of the tree is not importable (an
# editable install only knows the top-level packages that existed when it was made).
packages_ok() { .venv/bin/python -I -c "import dialer, sip, audio, ivr_flows" 2>/dev/null; }
# (The pacing sums' C source too: an editable install does not rebuild it by itself.)
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-test.lock -nt "$stamp" ] \
        || [ setup.py -nt "$stamp" ] || [ dialer/pacing/_pacing_kernel.c -nt "$stamp" ] || ! packages_ok; then
    echo "setup: installing callpact and its Python dependencies into .venv (requirements-test.lock)"
    # Exactly the reviewed versions: each package, pip and the build backend included, must match a
    # sha256 in the lock (tools/lock.sh makes it), or the install stops here with pip's error.
    .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
        -r requirements-test.lock
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
    .venv/bin/python -m pip check \
        || { echo "setup: the installed packages do not fit together; see above" >&2; exit 1; }
    .venv/bin/python -c "import dialer, sip, audio, ivr_flows, redis, phonenumbers, holidays, yaml, rich" \
        || { echo "setup: the Python install failed" >&2; exit 1; }
    touch "$stamp"
fi
# Components built from source (each script is idempotent and quick when done),
# one line each.
tools/build_pjsua2.sh .venv/bin/python

echo "setup: ready (.venv/bin/callpact)"
