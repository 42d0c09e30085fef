#!/usr/bin/env bash
# Builds the test image execdeck-test/busybox:latest from tests/docker/Dockerfile and the host's static
# busybox (Debian's busybox-static), with no registry and no pull.
#
# Idempotent: the image carries the label execdeck.test.dockerfile-sha256 (the Dockerfile's sha256) and is
# rebuilt only when it is missing or that label differs; `--force` rebuilds anyway. Talks to the daemon the
# docker CLI talks to (DOCKER_HOST). The build context is a temp folder, removed on exit; a replaced image
# is removed unless a container still uses it. Exit status non-zero, with a message, on any failure.
#
# `--copy-to URL` then copies the image to the engine at URL (Podman's API socket) when it lacks it or has
# an older one: `podman build` cannot run the Dockerfile's RUN steps on this kind of machine, so the image
# moves as `docker save | docker load`, its label and all.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=execdeck-test/busybox:latest
LABEL=execdeck.test.dockerfile-sha256
BUSYBOX=/bin/busybox

die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }

force=0 copy_to=""
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --copy-to) [ $# -ge 2 ] || die "--copy-to needs a URL"; copy_to=$2; shift ;;
        *) die "unknown argument '$1' (usage: build-images.sh [--force] [--copy-to URL])" ;;
    esac
    shift
done

command -v docker >/dev/null 2>&1 || die "no docker command: install docker.io"
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing: install busybox-static"
# A dynamic busybox cannot run in an image with no libc; ldd fails on static binaries only.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked: install busybox-static"
fi

want=$(sha256sum "$here/Dockerfile" | cut -d' ' -f1)
current_label() {
    # $1: extra docker options (-H URL for the copy's target)
    # shellcheck disable=SC2086
    docker ${1:-} image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

copy_if_asked() {
    [ -n "$copy_to" ] || return 0
    if [ "$force" = 0 ] && [ "$(current_label "-H $copy_to")" = "$want" ]; then
        echo "build-images: $IMAGE is up to date on $copy_to"
        return 0
    fi
    local old
    old=$(docker -H "$copy_to" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    docker image save "$IMAGE" | docker -H "$copy_to" image load >/dev/null \
        || die "copying $IMAGE to $copy_to failed"
    [ "$(current_label "-H $copy_to")" = "$want" ] || die "$IMAGE on $copy_to lacks its label after the copy"
    if [ -n "$old" ] && [ "$old" != "$(docker -H "$copy_to" image inspect --format '{{.Id}}' "$IMAGE")" ]; then
        docker -H "$copy_to" image rm "$old" >/dev/null 2>&1 || true
    fi
    echo "build-images: copied $IMAGE to $copy_to"
}

if [ "$force" = 0 ] && [ "$(current_label)" = "$want" ]; then
    echo "build-images: $IMAGE is up to date"
    copy_if_asked
    exit 0
fi

# Two test sessions may find the image missing at once: build one at a time (the lock is on the Dockerfile
# itself, so no lock file is left behind), and look again once the lock is ours.
exec 9<"$here/Dockerfile"
flock -w 300 9 || die "timed out waiting for another build of $IMAGE"
if [ "$force" = 0 ] && [ "$(current_label)" = "$want" ]; then
    echo "build-images: $IMAGE is up to date (built meanwhile)"
    copy_if_asked
    exit 0
fi

old=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
ctx=$(mktemp -d /tmp/execdeck-image-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$ctx/Dockerfile"
cp "$BUSYBOX" "$ctx/busybox"

# The classic builder: it needs no buildx plugin (absent on Debian) and never pulls for FROM scratch.
DOCKER_BUILDKIT=0 docker build --quiet --label "$LABEL=$want" --tag "$IMAGE" "$ctx" >/dev/null \
    || die "docker build of $IMAGE failed"
new=$(docker image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
    docker image rm "$old" >/dev/null 2>&1 || true
fi
echo "build-images: built $IMAGE ($new)"
copy_if_asked
