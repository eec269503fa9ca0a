"""Fuzzing: PyPI ``schemathesis`` against the admin API's own OpenAPI document
(``/admin/v1/openapi.json``) on a real Portvakt binary, with every check and every
phase (examples, coverage, fuzzing, stateful): no 5xx, every status listed, every
response body and header as documented, schema-valid requests accepted and
schema-invalid ones refused, created objects found at their links, 401 without the
token, 405 with ``Allow`` for methods a path does not take.

Deterministic (``--generation-deterministic``, no example database, one worker) and
bounded (``--max-examples``), so CI runs the same cases every time: about 3,000 cases
over the 39 operations in about 30 s. ``schemathesis.toml`` next door has the test
data (names that exist in the tenant imported below) and, with the reason for each,
the operations where one check (positive_data_acceptance) cannot apply.
``PV_SCHEMATHESIS_MAX_EXAMPLES`` (default 30) and ``PV_SCHEMATHESIS_TIMEOUT`` (seconds,
default 110) make a longer run by hand.

Run through ../run.sh (PORTVAKT_BIN). Without a binary the test fails; nothing is skipped.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
import time

import pytest
import requests

from portvakt_server import admin_token, start_portvakt, stop_portvakt

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIG = os.path.join(HERE, "schemathesis.toml")
# Cases per operation and phase: enough to reach every documented status, small
# enough for well under a minute on two cores.
MAX_EXAMPLES = int(os.environ.get("PV_SCHEMATHESIS_MAX_EXAMPLES", "30"))
# A hard stop for a run that hangs (it normally ends by itself much sooner).
TIMEOUT_S = int(os.environ.get("PV_SCHEMATHESIS_TIMEOUT", "110"))


def import_document() -> dict:
    # The tenant the dictionaries in schemathesis.toml name: a resource with a
    # scope, an application, a user, a group, a named location and a policy, so that
    # operations on existing objects get past the 404.
    return {"tenants": [{
        "name": "contoso", "displayName": "Contoso (schemathesis)",
        "groups": [{"id": "staff", "displayName": "Staff"}],
        "users": [{"userPrincipalName": "ada@contoso.example", "displayName": "Ada Lovelace",
                   "password": secrets.token_urlsafe(18), "groups": ["Staff"]}],
        "resources": [{"identifier": "api://analytics", "displayName": "Analytics API",
                       "scopes": ["Reports.Read"]}],
        "applications": [{"clientId": "daemon", "displayName": "Daemon",
                          "clientSecret": secrets.token_urlsafe(24),
                          "grantTypes": ["client_credentials"],
                          "allowedScopes": ["api://analytics/.default"]}],
        "namedLocations": [{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "office",
                            "displayName": "Office", "isTrusted": True,
                            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
                                          "cidrAddress": "192.0.2.0/24"}]}],
        "conditionalAccessPolicies": [{
            "id": "require-mfa", "displayName": "Require MFA for the daemon", "state": "disabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["daemon"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        }],
    }]}


@pytest.fixture(scope="module")
def portvakt():
    server = start_portvakt(import_document())
    yield server
    stop_portvakt(server)


def schemathesis_command(base: str, token: str) -> list[str]:
    return [
        sys.executable, "-m", "schemathesis.cli", "--config-file", CONFIG, "--no-color",
        "run", f"{base}/admin/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        # Every check: schemathesis runs all of them unless told otherwise, and
        # schemathesis.toml turns off one of them for the operations it names (with
        # why); "--checks all" here would override that per-operation setting.
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",  # implies no example database
        # One worker: the stateful phase and the 404/409 answers depend on what
        # earlier cases created, so the order must be the same on every run.
        "--workers", "1",
        "--request-timeout", "10",
        # A failure is listed once with its reproduction; the run goes on to the rest.
        "--continue-on-failure",
    ]


def test_admin_api_matches_its_openapi_document(portvakt):
    token = admin_token(portvakt)
    # Settings from the caller's environment stay out of the run (the config file is
    # the one next door).
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="portvakt-schemathesis-") as workdir:
        try:
            run = subprocess.run(
                schemathesis_command(portvakt.base, token),
                cwd=workdir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                text=True, encoding="utf-8", errors="replace", timeout=TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"schemathesis did not finish within {TIMEOUT_S} s\n{e.stdout or ''}\n{e.stderr or ''}")
    took = time.monotonic() - started
    output = f"{run.stdout}\n{run.stderr}"
    # The summary (operations, phases, cases) for the log, with how long it took.
    summary = run.stdout[run.stdout.rfind("SUMMARY"):] if "SUMMARY" in run.stdout else run.stdout[-3000:]
    print(f"schemathesis ran {took:.1f} s\n{summary}")
    assert run.returncode == 0, (
        f"schemathesis found problems (exit status {run.returncode}):\n{output}\n"
        f"--- portvakt output ---\n{portvakt.output()}"
    )
    # Guard against a run that passes because it tested nothing: every operation of
    # the document tested, in every phase that has cases, thousands of cases.
    document = requests.get(f"{portvakt.base}/admin/v1/openapi.json", timeout=10).json()
    operations = sum(len(item) for item in document["paths"].values())
    tested = re.search(r"^\s*Tested: (\d+)\s*$", run.stdout, re.M)
    assert tested and int(tested.group(1)) == operations, output
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"^\s*\S+\s+{phase}\s*$", run.stdout, re.M), f"no {phase} phase\n{output}"
    cases = re.search(r"^\s*(\d+) generated, (\d+) passed", run.stdout, re.M)
    assert cases and int(cases.group(1)) >= 1000, output
