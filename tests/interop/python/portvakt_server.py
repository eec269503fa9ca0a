"""Start and stop a real `portvakt serve` for the authlib interop tests.

Like the node tests next door: a fresh temporary data directory, an import
file, `$PORTVAKT_BIN serve --listen 127.0.0.1:0 --data DIR --import FILE`,
wait for `ready in`, SIGTERM at the end and expect exit status 0. Without a
usable PORTVAKT_BIN every test fails (errors); nothing is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, field

import pytest

STARTUP_TIMEOUT_S = 30
SHUTDOWN_TIMEOUT_S = 10


def require_binary() -> str:
    binary = os.environ.get("PORTVAKT_BIN")
    if not binary:
        raise RuntimeError(
            "PORTVAKT_BIN is not set: point it at a built portvakt binary, e.g. "
            "PORTVAKT_BIN=$CARGO_TARGET_DIR/debug/portvakt bash tests/interop/run.sh"
        )
    if not os.path.isfile(binary):
        raise RuntimeError(
            f"PORTVAKT_BIN={binary} is not a file; build it with 'cargo build -p portvakt' first"
        )
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"PORTVAKT_BIN={binary} is not executable")
    return os.path.abspath(binary)


@dataclass
class Portvakt:
    process: subprocess.Popen
    directory: str
    base: str = ""
    log: deque = field(default_factory=lambda: deque(maxlen=400))

    def issuer(self, tenant: str) -> str:
        return f"{self.base}/{tenant}"

    def output(self) -> str:
        return "\n".join(self.log)


def start_portvakt(import_document: dict, extra_args: tuple[str, ...] = ()) -> Portvakt:
    binary = require_binary()
    directory = tempfile.mkdtemp(prefix="portvakt-interop-py-")
    import_file = os.path.join(directory, "import.json")
    with open(import_file, "w", encoding="utf-8") as f:
        json.dump(import_document, f, indent=2)
    # Keep settings from the caller's environment out of the server under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTVAKT_")}
    process = subprocess.Popen(
        [binary, "serve", "--data", os.path.join(directory, "data"),
         "--listen", "127.0.0.1:0", "--import", import_file, *extra_args],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, encoding="utf-8", errors="replace",
    )
    server = Portvakt(process=process, directory=directory)
    ready = threading.Event()
    found: dict[str, str] = {}

    def pump(stream, name):
        for line in stream:
            line = line.rstrip("\n")
            server.log.append(f"[{name}] {line}")
            if name == "stdout":
                m = re.match(r"^Portvakt listening on (https?://127\.0\.0\.1:\d+)\s*$", line)
                if m:
                    found["base"] = m.group(1)
                if re.match(r"^\s*ready in \d+ ms\s*$", line):
                    ready.set()
        if name == "stdout":
            ready.set()  # exited: stop waiting

    for stream, name in ((process.stdout, "stdout"), (process.stderr, "stderr")):
        threading.Thread(target=pump, args=(stream, name), daemon=True).start()

    problem = None
    if not ready.wait(STARTUP_TIMEOUT_S):
        problem = f"portvakt did not print 'ready in' within {STARTUP_TIMEOUT_S} s"
    elif process.poll() is not None:
        problem = f"portvakt exited during start-up (status {process.returncode})"
    elif "base" not in found:
        problem = "portvakt printed 'ready in' without a 'Portvakt listening on' line first"
    if problem:
        if process.poll() is None:
            process.kill()
        process.wait(5)
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"{problem}\n--- {binary} serve output ---\n{server.output()}")
    server.base = found["base"]
    return server


def admin_token(server: Portvakt, verify: bool | str = True) -> str:
    """A bearer token for the admin API, as the CLI gets one: client credentials at the
    system tenant with the credential the server wrote to DATA/admin.json."""
    import requests  # only the tests that call the admin API need it

    with open(os.path.join(server.directory, "data", "admin.json"), encoding="utf-8") as f:
        cred = json.load(f)
    r = requests.post(f"{server.base}/system/oauth2/token", auth=(cred["clientId"], cred["clientSecret"]),
                      data={"grant_type": "client_credentials", "scope": "urn:portvakt:admin/admin"},
                      verify=verify, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def stop_portvakt(server: Portvakt) -> None:
    already = server.process.poll() is not None
    if not already:
        server.process.send_signal(signal.SIGTERM)
    try:
        status = server.process.wait(SHUTDOWN_TIMEOUT_S)
        problem = (
            f"portvakt exited before the tests finished (status {status})" if already
            else f"portvakt exited with status {status} on SIGTERM, expected 0" if status != 0
            else None
        )
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        problem = f"portvakt did not stop within {SHUTDOWN_TIMEOUT_S} s of SIGTERM"
    shutil.rmtree(server.directory, ignore_errors=True)
    if problem:
        raise RuntimeError(f"{problem}\n--- portvakt output ---\n{server.output()}")
