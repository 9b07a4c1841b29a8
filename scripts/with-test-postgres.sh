#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster on 127.0.0.1, exported as
# JINGZHAN_TEST_POSTGRES_URL; the cluster is stopped and removed afterwards.
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "安装 PostgreSQL（Debian 软件包）"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
fi
pgbin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
# In memory when the machine has a tmpfs: the suite creates and drops a database per test, and on a disk each of
# those waits on the file system (the cluster is thrown away anyway; fsync is off).
parent=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt 2097152 ]; then parent=/dev/shm; fi
dir=$(mktemp -d "$parent/jingzhan-pg.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap "exit 143" INT TERM  # the EXIT trap then removes the cluster (it lives in memory)
"${as_pg[@]}" "$pgbin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
export JINGZHAN_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
# How to restart it (bench/bench_pages.py --cold: a page timed with PostgreSQL's buffers empty).
export JINGZHAN_TEST_POSTGRES_RESTART="${as_pg[*]} $pgbin/pg_ctl -D $dir/data -l $dir/log -w -m fast restart"
echo "PostgreSQL 测试集群：127.0.0.1:$port"
"$@"
