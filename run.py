"""Serve 井站通 on http://127.0.0.1:5000 (HOST and PORT may be set in the environment)."""
import os
import sys

from webapp import create_app
from webapp.database import DatabaseConfigError


def main():
    try:
        app = create_app()
    except DatabaseConfigError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        sys.exit(2)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    print(f"井站通 正在运行：http://{host}:{port}/  （Ctrl+C 停止）")
    app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
