#!/usr/bin/env bash
# Fetch Debian unstable's `asterisk` source package (which also carries the
# pjproject that Asterisk bundles) into callpact's build cache, verify every
# file against the .dsc, and print the cache directory that holds it.
#
# Why unstable: Debian 12 ships no Asterisk, but unstable's source package has
# Asterisk 22 LTS and pjproject 2.x as component tarballs. The system's apt
# sources are never changed: a private apt configuration in the cache adds a
# deb-src entry for unstable on the same mirror the system already uses.
# Unstable keeps only its newest upload, so no exact version is pinned here;
# the build scripts check what they got (pjproject version, Asterisk API).
#
#   tools/fetch_asterisk_source.sh          prints e.g. ~/.cache/callpact/src/asterisk
#   CALLPACT_CACHE_DIR=/path ...            cache somewhere else
set -euo pipefail

CACHE=${CALLPACT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/callpact}
SRC="$CACHE/src/asterisk"
APTDIR="$CACHE/apt-unstable-src"
mkdir -p "$SRC" "$APTDIR"/{lists/partial,archives/partial,etc/preferences.d}

die() { echo "fetch_asterisk_source: $*" >&2; exit 1; }

verify() {
    # Every file the .dsc names must be present with the SHA-256 it states.
    local dsc=$1 dir
    dir=$(dirname "$dsc")
    awk '/^Checksums-Sha256:/{on=1; next} /^[^ ]/{on=0} on && NF==3 {print $1, $3}' "$dsc" |
    while read -r sum file; do
        [ -f "$dir/$file" ] || { echo "missing $file"; return 1; }
        echo "$sum  $dir/$file" | sha256sum --quiet -c - >/dev/null 2>&1 || { echo "bad checksum: $file"; return 1; }
    done
}

existing=$(ls -t "$SRC"/asterisk_*.dsc 2>/dev/null | head -1 || true)
if [ -n "$existing" ] && verify "$existing" >/dev/null; then
    echo "$SRC"
    exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found (Debian or Ubuntu needed)"
command -v dpkg-source >/dev/null || die "dpkg-source not found: apt-get install dpkg-dev"

# The mirror the system already uses for Debian (first URIs:/deb line naming /debian).
mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
            /etc/apt/sources.list.d/*.list 2>/dev/null |
         grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | grep -v security | head -1 | tr -d ' ' || true)
[ -n "$mirror" ] || die "no Debian mirror found in the system's apt sources"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"

cat > "$APTDIR/sources.list" <<EOF
deb-src [signed-by=$keyring] $mirror unstable main
EOF
apt_opts=(
    -o "Dir::Etc::sourcelist=$APTDIR/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::Etc::preferencesparts=$APTDIR/etc/preferences.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::Cache::Archives=$APTDIR/archives"
    -o "APT::Get::List-Cleanup=0"
    -o "APT::Sandbox::User=root"
)
echo "fetch_asterisk_source: updating the private unstable source index" >&2
apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update for unstable sources failed"
echo "fetch_asterisk_source: downloading the asterisk source package" >&2
(cd "$SRC" && apt-get "${apt_opts[@]}" -qq source --download-only asterisk >&2) \
    || die "apt-get source asterisk failed"

dsc=$(ls -t "$SRC"/asterisk_*.dsc 2>/dev/null | head -1 || true)
[ -n "$dsc" ] || die "no asterisk .dsc was downloaded"
problem=$(verify "$dsc") || die "$(basename "$dsc"): $problem"
# Keep only the newest version's files.
keep=$(basename "$dsc" .dsc)
for f in "$SRC"/asterisk_*; do
    case $(basename "$f") in
        "$keep".dsc|"${keep%%-*}".orig*|"$keep".debian.*) ;;
        *) grep -qF "$(basename "$f")" "$dsc" || rm -f "$f" ;;
    esac
done
echo "$SRC"
