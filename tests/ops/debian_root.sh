# Sourced by the ops tests that need a brand-new minimal Debian 12 root (what a new contributor's
# machine or a deploy host starts from): `debootstrap --variant=minbase bookworm`, nothing else.
# The root is built once (about a minute) and cached as a tarball; each test unpacks a copy of
# its own. Downloaded packages are cached too, so a second run only installs. Both caches live
# in $TRADEBUS_ROOT_CACHE (default /var/cache/tradebus-tests). Talks to the Debian mirror this
# machine's apt uses and, for install-deps.sh's `npm ci`, to the npm registry, and to nothing else.

root_cache=${TRADEBUS_ROOT_CACHE:-/var/cache/tradebus-tests}

# Exits 77 (skipped) with the reason when this machine cannot build or enter such a root.
debian_root_require() {
    [ "$(id -u)" -eq 0 ] || { echo "SKIPPED: needs root (debootstrap, chroot, mount)"; exit 77; }
    command -v debootstrap >/dev/null ||
        { echo "SKIPPED: no debootstrap (scripts/install-deps.sh installs it)"; exit 77; }
    command -v unshare >/dev/null || { echo "SKIPPED: no unshare (util-linux)"; exit 77; }
}

# The mirror this machine's apt uses (deb822 or one-line sources), else Debian's own.
debian_mirror() {
    local m=""
    [ -f /etc/apt/sources.list.d/debian.sources ] &&
        m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    [ -z "$m" ] && [ -f /etc/apt/sources.list ] &&
        m=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
    echo "${m:-http://deb.debian.org/debian}"
}

# Prints the cached tarball, building it first when absent (under a lock: tests run in
# parallel). Returns 1, with debootstrap's log, when it cannot be built.
debian_root_tarball() {
    local tar=$root_cache/bookworm-minbase.tar
    mkdir -p "$root_cache/apt-archives/partial"
    (
        flock 9
        [ -f "$tar" ] && exit 0
        local build=$root_cache/root-build
        rm -rf "$build"
        if ! debootstrap --variant=minbase bookworm "$build" "$(debian_mirror)" \
            >"$root_cache/debootstrap.log" 2>&1; then
            tail -n 20 "$root_cache/debootstrap.log" >&2
            rm -rf "$build"
            exit 1
        fi
        # The same package sources as this machine (security updates included).
        cp /etc/apt/sources.list.d/*.sources "$build/etc/apt/sources.list.d/" 2>/dev/null &&
            rm -f "$build/etc/apt/sources.list"
        tar -C "$build" -cf "$tar.new" . && mv "$tar.new" "$tar"
        rm -rf "$build"
    ) 9>"$root_cache/lock" || return 1
    echo "$tar"
}

# debian_root_new DIR: a new copy of the root in DIR.
debian_root_new() {
    local tar
    tar=$(debian_root_tarball) || return 1
    mkdir -p "$1" && tar -C "$1" -xf "$tar"
    cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
    # This machine's own trusted certificates (an HTTPS-inspecting proxy's CA, say): the root
    # trusts what this machine trusts once ca-certificates is installed there.
    mkdir -p "$1/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" 2>/dev/null ||
        true
}

# debian_root_run DIR SCRIPT: runs the bash SCRIPT as root inside DIR (chroot) with /proc, /dev,
# /sys, a private /run and the shared package cache mounted, in a mount namespace of its own, so
# every mount is gone when it returns, whatever happened inside. One at a time per cache: apt
# locks the package cache, so a second run waits for the first.
debian_root_run() {
    local dir=$1 script=$2
    flock "$root_cache/apt-archives" unshare --mount --propagation private bash -c '
        set -e
        dir=$1
        mount --bind /proc "$dir/proc"
        mount --rbind /dev "$dir/dev"
        mount --rbind /sys "$dir/sys"
        mount -t tmpfs tmpfs "$dir/run"
        mount --bind "$2" "$dir/var/cache/apt/archives"
        exec chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            LANG=C.UTF-8 /bin/bash -c "$3"
    ' debian_root_run "$dir" "$root_cache/apt-archives" "$script"
}
