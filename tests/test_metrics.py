"""GET /metrics (Prometheus text format) and the replica's roles in /v1/health, on a real app over
a real anvil: the index position, the lease, check latency by verdict, refusals by limit."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from test_api import World

from verifier.app import create_app


def _value(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert m, f"{name} not in metrics:\n{text}"
    return float(m.group(1))


def test_metrics_follow_the_index_checks_and_refusals(anvil_url: str, tmp_path: Path, model_dir: Path) -> None:
    world = World(anvil_url, tmp_path, model_dir)
    world.settings.outbound_rate_limit = "2/minute"
    app = create_app(world.settings, services=world.app.state.services)
    http = TestClient(app)
    resp = http.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    head = world.client.block_number()
    assert _value(text, "modelseal_index_block") == head == _value(text, "modelseal_chain_head")
    assert _value(text, "modelseal_index_lag_blocks") == 0 and _value(text, "modelseal_index_up") == 1
    assert _value(text, "modelseal_index_leading") == 1  # World synced: this replica holds the lease
    logs = world.client.w3.eth.get_logs({"address": world.client.address, "fromBlock": world.client.deploy_block})
    assert _value(text, "modelseal_index_events") == len(logs)  # fresh index: the newest cursor is the count
    assert _value(text, "modelseal_behaviour_jobs_pending") == 0
    assert (
        _value(text, 'modelseal_jobs_pending{kind="check"}')
        == _value(text, 'modelseal_jobs_pending{kind="audit"}')
        == 0
    )
    assert "modelseal_queue_depth" not in text  # in-process: there is no task queue

    params = {"url": "http://127.0.0.1:9/", "release": "deepseek/chat/1.0.0"}
    statuses = [http.get("/v1/check", params=params).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    text = http.get("/metrics").text
    assert _value(text, 'modelseal_check_seconds_count{verdict="unverified"}') == 2
    assert _value(text, 'modelseal_refused_total{limit="outbound"}') == 1
    assert http.get("/metrics").status_code == 200  # never rate-limited

    health = http.get("/v1/health").json()
    assert health["replica"] == {"indexing": True, "jobs": "in-process"}
