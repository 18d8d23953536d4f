# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared helpers for tools/build-linux and tools/build-initramfs (sourced, not
# run). Both scripts are part of their own cache keys, and so is this file.
#
# Conventions: progress goes to stderr as "==> [step/total] what"; the result's
# path is the only thing printed on stdout. A step's tool output goes to the
# build log; on failure the last 40 lines of it are shown.

LOG_TAIL_LINES=40
VB_STEP_TOTAL=${VB_STEP_TOTAL:-1}
VB_STEP=0
VB_LOG=/dev/null
VB_T0=$(date +%s)

vb_die() {
    printf '%s: error: %s\n' "$VB_NAME" "$*" >&2
    exit 1
}

vb_note() {
    printf '%s: %s\n' "$VB_NAME" "$*" >&2
}

# vb_step "what": announces the next step with the time since the start.
vb_step() {
    VB_STEP=$((VB_STEP + 1))
    printf '==> [%d/%d] %s (+%ds)\n' "$VB_STEP" "$VB_STEP_TOTAL" "$*" \
        "$(($(date +%s) - VB_T0))" >&2
    [ "$VB_LOG" = /dev/null ] || printf '\n==> [%d/%d] %s\n' "$VB_STEP" "$VB_STEP_TOTAL" "$*" >>"$VB_LOG"
}

# vb_run CMD...: runs CMD with its output appended to the log; on failure
# shows the log's tail and exits.
vb_run() {
    if ! "$@" >>"$VB_LOG" 2>&1; then
        printf '%s: error: failed: %s\n' "$VB_NAME" "$*" >&2
        if [ "$VB_LOG" != /dev/null ]; then
            printf -- '---- last %d lines of %s ----\n' "$LOG_TAIL_LINES" "$VB_LOG" >&2
            tail -n "$LOG_TAIL_LINES" "$VB_LOG" >&2
            printf -- '---- end of log ----\n' >&2
        fi
        exit 1
    fi
}

vb_elapsed() {
    echo $(($(date +%s) - VB_T0))
}

# The cache lives outside the git clone: $VIREO_CACHE, else /var/cache/vireo
# when we can write there (root), else ~/.cache/vireo.
vb_cache_dir() {
    local dir=${VIREO_CACHE:-}
    if [ -z "$dir" ]; then
        dir=/var/cache/vireo
        if ! mkdir -p "$dir" 2>/dev/null || [ ! -w "$dir" ]; then
            dir=${XDG_CACHE_HOME:-$HOME/.cache}/vireo
        fi
    fi
    mkdir -p "$dir" || vb_die "cannot create the cache directory $dir (set VIREO_CACHE)"
    (cd "$dir" && pwd)
}

vb_have_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
    done
}

vb_sudo() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        vb_die "need root (or sudo) to run: $*"
    fi
}

# The mirror of the machine's bookworm entry (same logic as tools/install-deps).
vb_debian_mirror() {
    local mirror
    mirror=$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
    if [ -z "$mirror" ]; then
        mirror=$(grep -hs '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 | awk '{print $2}')
    fi
    echo "${mirror:-http://deb.debian.org/debian}"
}

VB_APT_UPDATED=0
vb_apt_update() {
    [ "$VB_APT_UPDATED" = 1 ] && return 0
    vb_sudo apt-get update -qq
    VB_APT_UPDATED=1
}

# vb_install PKG...: installs the missing ones from the default suites.
vb_install() {
    local missing=() p
    for p in "$@"; do
        vb_have_pkgs "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    vb_note "installing Debian packages: ${missing[*]}"
    vb_apt_update
    DEBIAN_FRONTEND=noninteractive vb_sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# vb_key FILE...: prints a sha256 over labelled inputs read from stdin plus
# the named files' contents; 16 hex digits are plenty to tell builds apart.
vb_key() {
    {
        cat
        local f
        for f in "$@"; do
            printf '\n--- %s\n' "$(basename "$f")"
            cat "$f"
        done
    } | sha256sum | cut -c1-16
}

# vb_lock FILE: holds an exclusive lock on FILE until the script exits, so two
# builds of the same thing wait for each other instead of racing.
vb_lock() {
    mkdir -p "$(dirname "$1")"
    exec 9>"$1"
    if ! flock -n 9; then
        vb_note "waiting for another build holding $1"
        flock 9
    fi
}
