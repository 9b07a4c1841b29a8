#!/usr/bin/env bash
# The production stack on this machine, in the foreground, as docs/deploy.md sets it up (without nginx and TLS):
# PostgreSQL on 127.0.0.1, the schema and the demo work area in a new database, gunicorn with
# deploy/gunicorn.conf.py on 127.0.0.1 (JINGZHAN_BIND, default 127.0.0.1:8000). Ctrl-C stops gunicorn and removes
# the database; a PostgreSQL cluster started here is removed too.
#   scripts/prod-stack.sh [--history-days N]   (default 14, as `make run`)
# With JINGZHAN_TEST_POSTGRES_URL set (make test-postgres, CI) its cluster is used instead of a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
history_days=14
while [ $# -gt 0 ]; do
  case "$1" in
    --history-days) history_days="$2"; shift 2 ;;
    *) echo "用法：scripts/prod-stack.sh [--history-days 天数]" >&2; exit 2 ;;
  esac
done
venv=${VENV:-.venv}
py="$venv/bin/python"
export JINGZHAN_BIND=${JINGZHAN_BIND:-127.0.0.1:8000}
case "$JINGZHAN_BIND" in
  127.0.0.1:*) ;;
  *) echo "错误：试运行只监听本机（JINGZHAN_BIND=127.0.0.1:端口），演示账号的密码是公开的。" >&2; exit 2 ;;
esac
"$py" -c 'import gunicorn, psycopg2' 2>/dev/null || {
  echo "错误：$venv 里缺少 gunicorn 或 psycopg2，请先执行 $venv/bin/pip install -e '.[test]'。" >&2; exit 2; }

if [ -z "${JINGZHAN_TEST_POSTGRES_URL:-}" ]; then
  exec scripts/with-test-postgres.sh "$0" --history-days "$history_days"
fi
admin_url=$JINGZHAN_TEST_POSTGRES_URL
name="jingzhan_stack_$$"
instance=$(mktemp -d /tmp/jingzhan-stack.XXXXXX)
gunicorn_pid=""

database() {  # create | drop: the stack's own database on the cluster, through psycopg2
  "$py" - "$1" "$admin_url" "$name" <<'EOF'
import sys
import psycopg2
action, url, name = sys.argv[1:]
conn = psycopg2.connect(url)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute(f'CREATE DATABASE "{name}"' if action == "create" else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
conn.close()
EOF
}

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$gunicorn_pid" ]; then
    kill -TERM "$gunicorn_pid" 2>/dev/null || true
    wait "$gunicorn_pid" 2>/dev/null || true
  fi
  database drop || echo "提示：未能删除数据库 $name。" >&2
  rm -rf "$instance"
  echo "井站通已停止，试运行数据库 $name 已删除。"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

database create
export DATABASE_URL="${admin_url%/*}/$name"
export JINGZHAN_INSTANCE="$instance"
export JINGZHAN_PHOTO_DIR="$instance/photos"
export SECRET_KEY=${SECRET_KEY:-$("$py" -c 'import secrets; print(secrets.token_urlsafe(48))')}
echo "数据库：$DATABASE_URL"
echo "数据目录：$instance"
"$venv/bin/jingzhan" db upgrade
"$venv/bin/jingzhan" seed-demo --history-days "$history_days"
echo "井站通（gunicorn，deploy/gunicorn.conf.py）：http://$JINGZHAN_BIND/ （Ctrl+C 停止并删除这个数据库）"
"$py" -m gunicorn --config deploy/gunicorn.conf.py &
gunicorn_pid=$!
wait "$gunicorn_pid"
