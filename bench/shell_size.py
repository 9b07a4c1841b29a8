"""Size of the app shell of the worker's field pages: HTML + CSS + JS, gzip-compressed as served.

Run: .venv/bin/python bench/shell_size.py
"""
import gzip
import re

from common import demo_app, login

from models import Well, db


def main():
    app, _ = demo_app()
    client = app.test_client()
    login(client)
    with db.connection_context():
        token = Well.get(Well.code == "海1-02").qr_token
    pages = ["/", "/scan", f"/w/{token}", "/records", "/me", "/checks/new", "/hazards/new"]
    assets = set()
    total_html = 0
    for path in pages:
        html = client.get(path).get_data()
        total_html += len(gzip.compress(html))
        assets.update(re.findall(rb'(?:src|href)="(/static/[^"]+)"', html))
    # ES modules imported by other modules are part of the shell too.
    for js in ("outbox.js", "scanner.js", "photo.js"):
        assets.add(f"/static/js/{js}".encode())
    rows = []
    for asset in sorted(assets):
        with client.get(asset.decode()) as response:
            rows.append((asset.decode(), len(response.data), len(gzip.compress(response.data))))
    total_assets = sum(r[2] for r in rows)
    for name, raw, packed in rows:
        print(f"{name:45} {raw / 1024:7.1f} KB  {packed / 1024:6.1f} KB gz")
    print(f"{'HTML of ' + str(len(pages)) + ' pages':45} {'':10} {total_html / 1024:6.1f} KB gz")
    print(f"{'total':45} {'':10} {(total_assets + total_html) / 1024:6.1f} KB gz")


if __name__ == "__main__":
    main()
