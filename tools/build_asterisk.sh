#!/usr/bin/env bash
# Build a minimal Asterisk for callpact's tests and demos (NOT for a production PBX) once, into
# ${CALLPACT_CACHE_DIR:-~/.cache/callpact}/asterisk-<version>, and print that directory.
#
# Why from source: Debian 12 ships no Asterisk binary. tools/fetch_asterisk_source.sh fetches
# Debian unstable's source package (Asterisk 22 LTS plus the pjproject it bundles as a component
# tarball). Asterisk's own third-party/pjproject build wants `pjproject-<ver>.tar.bz2` with a
# matching .md5 in the externals cache; the Debian component is a dfsg .tar.xz with another top
# directory and without bdimad_dev.c (a non-free audio driver that is compiled out anyway), so it is
# repacked under the expected name. Nothing is downloaded from anywhere else.
#
# Only the modules callpact needs are selected (menuselect --disable-all, then an explicit list), so
# the build takes minutes on two cores. Idempotent: a finished build (stamp file) is reused.
#
#   tools/build_asterisk.sh            build if needed, print the install prefix
#   JOBS=2 tools/build_asterisk.sh     parallel jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${CALLPACT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callpact}
JOBS=${JOBS:-2}
die() { echo "build_asterisk: $*" >&2; exit 1; }
log() { echo "build_asterisk: $*" >&2; }

SRC=$(tools/fetch_asterisk_source.sh) || die "fetching the asterisk source failed"
orig=$(ls "$SRC"/asterisk_*.orig.tar.xz 2>/dev/null | head -1)
pjorig=$(ls "$SRC"/asterisk_*.orig-Xpjproject.tar.xz 2>/dev/null | head -1)
[ -n "$orig" ] || die "no asterisk_*.orig.tar.xz in $SRC"
[ -n "$pjorig" ] || die "no asterisk_*.orig-Xpjproject.tar.xz in $SRC"
# asterisk_22.10.1+dfsg+~cs6.17.60671434.orig.tar.xz -> 22.10.1
VER=$(basename "$orig" | sed -E 's/^asterisk_([0-9.]+).*/\1/')
MODULES=(
    # channels and SIP
    chan_pjsip chan_audiosocket res_pjproject res_pjsip res_pjsip_session res_pjsip_sdp_rtp
    res_pjsip_endpoint_identifier_ip res_pjsip_endpoint_identifier_user res_pjsip_authenticator_digest
    res_pjsip_outbound_authenticator_digest res_pjsip_registrar res_pjsip_outbound_registration
    res_pjsip_caller_id res_pjsip_dtmf_info res_pjsip_nat res_pjsip_rfc3326 res_pjsip_logger
    res_pjsip_pubsub res_pjsip_exten_state res_pjsip_diversion res_pjsip_path res_pjsip_acl
    res_pjsip_dialog_info_body_generator res_pjsip_pidf_body_generator res_pjsip_mwi
    res_pjsip_mwi_body_generator res_pjsip_refer res_pjsip_one_touch_record_info res_pjsip_header_funcs
    res_pjsip_send_to_voicemail res_pjsip_rfc3329 res_pjsip_config_wizard
    res_rtp_asterisk res_sorcery_config res_sorcery_memory res_sorcery_astdb res_sorcery_realtime
    res_sorcery_memory_cache res_audiosocket res_agi res_timing_timerfd res_musiconhold res_srtp
    res_geolocation res_statsd res_pjsip_outbound_publish res_http_websocket
    # applications callpact's dialplan uses
    app_dial app_queue app_amd app_audiosocket app_read app_playback app_userevent app_echo app_exec
    app_stack app_senddtmf app_verbose app_transfer app_waituntil app_mixmonitor app_chanspy
    app_originate app_system
    # bridging, dialplan, functions, codecs, formats
    bridge_simple bridge_native_rtp bridge_holding bridge_builtin_features pbx_config
    codec_ulaw codec_alaw codec_resample codec_a_mu format_wav format_pcm format_sln format_wav_gsm
)
# The stamp names the version and the module list: adding a module rebuilds only what changed.
WANT="Asterisk $VER modules $(printf '%s\n' "${MODULES[@]}" | md5sum | cut -c1-12)"
PREFIX="$CACHE/asterisk-$VER"
STAMP="$PREFIX/.callpact-built"
if [ -x "$PREFIX/sbin/asterisk" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
    echo "$PREFIX"
    exit 0
fi

BUILD="$CACHE/build/asterisk-$VER"
EXTERNALS="$CACHE/build/externals"
mkdir -p "$CACHE/build" "$EXTERNALS"
# One build at a time per cache (two test runs starting together would share the tree).
exec 9>"$CACHE/build/.asterisk-$VER.lock"
flock 9
if [ -x "$PREFIX/sbin/asterisk" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
    echo "$PREFIX"           # built by whoever held the lock before us
    exit 0
fi
log "building Asterisk $VER into $PREFIX (a few minutes with -j$JOBS)"
if [ -f "$BUILD/menuselect.makeopts" ] && [ -f "$BUILD/config.status" ]; then
    log "reusing the configured tree in $BUILD"
    cd "$BUILD"
else
rm -rf "$BUILD" "$PREFIX"
tar -xJf "$orig" -C "$CACHE/build"
[ -d "$BUILD" ] || die "the source tarball did not unpack into $BUILD"

# The bundled pjproject, repacked under the name and checksum Asterisk's third-party build expects.
PJVER=$(sed -n 's/^PJPROJECT_VERSION=//p' "$BUILD/third-party/versions.mak")
[ -n "$PJVER" ] || die "no PJPROJECT_VERSION in third-party/versions.mak"
pjtmp=$(mktemp -d)
trap 'rm -rf "$pjtmp"' EXIT
tar -xJf "$pjorig" -C "$pjtmp"
pjtop=$(find "$pjtmp" -mindepth 1 -maxdepth 1 -type d | head -1)
[ -f "$pjtop/pjlib/include/pj/config.h" ] || die "$(basename "$pjorig") does not look like pjproject"
grep -q "PJ_VERSION_NUM_MINOR.*${PJVER#*.}" "$pjtop/pjlib/include/pj/config.h" \
    || log "warning: the bundled pjproject may not be $PJVER (Asterisk expects $PJVER)"
touch "$pjtop/pjmedia/src/pjmedia-audiodev/bdimad_dev.c"
mv "$pjtop" "$pjtmp/pjproject-$PJVER"
tar -cjf "$EXTERNALS/pjproject-$PJVER.tar.bz2" -C "$pjtmp" "pjproject-$PJVER"
(cd "$EXTERNALS" && md5sum "pjproject-$PJVER.tar.bz2") > "$BUILD/third-party/pjproject/pjproject-$PJVER.tar.bz2.md5"

cd "$BUILD"
log "configure"
./configure --prefix="$PREFIX" --with-pjproject-bundled --with-externals-cache="$EXTERNALS" \
    --disable-xmldoc --without-libjwt >configure.log 2>&1 || die "configure failed; see $BUILD/configure.log"
make menuselect.makeopts >/dev/null 2>&1 || die "make menuselect.makeopts failed"
fi

FUNCS=$(menuselect/menuselect --list-options 2>/dev/null | awk '{print $2}' | grep -E '^func_' || true)
menuselect/menuselect --disable-all menuselect.makeopts >/dev/null
for m in "${MODULES[@]}" $FUNCS; do
    menuselect/menuselect --enable "$m" menuselect.makeopts >/dev/null 2>&1 || log "note: module $m not available"
done
# func_* that need libraries we did not build are dropped by menuselect's own dependency check.
menuselect/menuselect --check-deps menuselect.makeopts >menuselect.log 2>&1 || true

log "make -j$JOBS (log: $BUILD/make.log)"
make -j"$JOBS" >make.log 2>&1 || { tail -30 make.log >&2; die "make failed; see $BUILD/make.log"; }
make install >install.log 2>&1 || { tail -30 install.log >&2; die "make install failed; see $BUILD/install.log"; }
[ -x "$PREFIX/sbin/asterisk" ] || die "no $PREFIX/sbin/asterisk after make install"
echo "$WANT" >"$STAMP"
log "built $("$PREFIX/sbin/asterisk" -V)"
echo "$PREFIX"
