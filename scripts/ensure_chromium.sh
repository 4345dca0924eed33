#!/bin/sh
# `make test` needs Debian's chromium for the browser tests. Install it when running as root and it is
# missing; otherwise say in one line what to install (the browser tests then fail with that line).
for exe in chromium chromium-browser google-chrome; do
    command -v "$exe" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null && exit 0
    echo "make test: could not install chromium with apt-get; the browser tests will fail" >&2
    exit 0
fi
echo "make test: chromium is missing; install it (Debian: sudo apt-get install chromium), or the browser tests fail" >&2
exit 0
