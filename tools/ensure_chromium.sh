#!/usr/bin/env bash
# The browser test (tests/test_browser.py) opens the built book in Debian's Chromium. Install it when it is
# missing and this user can (root, or sudo without a password); otherwise say how. Nothing is downloaded at
# test time: Playwright drives this system browser.
set -euo pipefail
browser="${RLHF_LITE_CHROMIUM:-/usr/bin/chromium}"
[ -x "$browser" ] && exit 0
if [ "$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else
  echo "The browser test needs Chromium at $browser. Install Debian's package (sudo apt-get install chromium)" >&2
  echo "or point RLHF_LITE_CHROMIUM at a Chromium binary, then run make test again." >&2
  exit 1
fi
echo "[test] installing Debian's chromium for the browser test"
$as_root apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends chromium >/dev/null
