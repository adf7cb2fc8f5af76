#!/usr/bin/env bash
# Build pjproject as a SIP server library plus its official SWIG `pjsua2`
# Python module, and install the module into the given Python's site-packages.
#
#   tools/build_pjsua2.sh .venv/bin/python
#
# Why from source: the PyPI wheels are built for desk phones (4 calls at most)
# or lack the media classes. The source is the pjproject component of Debian
# unstable's asterisk source package (tools/fetch_asterisk_source.sh, verified
# against its .dsc). No version is pinned: unstable keeps only its newest
# upload, so this script checks the version and API it got instead.
#
# Idempotent: the build lives in ${CALLPACT_CACHE_DIR:-~/.cache/callpact}/build
# under a key made of the source checksum, tools/pjsua2/config_site.h, the
# configure flags and the target Python's version. When that build exists, only the
# module files are copied (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

die() { echo "build_pjsua2: $*" >&2; exit 1; }
say() { echo "build_pjsua2: $*" >&2; }

PYTHON=${1:-}
[ -n "$PYTHON" ] || die "usage: tools/build_pjsua2.sh PYTHON (e.g. .venv/bin/python)"
[ -x "$PYTHON" ] || command -v "$PYTHON" >/dev/null || die "python not found: $PYTHON"
PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")

CACHE=${CALLPACT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callpact}
CONFIG_SITE="$REPO/tools/pjsua2/config_site.h"
[ -f "$CONFIG_SITE" ] || die "missing $CONFIG_SITE"

# Server configuration: no sound device, no video, epoll, system codecs and SRTP.
CONFIGURE_FLAGS=(
    --enable-epoll --disable-video --disable-sound
    --disable-libwebrtc --disable-libwebrtc-aec3 --disable-opencore-amr --disable-sdl
    --disable-ffmpeg --disable-v4l2 --disable-openh264 --disable-libyuv --disable-silk
    --disable-bcg729 --disable-upnp --disable-ilbc-codec --disable-g7221-codec --disable-opus
    --with-external-srtp --with-external-speex --with-external-gsm --enable-speex-resample
)

target_site=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])') \
    || die "$PYTHON cannot report its site-packages"
py_version=$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
ext_suffix=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')

install_module() {
    # Copy the built module into the target site-packages and prove it loads.
    local built=$1
    cp -f "$built/pjsua2.py" "$target_site/pjsua2.py"
    cp -f "$built"/_pjsua2*.so "$target_site/"
    local check_log
    check_log=$(mktemp)
    # pjlib prints its start-up lines on stderr before any log setting applies: keep them for errors only.
    if ! "$PYTHON" - >"$check_log" 2>&1 <<'PY'; then
import pjsua2 as pj
for name in ("Endpoint", "Account", "Call", "AudioMediaPort", "AudioMediaPlayer", "CallOpParam",
             "OnDtmfDigitParam", "OnDtmfEventParam", "CallSendDtmfParam"):
    assert hasattr(pj, name), f"pjsua2 lacks {name}"
ep = pj.Endpoint()
ep.libCreate()
cfg = pj.EpConfig()
cfg.uaConfig.maxCalls = 100000          # asks for more than the ceiling: pjsua clamps it
cfg.uaConfig.threadCnt = 0
cfg.medConfig.noVad = True
cfg.logConfig.level = 0
cfg.logConfig.consoleLevel = 0
ep.libInit(cfg)
version = ep.libVersion().full
# pjsua2 wraps no C call for the ceiling; the extension links pjsua statically and exports it.
import ctypes
max_calls = ctypes.CDLL(pj._pjsua2.__file__).pjsua_call_get_max_count()
ep.libDestroy()
print(f"RESULT build_pjsua2: pjsua2 {version} installed, pjsua_call_get_max_count = {max_calls}")
PY
        cat "$check_log" >&2
        rm -f "$check_log"
        die "the installed pjsua2 module does not load or lacks the media API"
    fi
    sed -n 's/^RESULT //p' "$check_log"
    rm -f "$check_log"
}

# --- Source ---------------------------------------------------------------
src_dir=$(tools/fetch_asterisk_source.sh) || die "could not fetch the asterisk source package"
tarball=$(ls -t "$src_dir"/asterisk_*.orig-Xpjproject.tar.xz 2>/dev/null | head -1 || true)
[ -n "$tarball" ] || die "no asterisk_*.orig-Xpjproject.tar.xz in $src_dir (the package no longer carries pjproject?)"

key=$( { sha256sum "$tarball" | cut -d' ' -f1; sha256sum "$CONFIG_SITE" | cut -d' ' -f1;
         echo "${CONFIGURE_FLAGS[*]}"; echo "$py_version $ext_suffix"; } | sha256sum | cut -c1-16)
BUILD="$CACHE/build/pjproject-$key"
stamp="$BUILD/.callpact-built"
module_dir="$BUILD/src/pjsip-apps/src/swig/python/built"

if [ -f "$stamp" ] && ls "$module_dir"/_pjsua2*.so >/dev/null 2>&1; then
    install_module "$module_dir"
    exit 0
fi

# --- Build dependencies -----------------------------------------------------
missing=()
for tool in gcc g++ make swig pkg-config; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
header_of() { printf '#include <%s>\n' "$1" | gcc -E -x c - >/dev/null 2>&1; }
declare -A HEADERS=(
    [openssl/ssl.h]=libssl-dev [uuid/uuid.h]=uuid-dev [srtp2/srtp.h]=libsrtp2-dev
    [speex/speex.h]=libspeex-dev [speex/speex_resampler.h]=libspeexdsp-dev [gsm/gsm.h]=libgsm1-dev
)
if command -v gcc >/dev/null; then
    for h in "${!HEADERS[@]}"; do header_of "$h" || missing+=("${HEADERS[$h]} (for <$h>)"); done
fi
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || missing+=("python3-dev (Python.h for $PYTHON)")
((${#missing[@]} == 0)) || die "missing build dependencies: ${missing[*]} (apt-get install build-essential swig pkg-config libssl-dev uuid-dev libsrtp2-dev libspeex-dev libspeexdsp-dev libgsm1-dev python3-dev)"
"$PYTHON" -c 'import setuptools' 2>/dev/null || "$PYTHON" -m pip install -q --disable-pip-version-check setuptools \
    || die "$PYTHON has no setuptools (needed by pjproject's setup.py)"

# --- Unpack -----------------------------------------------------------------
say "building pjproject in $BUILD (a few minutes on 2 cores)"
rm -rf "$BUILD"
mkdir -p "$BUILD/src"
tar -xJf "$tarball" -C "$BUILD/src" --strip-components=1
cd "$BUILD/src"
version=$(awk -F':= *' '/^export PJ_VERSION_MAJOR/{ma=$2} /^export PJ_VERSION_MINOR/{mi=$2} END{print ma"."mi}' version.mak)
say "pjproject $version from $(basename "$tarball")"
case $version in
    2.1[4-9]|2.[2-9][0-9]) ;;
    *) die "pjproject $version is older than 2.14, whose pjsua2 API callpact uses" ;;
esac
# The dfsg source drops a non-free audio driver that the makefiles still list;
# it is compiled out (no sound device), an empty file satisfies make.
mkdir -p pjmedia/src/pjmedia-audiodev
[ -f pjmedia/src/pjmedia-audiodev/bdimad_dev.c ] || : > pjmedia/src/pjmedia-audiodev/bdimad_dev.c
cp "$CONFIG_SITE" pjlib/include/pj/config_site.h
for sym in AudioMediaPort onFrameReceived onFrameRequested onDtmfEvent xfer; do
    grep -rqs "$sym" pjsip/include/pjsua2/ || die "pjproject $version lacks pjsua2 API $sym"
done

# --- Compile ----------------------------------------------------------------
log="$BUILD/build.log"
export CFLAGS="-O2 -fPIC" CXXFLAGS="-O2 -fPIC"
./configure "${CONFIGURE_FLAGS[@]}" >"$log" 2>&1 || die "configure failed, see $log"
make dep >>"$log" 2>&1 || die "make dep failed, see $log"
make -j2 lib >>"$log" 2>&1 || die "make lib failed, see $log"
cd pjsip-apps/src/swig/python
# setup.py takes flags and libraries from helper.mak; the module must be built
# by the target Python (its ABI and headers).
make PYTHON_EXE="$PYTHON" >>"$log" 2>&1 || die "building the SWIG python module failed, see $log"
mkdir -p built
cp pjsua2.py built/
find build -name '_pjsua2*.so' -exec cp {} built/ \;
strip --strip-debug built/_pjsua2*.so 2>/dev/null || true   # 36 MB of debug info otherwise
ls built/_pjsua2*.so >/dev/null 2>&1 || die "the SWIG build produced no _pjsua2*.so, see $log"
echo "$version $py_version $(date -u +%FT%TZ)" > "$stamp"
install_module "$PWD/built"
