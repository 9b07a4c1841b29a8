#!/usr/bin/env bash
# Makes sure Node.js ≥ 18 is there for the outbox tests (`node --test tests/js/`): Debian's `nodejs` when missing.
# Exit 0: node is ready. Exit 2: no node and no apt to install it with (the caller skips the JS tests, saying so).
set -euo pipefail
node_ok() {
  command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ]
}
node_ok && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "未找到 Node.js ≥ 18，且本机没有 apt-get：跳过 outbox.js 的测试（tests/js/）。请安装 Node.js 18 或更新版本后再运行 make test-js。" >&2
  exit 2
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "安装 outbox.js 测试依赖：nodejs（Debian 软件包）"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs >/dev/null
node_ok || { echo "安装的 Node.js 版本低于 18：$(node --version 2>&1)" >&2; exit 1; }
