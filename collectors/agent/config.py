"""The agent's configuration: a local JSON file (or command-line flags), overridden centrally.

Local file (``--config /etc/soc-agent/agent.json``)::

    {"url": "https://soc.example/api/v1", "secret_file": "/etc/soc-agent/secret",
     "state_dir": "/var/lib/soc-agent", "batch_size": 500, "rate_limit": 0,
     "spool": {"max_bytes": 268435456, "policy": "block"},
     "inputs": [{"type": "file", "name": "auth", "paths": ["/var/log/auth.log*"]},
                {"type": "file", "name": "eve", "paths": ["/var/log/suricata/eve.json"], "format": "json"},
                {"type": "syslog", "name": "udp514", "protocol": "udp", "host": "0.0.0.0", "port": 514},
                {"type": "syslog", "name": "tls6514", "protocol": "tcp", "port": 6514,
                 "tls": {"cert": "/etc/soc-agent/tls.crt", "key": "/etc/soc-agent/tls.key"}},
                {"type": "evtx", "name": "exports", "paths": ["/srv/evtx/*.evtx"]},
                {"type": "journald", "name": "journal"}]}

The central side may answer a heartbeat with ``inputs``, ``batch_size`` and
``rate_limit`` (events/s, 0 for none): they replace the local values without a
restart. The spool and the credential stay local.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collectors.agent.spool import BLOCK, DROP_OLDEST

CENTRAL_KEYS = ("inputs", "batch_size", "rate_limit")
MIN_SPOOL_BYTES = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ConfigError(ValueError):
    pass


@dataclass
class AgentConfig:
    url: str
    secret_file: str
    state_dir: str
    hostname: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    batch_size: int = 500
    senders: int = 2  # batches in flight at once (acknowledged in order)
    rate_limit: float = 0.0
    heartbeat_seconds: float = 5.0
    poll_seconds: float = 0.2
    spool_max_bytes: int = 256 * 1024 * 1024
    spool_policy: str = BLOCK
    ca_file: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)


def validate_inputs(inputs: Any) -> list[dict[str, Any]]:
    """Each input is checked here, so a bad central push is refused whole, never half-applied."""
    if not isinstance(inputs, list):
        raise ConfigError("inputs must be a list")
    names: set[str] = set()
    for spec in inputs:
        if not isinstance(spec, dict) or not _NAME.match(str(spec.get("name", ""))):
            raise ConfigError("each input needs a name of 1-40 letters, digits, _ or -")
        if spec["name"] in names:
            raise ConfigError(f"input name {spec['name']!r} is used twice")
        names.add(spec["name"])
        kind = spec.get("type")
        if kind == "file":
            paths = spec.get("paths")
            if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
                raise ConfigError(f"file input {spec['name']}: paths must be a non-empty list of globs")
            if spec.get("format", "text") not in ("text", "json"):
                raise ConfigError(f"file input {spec['name']}: format must be text or json")
        elif kind == "evtx":
            paths = spec.get("paths")
            if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
                raise ConfigError(f"evtx input {spec['name']}: paths must be a non-empty list of globs")
        elif kind == "journald":
            if not isinstance(spec.get("directory", ""), str) or spec.get("from", "end") not in ("start", "end"):
                raise ConfigError(f"journald input {spec['name']}: directory must be a path, from start or end")
        elif kind == "syslog":
            if spec.get("protocol", "udp") not in ("udp", "tcp"):
                raise ConfigError(f"syslog input {spec['name']}: protocol must be udp or tcp")
            if not isinstance(spec.get("port", 514), int):
                raise ConfigError(f"syslog input {spec['name']}: port must be an integer")
        else:
            raise ConfigError(f"input {spec['name']}: type must be file, syslog, evtx or journald")
    return inputs


def central_overrides(payload: Any) -> dict[str, Any]:
    """The valid subset of a central configuration (raises ConfigError on any invalid key)."""
    if not isinstance(payload, dict):
        return {}
    out: dict[str, Any] = {}
    if "inputs" in payload:
        out["inputs"] = validate_inputs(payload["inputs"])
    if "batch_size" in payload:
        if not isinstance(payload["batch_size"], int) or not 1 <= payload["batch_size"] <= 5000:
            raise ConfigError("batch_size must be an integer from 1 to 5000")
        out["batch_size"] = payload["batch_size"]
    if "rate_limit" in payload:
        if not isinstance(payload["rate_limit"], int | float) or payload["rate_limit"] < 0:
            raise ConfigError("rate_limit must be a number of events per second (0: none)")
        out["rate_limit"] = float(payload["rate_limit"])
    return out


def load(path: str | None, flags: dict[str, Any]) -> AgentConfig:
    """The file's values, then the command-line flags that were given."""
    raw: dict[str, Any] = json.loads(Path(path).read_text()) if path else {}
    spool = raw.pop("spool", {}) or {}
    raw.setdefault("spool_max_bytes", spool.get("max_bytes", AgentConfig.spool_max_bytes))
    raw.setdefault("spool_policy", spool.get("policy", BLOCK))
    raw.update({k: v for k, v in flags.items() if v not in (None, [], "")})
    missing = [k for k in ("url", "secret_file", "state_dir") if not raw.get(k)]
    if missing:
        raise ConfigError(f"missing setting(s): {', '.join(missing)}")
    if int(raw["spool_max_bytes"]) < MIN_SPOOL_BYTES:
        raise ConfigError(f"spool max_bytes must be at least {MIN_SPOOL_BYTES} (a few large events)")
    if raw["spool_policy"] not in (BLOCK, DROP_OLDEST):
        raise ConfigError(f"spool policy must be {BLOCK} or {DROP_OLDEST}")
    known = set(AgentConfig.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    config = AgentConfig(**raw)
    validate_inputs(config.inputs)
    return config
