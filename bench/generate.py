"""Generate history into a 井站通 database: see webapp/generator.py (also used by the demo and bench_pages.py).

    .venv/bin/python bench/generate.py /tmp/big.db --patrols 1000000             # the demo work area, ~8.6 years
    .venv/bin/python bench/generate.py /tmp/areas.db --areas 9 --days 365        # nine work areas, a year each
    .venv/bin/python bench/generate.py postgresql://postgres@127.0.0.1:5432/jz --patrols 100000
"""
import common  # noqa: F401  (puts the project on the import path)

from webapp.generator import main

if __name__ == "__main__":
    main()
