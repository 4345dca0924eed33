#!/bin/sh
# `make test` needs Debian's chromium for the browser tests, and poppler-utils (pdftoppm, pdfinfo) for the
# test of `digimeter report --pdf`. Install what is missing when running as root; otherwise say in one line
# what to install (the tests that need it then fail with that line).
need_chromium=1
for exe in chromium chromium-browser google-chrome; do
    command -v "$exe" >/dev/null 2>&1 && need_chromium=0 && break
done
need_poppler=1
command -v pdftoppm >/dev/null 2>&1 && need_poppler=0
[ "$need_chromium" = 0 ] && [ "$need_poppler" = 0 ] && exit 0
pkgs=""
[ "$need_chromium" = 1 ] && pkgs=" chromium"
[ "$need_poppler" = 1 ] && pkgs="$pkgs poppler-utils"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's$pkgs for the browser and PDF tests (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs >/dev/null && exit 0
    echo "make test: could not install$pkgs with apt-get; the browser/PDF tests will fail" >&2
    exit 0
fi
echo "make test:$pkgs missing; install it (Debian: sudo apt-get install$pkgs), or the browser/PDF tests fail" >&2
exit 0
