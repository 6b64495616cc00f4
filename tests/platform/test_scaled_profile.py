"""docker-compose.yml's "scaled" profile: nginx in front of web replicas, /ws/ to the WebSocket servers, a three-node
Elasticsearch cluster and one Celery pool per queue; the default profile untouched (compose cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from soc.queues import Queue

ROOT = Path(__file__).resolve().parents[2]
NGINX = (ROOT / "packaging" / "nginx" / "soc.conf").read_text()
DEFAULT = {"elasticsearch", "redis", "postgres", "migrate", "web", "worker", "beat", "collector"}


def services() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return dict(compose["services"])


def scaled() -> dict[str, Any]:
    return {name: spec for name, spec in services().items() if "scaled" in spec.get("profiles", [])}


def env_file(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_default_profile_keeps_its_services_and_starts_nothing_more() -> None:
    unprofiled = {name for name, spec in services().items() if not spec.get("profiles")}

    assert unprofiled == DEFAULT


def test_nginx_from_the_official_image_fronts_the_replicas_with_the_committed_config() -> None:
    proxy = scaled()["proxy"]

    assert proxy["image"].startswith("nginx:${NGINX_VERSION")
    assert "NGINX_VERSION" in env_file("versions.env")
    assert "./packaging/nginx/soc.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert re.search(r"server web-http:8000 resolve;", NGINX)
    assert scaled()["web-http"]["deploy"]["replicas"] and not scaled()["web-http"]["ports"]  # nginx is the door


def test_websockets_go_to_the_websocket_servers_with_the_upgrade_headers() -> None:
    ws_block = NGINX[NGINX.index("location /ws/"):NGINX.index("}", NGINX.index("location /ws/"))]

    assert "proxy_pass         http://web_ws;" in ws_block
    assert "proxy_set_header   Upgrade    $http_upgrade;" in ws_block
    assert "proxy_set_header   Connection $connection_upgrade;" in ws_block
    assert "proxy_http_version 1.1;" in ws_block
    assert "server web-ws:8000 resolve;" in NGINX
    assert "uvicorn" in scaled()["web-ws"]["command"]


def test_metrics_are_served_to_the_operators_networks_only() -> None:
    block = NGINX[NGINX.index("location = /metrics"):]

    assert "if ($operator_network = 0)" in block.split("proxy_pass")[0]


def test_elasticsearch_is_a_three_node_cluster_with_one_replica() -> None:
    nodes = {name: spec for name, spec in scaled().items() if name.startswith("es-")}

    assert set(nodes) == {"es-1", "es-2", "es-3"}
    for name, spec in nodes.items():
        env = spec["environment"]
        assert env["node.name"] == name
        assert env["discovery.seed_hosts"] == env["cluster.initial_master_nodes"] == "es-1,es-2,es-3"
        assert "discovery.type" not in env
    settings = env_file("packaging/scaled.env")
    assert settings["SOC_ES_REPLICAS"] == "1"
    assert settings["ELASTICSEARCH_URL"] == "http://es-1:9200,http://es-2:9200,http://es-3:9200"


def test_each_queue_has_its_own_worker_pool() -> None:
    pools: dict[str, list[str]] = {}
    for name, spec in scaled().items():
        command = spec.get("command") or []
        if command[:4] == ["celery", "-A", "soc", "worker"]:
            pools[name] = command[command.index("-Q") + 1].split(",")

    served = [queue for queues in pools.values() for queue in queues]
    assert sorted(served) == sorted(queue.value for queue in Queue)
    assert pools["worker-detection"] == ["detection"]
