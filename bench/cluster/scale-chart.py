#!/usr/bin/env python3
"""Draws bench/cluster/scale.py's results against rank count: an SVG, rendered to PNG by headless chromium.
Usage: bench/cluster/scale-chart.py RESULT.json [RESULT.json …] OUT.png   (results of one layout, merged by rank count)
"""
import json, math, subprocess, sys, tempfile

*inputs, out = sys.argv[1:]
rows = {}
for path in inputs:
    for r in json.load(open(path))["results"]:
        if "error" not in r:
            rows[r["ranks"]] = r
ranks = sorted(rows)
panels = [
    ("bias round trip, ms (mean; goal ≤ 50)", lambda r: r["control_ms"]["mean"], 50),
    ("step time beyond the wait, ms (mean)", lambda r: r["step_overhead_ms"]["mean"], None),
    ("checkpoint 2PC commit, s (mean)", lambda r: r["checkpoint_commit_s"]["mean"], None),
    ("rank start after a kill, s", lambda r: r.get("replan", {}).get("start_ranks_s", float("nan")), None),
    ("kill → next step, s", lambda r: r.get("replan", {}).get("kill_to_next_step_s", float("nan")), None),
    ("job page: GET /api/jobs/{id}, ms (median)", lambda r: r["api_latency"]["/api/jobs/{id}"]["ms_median"], None),
    ("PostgreSQL bytes per step, KB", lambda r: r["pg_bytes_per_step"] / 1000, None),
    ("PostgreSQL bytes per checkpoint, KB", lambda r: r["pg_bytes_per_checkpoint"] / 1000, None),
]
W, H, COLS = 360, 240, 4
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * COLS}" height="{H * 2}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W * COLS}" height="{H * 2}" fill="white"/>']
for i, (title, value, goal) in enumerate(panels):
    x0, y0 = (i % COLS) * W, (i // COLS) * H
    left, right, top, bottom = x0 + 50, x0 + W - 40, y0 + 30, y0 + H - 35
    values = [value(rows[r]) for r in ranks]
    finite = [v for v in values if not math.isnan(v)] + ([goal] if goal else [])
    vmax = max(finite) * 1.15 if finite and max(finite) > 0 else 1
    lx = lambda r: left + (math.log2(r) - math.log2(ranks[0])) / max(math.log2(ranks[-1]) - math.log2(ranks[0]), 1) * (right - left)
    ly = lambda v: bottom - v / vmax * (bottom - top)
    svg.append(f'<text x="{x0 + 10}" y="{y0 + 18}" font-weight="bold">{title}</text>')
    svg.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/><line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="black"/>')
    for r in ranks:
        svg.append(f'<text x="{lx(r)}" y="{bottom + 15}" text-anchor="middle">{r}</text>')
    svg.append(f'<text x="{(left + right) / 2}" y="{bottom + 30}" text-anchor="middle" fill="#555">ranks</text>')
    for t in range(5):
        v = vmax * t / 4
        svg.append(f'<text x="{left - 5}" y="{ly(v) + 4}" text-anchor="end" fill="#555">{v:.3g}</text>')
    if goal:
        svg.append(f'<line x1="{left}" y1="{ly(goal)}" x2="{right}" y2="{ly(goal)}" stroke="#c00" stroke-dasharray="4 3"/>')
    points = [(lx(r), ly(v)) for r, v in zip(ranks, values) if not math.isnan(v)]
    svg.append('<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
    for (x, y), v in zip(points, [v for v in values if not math.isnan(v)]):
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f5fbf"/><text x="{x + 4:.1f}" y="{y - 6:.1f}" fill="#1f5fbf">{v:.3g}</text>')
svg.append("</svg>")
page = tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False)
page.write("\n".join(svg))
page.close()
open(out.replace(".png", ".svg"), "w").write("\n".join(svg))
subprocess.run(["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={out}",
                f"--window-size={W * COLS},{H * 2}", f"file://{page.name}"], check=True, capture_output=True)
print(out)
