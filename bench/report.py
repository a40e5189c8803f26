"""The table on stdout, results.json, and the last full run kept in bench/README.md with its machine."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
import subprocess
from typing import Any

from .figures import Row

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(HERE, "README.md")
BEGIN, END = "<!-- last-full-run: begin -->", "<!-- last-full-run: end -->"
COLUMNS = ("figure", "value", "baseline", "ratio", "target", "met")


def machine(postgres: dict[str, str] | None, generator: str) -> dict[str, Any]:
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": round(_mem_total_kb() / 2**20, 1),
            "python": platform.python_version(), "postgres": (postgres or {}).get("server_version"),
            "postgres_server": postgres, "sqlite": sqlite3.sqlite_version,
            "os": platform.platform(), "load_generator": generator,
            "wrk": _wrk_version() if generator == "wrk" else None}


def source_digest() -> str:
    """A short hash of the code under test (registry with its migrations, ledger): which code a run measured."""
    root = os.path.dirname(HERE)
    digest = hashlib.sha256()
    for package in ("registry", "ledger"):
        for folder, _, files in sorted(os.walk(os.path.join(root, package))):
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0")
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()[:12]


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_kb() -> int:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _wrk_version() -> str | None:
    try:
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, IndexError):
        return None


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def cells(row: Row) -> list[str]:
    figure = f"{row.figure} [{row.backend}]" if row.backend else row.figure
    met = "—" if row.met is None else ("yes" if row.met else "no")
    ratio = "—" if row.ratio is None else f"{row.ratio:.2f}"
    return [figure, _number(row.value, row.unit), _number(row.baseline, row.unit), ratio, row.target, met]


def table(rows: list[Row]) -> str:
    """The plain-text table printed at the end of a run."""
    body = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[Row], notes: bool = True) -> str:
    lines = ["| " + " | ".join(COLUMNS) + (" | notes |" if notes else " |"),
             "|" + "---|" * (len(COLUMNS) + notes)]
    for row in rows:
        extra = [row.note.replace("|", "\\|")] if notes else []
        lines.append("| " + " | ".join(cells(row) + extra) + " |")
    return "\n".join(lines)


def write_json(path: str, rows: list[Row], run: dict[str, Any], details: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"run": run, "rows": [r.as_dict() for r in rows], "details": details}, out,
                  ensure_ascii=False, indent=1, default=str)
        out.write("\n")


def _settings(server: dict[str, str] | None) -> str:
    if not server:
        return "unreachable"
    return ", ".join(f"{k} {v}" for k, v in server.items() if k != "server_version")


def update_readme(rows: list[Row], run: dict[str, Any]) -> None:
    """Replace the last-full-run section of bench/README.md; the rest of the file is left as written."""
    m = run["machine"]
    section = "\n".join([
        BEGIN,
        f"Run {run['finished']} in {run['seconds'] / 60:.1f} min (`python -m bench`), "
        f"load from {m['load_generator']}{' (' + m['wrk'] + ')' if m.get('wrk') else ''} with "
        f"{run['sizes']['connections']} connections; load average before/after: "
        f"{run['load_average_before']} / {run['load_average_after']}; code under test: source digest "
        f"`{run['source_digest']}`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
        f"PostgreSQL {m['postgres']} ({_settings(m.get('postgres_server'))}), SQLite {m['sqlite']}; "
        f"{m['os']}.",
        "",
        markdown(rows),
        END,
    ])
    text = open(README, encoding="utf-8").read() if os.path.exists(README) else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Last full run\n\n" + section + "\n"
    with open(README, "w", encoding="utf-8") as out:
        out.write(text)
