"""Closed-loop HTTP load from separate processes: wrk when installed, else Python workers with http.client.

A `Script` is the ordered list of requests a window may send; connection k of n sends items
start+k, start+k+n, … so requests that must be unique (a fresh lot per seizure) stay unique across
processes, and `Window.used` tells the caller where the next window should start. Every process keeps
one connection and sends the next request as soon as the last answer is read.
"""
from __future__ import annotations

import http.client
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Item = tuple[str, str, bytes | None]  # method, path, body


@dataclass
class Script:
    name: str
    items: list[Item]
    headers: dict[str, str]
    _file: str | None = None

    def items_file(self, work: str) -> str:
        """The items as wrk's Lua script reads them: method, path and body separated by tabs."""
        if self._file is None:
            self._file = os.path.join(work, f"items-{self.name}-{id(self)}.tsv")
            with open(self._file, "wb") as out:
                for method, path, body in self.items:
                    out.write(f"{method}\t{path}\t".encode() + (body or b"") + b"\n")
        return self._file


@dataclass
class Window:
    """What one load window measured."""

    generator: str
    connections: int
    seconds: float
    requests: int  # answered within the window
    errors: int  # answered with a status >= 400, or failed
    p50_ms: float
    p99_ms: float
    used: int  # the next unused item position after this window
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    latencies_ms: list[float] | None = None
    # CPU time per answered request, set by bench.figures: the whole machine's (server, database, load
    # generator: what a saturated machine divides among requests) and the server workers' own.
    machine_cpu_ms: float | None = None
    worker_cpu_ms: float | None = None

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {"generator": self.generator, "connections": self.connections,
                "seconds": round(self.seconds, 2), "requests": self.requests, "errors": self.errors,
                "rate": round(self.rate, 1),
                "p50_ms": round(self.p50_ms, 2), "p99_ms": round(self.p99_ms, 2),
                "statuses": self.statuses, "first_error": self.first_error,
                "machine_cpu_ms": _rounded(self.machine_cpu_ms), "worker_cpu_ms": _rounded(self.worker_cpu_ms)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def wrk_path() -> str | None:
    return shutil.which("wrk")


def auto_generator() -> str:
    """wrk when installed, else the Python load generator."""
    return "wrk" if wrk_path() else "python"


def run(base: str, script: Script, *, seconds: float, connections: int, start: int = 0,
        generator: str = "python", work: str = ".", request_id: str | None = None) -> Window:
    """Drive `script` against `base` (http://host:port) for `seconds` with `connections` closed loops."""
    if generator == "wrk":
        return _run_wrk(base, script, seconds, connections, start, work)
    return _run_python(base, script, seconds, connections, start, request_id)


# -- Python workers ------------------------------------------------------------------------------------------
def _worker(host: str, port: int, script: Script, first: int, stride: int, begin: float, end: float,
            request_id: str | None, out: Any) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=120)
    latencies, statuses, first_error, sent = array("d"), Counter(), None, 0
    items, count = script.items, len(script.items)
    while time.perf_counter() < begin:
        time.sleep(0.001)
    while time.perf_counter() < end:
        index = first + sent * stride
        sent += 1
        method, path, body = items[index % count]
        headers = (script.headers if request_id is None
                   else {**script.headers, "X-Request-Id": f"{request_id}-{index}"})
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            status, data = 599, repr(error).encode()
        t1 = time.perf_counter()
        if t1 > end:
            break  # answered after the window: not counted
        latencies.append((t1 - t0) * 1000)
        statuses[status] += 1
        if status >= 400 and first_error is None:
            first_error = f"{status} {method} {path}: {data[:300].decode(errors='replace')}"
    conn.close()
    out.send((latencies.tobytes(), dict(statuses), sent, first_error))
    out.close()


def _run_python(base: str, script: Script, seconds: float, connections: int, start: int,
                request_id: str | None) -> Window:
    host, port = base.split("//", 1)[1].rsplit(":", 1)
    context = multiprocessing.get_context("fork")  # workers need only the script: no re-import, no pickling
    begin = time.perf_counter() + 0.3
    end = begin + seconds
    pipes, processes = [], []
    for k in range(connections):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_worker, daemon=True, args=(
            host, int(port), script, start + k, connections, begin, end, request_id, send))
        process.start()
        send.close()
        pipes.append(receive)
        processes.append(process)
    latencies: list[float] = []
    statuses: Counter = Counter()
    used, first_error = start, None
    for k, receive in enumerate(pipes):
        raw, counts, sent, error = receive.recv()
        samples = array("d")
        samples.frombytes(raw)
        latencies.extend(samples)
        statuses.update(counts)
        if sent:
            used = max(used, start + k + (sent - 1) * connections + 1)
        first_error = first_error or error
    for process in processes:
        process.join()
    errors = sum(n for s, n in statuses.items() if s >= 400)
    return Window("python", connections, seconds, len(latencies), errors, percentile(latencies, 50),
                  percentile(latencies, 99), used, {str(k): v for k, v in sorted(statuses.items())},
                  first_error, latencies)


# -- wrk -----------------------------------------------------------------------------------------------------
WRK_SCRIPT = r"""
-- Each wrk thread sends items start+tid, start+tid+n, ... of the items file (n = number of threads).
local threads, next_tid = {}, 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end
local items, count, start, stride = {}, 0, 0, 1
counter = 0
first_error = ""
function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if body == "" then body = nil end
    count = count + 1
    items[count] = {method, path, body}
  end
  start, stride = tonumber(args[2]), tonumber(args[3])
end
function request()
  local index = start + tid + counter * stride
  counter = counter + 1
  local item = items[(index % count) + 1]
  return wrk.format(item[1], item[2], nil, item[3])
end
function response(status, headers, body)
  if status >= 400 and first_error == "" then
    first_error = status .. " " .. string.sub(body or "", 1, 300)
  end
end
function done(summary, latency, requests)
  local sent = {}
  for _, t in ipairs(threads) do
    table.insert(sent, string.format("[%d,%d]", t:get("tid"), t:get("counter")))
    local e = t:get("first_error")
    if e ~= "" then io.write("BENCHERR " .. e:gsub("\n", " ") .. "\n") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,'
    .. '"p50_us":%.1f,"p99_us":%.1f,"sent":[%s]}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(sent, ",")))
end
"""


def _run_wrk(base: str, script: Script, seconds: float, connections: int, start: int, work: str) -> Window:
    lua = os.path.join(work, "bench.lua")
    if not os.path.exists(lua):
        with open(lua, "w") as out:
            out.write(WRK_SCRIPT)
    threads = min(connections, os.cpu_count() or 1)
    command = [wrk_path() or "wrk", "-t", str(threads), "-c", str(connections),
               "-d", f"{max(1, round(seconds))}s", "--timeout", "120s", "-s", lua]
    for name, value in script.headers.items():
        command += ["-H", f"{name}: {value}"]
    command += [base, "--", script.items_file(work), str(start), str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, start_new_session=True)
    lines = done.stdout.splitlines()
    found = [json.loads(line[10:]) for line in lines if line.startswith("BENCHJSON ")]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    result = found[0]
    first_error = next((line[9:] for line in lines if line.startswith("BENCHERR ")), None)
    socket_errors = result["connect"] + result["read"] + result["write"] + result["timeout"]
    used = max([start] + [start + tid + (sent - 1) * threads + 1 for tid, sent in result["sent"] if sent])
    statuses = {"non-2xx": result["status"], "socket": socket_errors}
    return Window("wrk", connections, result["duration_us"] / 1e6, result["requests"],
                  result["status"] + result["timeout"], result["p50_us"] / 1000, result["p99_us"] / 1000,
                  used, statuses, first_error)
