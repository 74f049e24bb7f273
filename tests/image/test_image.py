"""The container image, built and run for real with podman.

The build uses the repository's Dockerfile on a clean copy of the repository, with a stand-in for
`python:3.11-slim` (Debian bookworm + its Python 3.11, via debootstrap; registries are unreachable
here), torch from the host's wheel folder, and pip's CA bundle as a build secret. The container runs
with a read-only root filesystem as the image's non-root user; it must become ready, score, and on
SIGTERM under load finish its in-flight requests and exit 0.

Slow (~10 min for a cold build, ~1 min cached): it runs when PIVOT_TEST_IMAGE=1, as `make test-image`
sets it, and skips (saying why) where podman cannot run.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import podman as pm
from tests.support.server import free_port

pytestmark = pytest.mark.skipif(
    os.environ.get("PIVOT_TEST_IMAGE") != "1",
    reason="builds and runs the container image (minutes): run `make test-image` "
    "(sets PIVOT_TEST_IMAGE=1)",
)

TAG = "localhost/pivot-reward:test"
TORCH_VERSION = "2.13.0"
UID = "10001"
IN_FLIGHT = 6


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory, figures: dict[str, str]) -> Iterator[str]:
    reason = pm.unavailable_reason()
    if reason:
        pytest.skip(reason)
    log: list[str] = []
    try:
        base = pm.ensure_base_image(log)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    reason = pm.container_reason(base)
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("image")
    wheel = pm.torch_wheel(TORCH_VERSION)
    context = pm.build_context(workdir, wheel)
    secrets = pm.pip_secrets(workdir)
    argv = [
        "build",
        *pm.ulimit_args(),
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        "WHEELS=wheels",
        *[a for name, path in secrets.items() for a in ("--secret", f"id={name},src={path}")],
        "-t",
        TAG,
        "-f",
        str(context / "Dockerfile"),
        str(context),
    ]
    started = time.monotonic()
    proc = pm.podman(*argv, timeout=3600, check=False)
    build_s = time.monotonic() - started
    (workdir / "build.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"podman build failed:\n{(proc.stdout + proc.stderr)[-4000:]}"
    size = int(pm.podman("image", "inspect", "--format", "{{.Size}}", TAG).stdout.strip())
    cached = proc.stdout.count("Using cache")
    figures["image build"] = (
        f"{build_s:.0f} s ({cached} cached steps), {size / 1e9:.2f} GB, base {base}, "
        f"torch from {wheel.name if wheel else 'the PyTorch index'}, "
        f"secrets {sorted(secrets)}; {'; '.join(log)}"
    )
    print("image build:", figures["image build"])
    yield TAG


def test_image_carries_no_build_secret_and_runs_as_non_root(image: str) -> None:
    info = json.loads(pm.podman("image", "inspect", image).stdout)[0]
    config = info["Config"]
    env = dict(e.split("=", 1) for e in config.get("Env", []))
    assert "PIP_CERT" not in env and "PIP_CONFIG_FILE" not in env, env
    assert config.get("User") == f"{UID}:{UID}"
    assert config.get("Cmd") == ["pivot-reward", "serve"]
    probe = pm.podman(
        "run",
        "--rm",
        "--network",
        "none",
        *pm.ulimit_args(),
        image,
        "sh",
        "-c",
        "id -u; ls -A /run/secrets 2>/dev/null | wc -l; test -e /wheels && echo wheels; "
        "python -c 'import torch; print(torch.__version__)'",
        timeout=120,
    ).stdout.split()
    assert probe[0] == UID, probe
    assert probe[1] == "0", "a build secret was left in the image"
    assert "wheels" not in probe, "the builder's wheel folder leaked into the runtime image"
    assert probe[-1].startswith(TORCH_VERSION), probe


def similarity_body(i: int) -> dict[str, Any]:
    """64 distinct pairs: enough e5 work (~1 s on 2 cores) to be in flight at SIGTERM."""
    return {
        "pairs": [
            {
                "candidate": f"Anfrage {i}.{j}: Janet verkauft {j} Eier auf dem Markt für je 2 $.",
                "reference": f"Request {i}.{j}: Janet sells {j} eggs at the market for $2 each.",
            }
            for j in range(32)
        ]
    }


def test_container_read_only_non_root_serves_and_drains_on_sigterm(
    image: str, figures: dict[str, str]
) -> None:
    port = free_port()
    name = f"pivot-reward-test-{port}"
    run = pm.podman(
        "run",
        "-d",
        "--name",
        name,
        "--read-only",  # tmpfs on /tmp, /run, /var/tmp (podman's --read-only-tmpfs default)
        "--user",
        f"{UID}:{UID}",
        *pm.ulimit_args(),
        "-p",
        f"127.0.0.1:{port}:8000",
        "-e",
        "PIVOT_DRAIN_DELAY_S=1",
        "-e",
        "PIVOT_SHUTDOWN_GRACE_S=30",
        image,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        deadline = started + 300
        while True:
            state = pm.podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            assert state == "running", (
                f"container {state}: {pm.podman('logs', name).stderr[-3000:]}"
            )
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "not ready in 300 s"
            time.sleep(0.5)
        ready_s = time.monotonic() - started

        inspect = json.loads(pm.podman("inspect", name).stdout)[0]
        assert inspect["HostConfig"]["ReadonlyRootfs"] is True
        assert pm.podman("exec", name, "id", "-u").stdout.strip() == UID
        write = pm.podman("exec", name, "sh", "-c", "touch /opt/venv/x", check=False)
        assert write.returncode != 0 and "Read-only file system" in write.stderr, write

        # Scores, with the e5 model prepared into the image at build time.
        scored = httpx.post(
            f"{base}/v1/similarity",
            json={
                "pairs": [
                    {
                        "candidate": "Janet verkauft 9 Eier für je 2 $, also verdient sie 18 $.",
                        "reference": "Janet sells 9 eggs at $2 each, so she makes $18.",
                    },
                    {
                        "candidate": "El vestido necesita 3 rollos de lana.",
                        "reference": "Janet sells 9 eggs at $2 each, so she makes $18.",
                    },
                ]
            },
            timeout=60,
        )
        assert scored.status_code == 200, scored.text
        translation, unrelated = (r["score"] for r in scored.json()["results"])
        assert translation > 0.7 and unrelated < 0.3, scored.text
        # CPU-bound rules run in worker processes, inside the read-only container too.
        consistency = httpx.post(
            f"{base}/v1/answer-consistency",
            json={
                "items": [
                    {"target_response": "উত্তর: ১৬", "pivot_answer": "16", "lang": "bn"},
                    {
                        "target_response": "Die Antwort lautet 17.",
                        "pivot_answer": "16",
                        "lang": "de",
                    },
                ]
            },
            timeout=60,
        )
        assert consistency.status_code == 200, consistency.text
        assert [r["status"] for r in consistency.json()["results"]] == ["match", "mismatch"]

        # SIGTERM under load: requests in flight complete, the process exits 0.
        responses: dict[int, httpx.Response | BaseException] = {}

        def call(i: int) -> None:
            try:
                responses[i] = httpx.post(
                    f"{base}/v1/similarity", json=similarity_body(i), timeout=120
                )
            except BaseException as exc:  # recorded and asserted below
                responses[i] = exc

        threads = [threading.Thread(target=call, args=(i,)) for i in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # all sent; 6 x 64 texts take several seconds on 2 cores
        assert len(responses) < IN_FLIGHT, "the load finished before SIGTERM"
        in_flight = IN_FLIGHT - len(responses)
        sigterm_at = time.monotonic()
        pm.podman("kill", "--signal", "TERM", name)
        late = None
        while time.monotonic() - sigterm_at < 0.9:
            try:
                late = httpx.post(f"{base}/v1/similarity", json=similarity_body(99), timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        for thread in threads:
            thread.join(120)
        code = pm.podman("wait", name, timeout=120).stdout.strip()
        drained_s = time.monotonic() - sigterm_at
        failures = {
            i: (r if isinstance(r, BaseException) else f"{r.status_code} {r.text[:200]}")
            for i, r in responses.items()
            if isinstance(r, BaseException) or r.status_code != 200
        }
        assert not failures, failures
        for i in range(IN_FLIGHT):
            response = responses[i]
            assert isinstance(response, httpx.Response)
            results = response.json()["results"]
            assert len(results) == 32 and all(r["score"] > 0.5 for r in results), results[:2]
        if late is not None:  # sent during the drain delay: refused as not ready, not queued
            assert late.status_code == 503 and late.json()["error"]["type"] == "not_ready"
            assert late.headers.get("retry-after")
        logs = pm.podman("logs", name).stderr + pm.podman("logs", name).stdout
        assert code == "0", f"exit code {code}; log tail:\n{logs[-3000:]}"
        figures["image run"] = (
            f"ready in {ready_s:.0f} s (read-only root, uid {UID}); SIGTERM with {in_flight} "
            f"requests in flight: all {IN_FLIGHT} answered 200, "
            f"{'late request 503 not_ready, ' if late is not None else ''}exit {code} after "
            f"{drained_s:.1f} s"
        )
        print("image run:", figures["image run"])
    finally:
        pm.podman("rm", "-f", "-t", "0", name, check=False)
