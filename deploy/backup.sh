#!/usr/bin/env bash
# Backs up 井站通 while it runs, into DIR, with the settings of the app (/etc/jingzhan/env):
#   SQLite      `jingzhan backup`: the database (one moment, integrity-checked) and the new photos into
#               DIR/jingzhan-photos/, where `jingzhan restore` looks for them;
#   PostgreSQL  pg_dump (one snapshot, then listed with pg_restore), and the new files of the photo directory
#               copied into DIR/jingzhan-photos/ (photos in S3 are the bucket's to keep: versioning, replication).
# Database copies older than KEEP_DAYS days are deleted; photos are kept.
#   deploy/backup.sh [DIR] [KEEP_DAYS]        (defaults /var/backups/jingzhan, 14)
# Run nightly by deploy/jingzhan-backup.timer; copy DIR to another machine as well (docs/deploy.md).
set -euo pipefail
dest=${1:-/var/backups/jingzhan}
keep_days=${2:-14}
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
instance=${JINGZHAN_INSTANCE:-$root/instance}
photos=${JINGZHAN_PHOTO_DIR:-$instance/photos}
stamp=$(date +%Y%m%d-%H%M%S)
umask 027
mkdir -p "$dest"

case "${DATABASE_URL:-sqlite}" in
  postgres*|psycopg*) backend=postgresql ;;
  *) backend=sqlite ;;
esac

if [ "$backend" = sqlite ]; then
  "$venv/bin/jingzhan" backup "$dest/jingzhan-$stamp.db"
else
  url=${DATABASE_URL/#psycopg3:/postgresql:}
  file="$dest/jingzhan-$stamp.dump"
  pg_dump --format=custom --file="$file.part" "$url"
  pg_restore --list "$file.part" >/dev/null
  mv "$file.part" "$file"
  echo "已备份 PostgreSQL 数据库到 $file（$(du -h "$file" | cut -f1)）。"
  if [ "${JINGZHAN_PHOTO_STORE:-dir}" = "dir" ] && [ -d "$photos" ]; then
    # Photos are written once under their content hash and never changed: copying the new files is enough.
    "$venv/bin/python" - "$photos" "$dest/jingzhan-photos" <<'PY'
import os
import shutil
import sys
from pathlib import Path

source, target = map(Path, sys.argv[1:])
copied = 0
for path in sorted(source.rglob("*")):
    to = target / path.relative_to(source)
    if path.is_file() and not path.name.startswith(".") and not to.exists():  # not the app's half-written files
        to.parent.mkdir(parents=True, exist_ok=True)
        part = to.with_name(f".{to.name}.part")  # an interrupted copy is never taken for a whole one
        shutil.copy2(path, part)
        os.replace(part, to)
        copied += 1
print(f"照片：新复制 {copied} 个文件（{target}）。")
PY
  fi
fi

find "$dest" -maxdepth 1 -type f -name 'jingzhan-*' -mtime +"$keep_days" -print -delete | sed 's/^/已删除过期备份 /'
