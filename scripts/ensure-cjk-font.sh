#!/usr/bin/env bash
# Installs a Chinese font (fonts-wqy-microhei) for the printed well labels when none is present.
# Never fails the caller: without root or sudo it only says what to install.
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy\|noto sans cjk\|droid sans fallback" && exit 0
[ -n "${JINGZHAN_CJK_FONT:-}" ] && [ -f "$JINGZHAN_CJK_FONT" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "提示：未找到中文字体，打印井口标签前请安装 fonts-wqy-microhei（apt-get install fonts-wqy-microhei）。"
  exit 0
fi
echo "安装中文字体 fonts-wqy-microhei（用于打印井口标签）"
$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq fonts-wqy-microhei >/dev/null \
  || echo "提示：中文字体安装失败，打印井口标签前请安装 fonts-wqy-microhei。"
exit 0
