#!/usr/bin/env bash
# Builds the test image execdeck-test/busybox:latest from tests/docker/Dockerfile and the host's static
# busybox (Debian's busybox-static), with no registry and no pull.
#
# Idempotent: the image carries the label execdeck.test.dockerfile-sha256 (the Dockerfile's sha256) and is
# rebuilt only when it is missing or that label differs; `--force` rebuilds anyway. Talks to the daemon the
# docker CLI talks to (DOCKER_HOST). The build context is a temp folder, removed on exit; a replaced image
# is removed unless a container still uses it. Exit status non-zero, with a message, on any failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=execdeck-test/busybox:latest
LABEL=execdeck.test.dockerfile-sha256
BUSYBOX=/bin/busybox

die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "no docker command: install docker.io"
[ -x "$BUSYBOX" ] || die "$BUSYBOX is missing: install busybox-static"
# A dynamic busybox cannot run in an image with no libc; ldd fails on static binaries only.
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked: install busybox-static"
fi

want=$(sha256sum "$here/Dockerfile" | cut -d' ' -f1)
current_label() {
    docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

if [ "${1:-}" != --force ] && [ "$(current_label)" = "$want" ]; then
    echo "build-images: $IMAGE is up to date"
    exit 0
fi

# Two test sessions may find the image missing at once: build one at a time (the lock is on the Dockerfile
# itself, so no lock file is left behind), and look again once the lock is ours.
exec 9<"$here/Dockerfile"
flock -w 300 9 || die "timed out waiting for another build of $IMAGE"
if [ "${1:-}" != --force ] && [ "$(current_label)" = "$want" ]; then
    echo "build-images: $IMAGE is up to date (built meanwhile)"
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
