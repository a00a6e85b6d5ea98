import json
from tests.functional.api.test_routes import api, get, post  # noqa

def shape(v, depth=0):
    if isinstance(v, dict):
        return {k: shape(x, depth+1) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0], depth+1)] if v else []
    return type(v).__name__

def test_dump(api):
    out = {}
    for p in ["/centres", "/centres/north/kpis?from=2026-11-02&to=2026-11-03", "/centres/north/kpis?from=2026-11-02&to=2026-11-02&grain=15min&dimension=queue",
              "/centres/north/trends?from=2026-11-02&to=2026-11-08", "/centres/north/pathways?from=2026-11-02&to=2026-11-03",
              "/centres/north/staffing?from=2026-11-02&to=2026-11-02", "/centres/north/data-quality?from=2026-11-02&to=2026-11-03",
              "/centres/north/uploads?from=2026-11-02&to=2026-11-02", "/reports"]:
        out[p] = shape(get(api, p)[1])
    out["upload"] = shape(post(api, "/centres/north/upload-url", {"source": "acd", "filename": "x.csv"})[1])
    out["gen"] = shape(post(api, "/reports", {"audience": "operations", "period": "daily", "as_of": "2026-11-09", "centre": "north"})[1])
    out["reports2"] = shape(get(api, "/reports")[1])
    out["dl"] = shape(get(api, "/reports/north/operations/daily/2026-11-09.pdf")[1])
    out["dq_raw"] = get(api, "/centres/north/data-quality?from=2026-11-02&to=2026-11-02")[1]["items"][0]
    json.dump(out, open("/tmp/i18r/shapes.json", "w"), indent=1)
