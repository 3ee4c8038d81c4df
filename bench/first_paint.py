"""First paint of the dashboard in a real browser, on a new server and on a warm one.

Starts ``carnet ui`` on a free localhost port over the cached 10,000-run store
(10 params, 10 metrics), then opens the runs page in headless Chromium
(Debian's ``/usr/bin/chromium``, driven by Playwright) several times and prints
how long each visit took until the table's match count showed. The first
visit after the server starts is the slow one users notice.

    .venv/bin/python -m bench.first_paint [--runs 10000] [--visits 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("CARNET_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def visits(db: Path, count: int) -> list[float]:
    """Seconds from navigation to the runs table's count, one per new browser page."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    carnet = Path(sys.executable).with_name("carnet")
    server = subprocess.Popen(
        [str(carnet), "ui", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the dashboard did not start within 120 s") from None
                time.sleep(0.1)
        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for _ in range(count):
                page = browser.new_page()
                start = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/")
                page.get_by_text("matching runs").first.wait_for(timeout=60_000)
                times.append(time.perf_counter() - start)
                page.close()
            browser.close()
        return times
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--visits", type=int, default=4)
    args = parser.parse_args(argv)
    from bench.stores import run_store

    db = Path(run_store(args.runs, 10, 10)["path"])
    times = visits(db, args.visits)
    print(f"store: {args.runs:,} runs x 10 params x 10 metrics ({db.name})")
    print(f"first visit after the server started: {times[0]:.2f} s (target <= 2 s)")
    if len(times) > 1:
        print(f"later visits, median: {statistics.median(times[1:]):.2f} s")


if __name__ == "__main__":
    main()
