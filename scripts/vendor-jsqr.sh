#!/bin/sh
# Rebuild webapp/static/vendor/jsQR-1.4.0-nokanji.min.js from the npm package (a developer's step, not CI's: the
# result is committed). jsQR's Kanji mode carries a 7,000-entry Shift-JIS table — 35 KB of the 45 KB it weighs
# gzipped. Our labels are URLs (byte mode) and the scanner refuses every code that is not one of our labels, so the
# table is dropped: a Kanji-mode code still decodes, its characters read U+FFFD, its bytes are intact.
set -eu
JSQR=1.4.0
TERSER=5.51.4
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "jsqr@$JSQR" >/dev/null
tar xzf "jsqr-$JSQR.tgz"
npm install --silent --no-save --no-package-lock "terser@$TERSER" >/dev/null
python3 - package/dist/jsQR.js stripped.js <<'PY'
import sys
src = open(sys.argv[1], encoding="utf-8").read()
start = src.index("exports.shiftJISTable = {")
end = src.index("};", start) + 2
src = src[:start] + "exports.shiftJISTable = {};" + src[end:]
lookup = "String.fromCharCode(shiftJISTable_1.shiftJISTable[c])"
assert src.count(lookup) == 1, "jsQR changed: review this script"
src = src.replace(lookup, "String.fromCharCode(shiftJISTable_1.shiftJISTable[c] || 0xFFFD)")
open(sys.argv[2], "w", encoding="utf-8").write(src)
PY
node_modules/.bin/terser stripped.js -c -m -o "$here/webapp/static/vendor/jsQR-$JSQR-nokanji.min.js"
cp package/LICENSE "$here/webapp/static/vendor/jsQR-$JSQR.LICENSE"
echo "webapp/static/vendor/jsQR-$JSQR-nokanji.min.js: $(wc -c < "$here/webapp/static/vendor/jsQR-$JSQR-nokanji.min.js") bytes"
