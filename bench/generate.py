"""Generate patrol history into a 井站通 SQLite database: see webapp/generator.py (also used by the demo)."""
import common  # noqa: F401  (puts the project on the import path)

from webapp.generator import main

if __name__ == "__main__":
    main()
