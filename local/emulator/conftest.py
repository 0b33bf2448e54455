"""What the emulator's test files share: starting an emulator process on a free port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Iterator

import requests

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_emulator(env: dict[str, str], drop: tuple[str, ...] = (),
                     log: IO | None = None) -> Iterator[str]:
    """An emulator (emulator.py) with `env` over this process's environment (without `drop`),
    answering on a free port of 127.0.0.1; its base URL. Stopped on exit."""
    port = free_port()
    full = {k: v for k, v in {**os.environ, **env}.items() if k not in drop}
    out = log if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, str(HERE / "emulator.py"), "-p", str(port)],
                            env=full, stdout=out,
                            stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                requests.get(f"{base}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
