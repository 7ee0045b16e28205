"""The published NB201 search results of results/search.md, read from published.yaml and checked.

Each entry names its method, task, metric (validation or test), value, std and source; the sources say
where the number was read. A malformed entry is an error here, not a blank cell in the report.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import ZcbenchError

PUBLISHED = Path(__file__).with_name("published.yaml")
METRICS = ("validation", "test")
REQUIRED = ("method", "task", "metric", "value", "source")


def load_published(path: str | Path = PUBLISHED) -> dict:
    """{'sources': {key: {cite, where}}, 'entries': [...], 'missing': [...]}, every entry checked."""
    data = yaml.safe_load(Path(path).read_text())
    sources, entries = data.get("sources") or {}, data.get("entries") or []
    for key, src in sources.items():
        if not isinstance(src, dict) or not src.get("cite") or not src.get("where"):
            raise ZcbenchError(f"{path}: source {key!r} needs 'cite' and 'where'")
    for i, e in enumerate(entries):
        lacking = [k for k in REQUIRED if e.get(k) in (None, "")]
        if lacking:
            raise ZcbenchError(f"{path}: entry {i} ({e.get('method')!r}) lacks {', '.join(lacking)}")
        if e["metric"] not in METRICS:
            raise ZcbenchError(f"{path}: entry {i} has metric={e['metric']!r}; valid: {', '.join(METRICS)}")
        if e["source"] not in sources:
            raise ZcbenchError(f"{path}: entry {i} cites source={e['source']!r}; valid: {', '.join(sources)}")
        for key in ("value", "std"):
            if key == "value" or e.get(key) is not None:
                try:
                    float(e[key])
                except (TypeError, ValueError):
                    raise ZcbenchError(f"{path}: entry {i} {key}={e[key]!r} is not a number") from None
    return {"sources": sources, "entries": entries, "missing": list(data.get("missing") or [])}
