"""POST /api/v1/sync of 500 patrols on SQLite: server time per batch, and the size of one patrol on the wire.

Run: .venv/bin/python bench/bench_sync.py [runs]
"""
import gzip
import json
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

from common import demo_app, login

from models import Patrol, Station, Well, db

TZ = timezone(timedelta(hours=8))
READINGS = {"current_up_a": 42.5, "current_down_a": 38.1, "stroke_m": 3.0, "strokes_per_min": 4.5,
            "oil_pressure_mpa": 0.8, "casing_pressure_mpa": 1.2, "back_pressure_mpa": 0.6, "wellhead_temp_c": 38.0,
            "liquid_t_per_day": 12.4, "water_cut_pct": 86.5}


def patrol(well, at):
    return {
        "uuid": str(uuid.uuid4()),
        "type": "patrol",
        "created_at": at.isoformat(timespec="seconds"),
        "data": {
            "well_id": well.id, "method": "scan", "qr_token": well.qr_token,
            "readings": READINGS if well.kind == "oil" else {"oil_pressure_mpa": 12.0, "casing_pressure_mpa": 3.0},
            "position": {"latitude": float(well.latitude), "longitude": float(well.longitude), "accuracy": 8},
            "abnormal": False, "note": "",
            "operations": {"bie": {"minutes": 10, "start_mpa": 0.8, "end_mpa": 3.5}},
        },
    }


def main(runs=5, size=500):
    app, _ = demo_app()
    client = app.test_client()
    login(client)
    with db.connection_context():
        wells = list(Well.select().join(Station).where(Station.name == "海南一号站").where(Well.kind == "oil"))
    times = []
    start = datetime.now(TZ) - timedelta(days=30)
    for run in range(runs):
        records = [patrol(wells[i % len(wells)], start + timedelta(minutes=run * size + i)) for i in range(size)]
        body = json.dumps({"device_id": "bench", "sent_at": datetime.now(TZ).isoformat(timespec="seconds"), "records": records})
        began = time.perf_counter()
        response = client.post("/api/v1/sync", data=body, content_type="application/json")
        times.append(time.perf_counter() - began)
        statuses = {r["status"] for r in response.json["results"]}
        assert response.status_code == 200 and statuses == {"created"}, (response.status_code, statuses)
    with db.connection_context():
        assert Patrol.select().count() == runs * size
    one = json.dumps(records[0], ensure_ascii=False).encode()
    print(f"sync of {size} patrols, {runs} runs: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
    print(f"one patrol on the wire: {len(one)} bytes JSON ({len(gzip.compress(one))} bytes gzipped)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
