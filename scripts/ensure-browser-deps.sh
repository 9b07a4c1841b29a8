#!/usr/bin/env bash
# Installs what the browser tests need when missing: Debian's chromium and a CJK font.
# With --screenshots also colour emoji and Chromium's Chinese UI strings (date fields, file buttons), for the guide.
set -euo pipefail
need=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-microhei)
if [ "${1:-}" = "--screenshots" ]; then
  fc-list 2>/dev/null | grep -qi "color emoji" || need+=(fonts-noto-color-emoji)
  dpkg -s chromium-l10n >/dev/null 2>&1 || need+=(chromium-l10n)
fi
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "安装浏览器测试依赖：${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
