#!/usr/bin/env bash
# Installs the Debian packages persona-dna needs, when any is missing.
# Sourced by tools/demo and tools/test (DESIGN §8).
PD_DEBS="build-essential cmake pkg-config librdkafka-dev libavro-dev uuid-dev
libcmocka-dev liblmdb-dev libjansson-dev kcat tzdata valgrind shellcheck
python3 python3-yaml systemd"

pd_install_deps() {
        local missing=""
        for p in $PD_DEBS; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
                        grep -q "install ok installed" || missing="$missing $p"
        done
        [ -z "$missing" ] && return 0
        echo "installing:$missing"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq &&
                DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
                        --no-install-recommends $missing >/dev/null
}

# pd_build DIR [cmake args...]: configures and builds into DIR.
pd_build() {
        local dir=$1
        shift
        cmake -S "$PD_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
                cmake --build "$dir" -j "$(nproc)" >/dev/null
}
