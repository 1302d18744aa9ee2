#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it when we can (root), else say how.
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "Could not install chromium; browser tests will be skipped."
else
  echo "No /usr/bin/chromium: run 'sudo apt-get install chromium' to enable browser tests."
fi
