"""Build and run the service's image with podman, where registries are unreachable.

- `podman()` runs podman as root with runc and cgroupfs (crun fails on this kernel's cgroups).
- `ensure_base_image()` builds a stand-in for `python:3.11-slim`: Debian bookworm with Python 3.11
  from the Debian archive (debootstrap, then `podman import`), cached as a tarball and as an image.
- `build_context()` copies the repository's files into a fresh folder and links the host's torch
  wheel (from pip's find-links) into its `wheels/` folder.
- `pip_secrets()` finds the host's CA bundle (and a pip index config when pip uses an http(s)
  mirror) to pass as build secrets: they reach pip in the build, never a layer of the image.
"""

from __future__ import annotations

import configparser
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PODMAN_GLOBAL = ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
BASE_TAG = "localhost/pivot-reward-base:bookworm-py311"
DEBIAN_MIRROR = os.environ.get("PIVOT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = "python3,python3-venv,python-is-python3,ca-certificates"
# What python:3.11-slim also leaves out: package caches, docs, man pages, translations.
SLIM_PATHS = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man")


def ulimit_args() -> list[str]:
    """Limits runc may set here. podman's defaults (nofile and nproc ~1M) are above what the
    sandbox lets it set (EPERM at container start); conmon itself runs with nproc 32768."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nofile = 65536 if nofile == resource.RLIM_INFINITY else nofile
    nproc = 32768 if nproc == resource.RLIM_INFINITY else min(nproc, 32768)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    path = root / "pivot-reward" / "image"
    path.mkdir(parents=True, exist_ok=True)
    return path


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["podman", *PODMAN_GLOBAL, *args], capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"podman {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}"
        )
    return proc


def unavailable_reason() -> str | None:
    """Why podman cannot build and run images here, or None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed (`make test-image` installs it from apt: podman runc debootstrap)"
    if os.geteuid() != 0:
        return "the image test runs podman as root (rootless podman needs subuid ranges here)"
    try:
        proc = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"podman info failed: {exc}"
    if proc.returncode != 0:
        return f"podman cannot run here: {proc.stderr.strip()[-500:]}"
    return None


def container_reason(image: str) -> str | None:
    """Why a container cannot start here (cgroups, namespaces, storage), or None."""
    try:
        run = podman(
            "run",
            "--rm",
            "--network",
            "none",
            *ulimit_args(),
            image,
            "true",
            check=False,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return "podman run timed out"
    if run.returncode != 0:
        return f"podman cannot start containers here: {run.stderr.strip()[-500:]}"
    return None


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def _slim(rootfs: Path) -> None:
    for rel in SLIM_PATHS:
        target = rootfs / rel
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    locale = rootfs / "usr/share/locale"
    if locale.is_dir():
        for child in locale.iterdir():
            if child.is_dir() and child.name not in ("C.UTF-8", "C.utf8"):
                shutil.rmtree(child)


def base_rootfs_tarball(log: list[str]) -> Path:
    """Debian bookworm minbase + Python 3.11 as a tarball, built once with debootstrap."""
    tarball = cache_dir() / "bookworm-py311-rootfs.tar"
    if tarball.is_file():
        log.append(f"base rootfs: cached {tarball}")
        return tarball
    if shutil.which("debootstrap") is None:
        raise FileNotFoundError("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="pivot-rootfs-", dir=cache_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        started = time.monotonic()
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={BASE_PACKAGES}",
                "bookworm",
                str(rootfs),
                DEBIAN_MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=1800,
        )
        _slim(rootfs)
        partial = tarball.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(str(rootfs), arcname=".")
        partial.replace(tarball)
        log.append(f"base rootfs: debootstrap in {time.monotonic() - started:.0f} s -> {tarball}")
    return tarball


def ensure_base_image(log: list[str]) -> str:
    """The stand-in for python:3.11-slim (same role: Debian + Python 3.11 as `python`)."""
    if image_exists(BASE_TAG):
        log.append(f"base image: cached {BASE_TAG}")
        return BASE_TAG
    tarball = base_rootfs_tarball(log)
    podman(
        "import",
        "--change",
        "ENV LANG=C.UTF-8",
        "--change",
        'CMD ["python3"]',
        str(tarball),
        BASE_TAG,
        timeout=600,
    )
    log.append(f"base image: imported {BASE_TAG}")
    return BASE_TAG


def _pip_config() -> configparser.ConfigParser:
    """The host's merged pip configuration (what `pip config list` shows), as sections."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
    )
    config = configparser.ConfigParser()
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep or "." not in key:
            continue
        section, _, name = key.partition(".")
        section = section.strip(":")
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, name, value.strip().strip("'\""))
    return config


def torch_wheel(version: str) -> Path | None:
    """The host's on-disk torch wheel for this Python (pip's find-links folders)."""
    folders: list[str] = []
    config = _pip_config()
    for section in config.sections():
        if config.has_option(section, "find-links"):
            folders += config.get(section, "find-links").split()
    folders += os.environ.get("PIP_FIND_LINKS", "").split()
    for folder in dict.fromkeys(folders):
        path = Path(folder.removeprefix("file://"))
        if path.is_dir():
            for wheel in sorted(path.glob(f"torch-{version}*-cp311-*.whl")):
                return wheel
    return None


def pip_secrets(workdir: Path) -> dict[str, Path]:
    """Build secrets for pip in the build: the host's CA bundle, and an index config when pip
    here uses an http(s) index or mirror (file:// indexes do not exist inside the build)."""
    secrets: dict[str, Path] = {}
    config = _pip_config()
    cert = os.environ.get("PIP_CERT") or next(
        (config.get(s, "cert") for s in config.sections() if config.has_option(s, "cert")), None
    )
    for candidate in (cert, os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            secrets["pip_ca"] = Path(candidate)
            break
    index: dict[str, str] = {}
    for name in ("index-url", "extra-index-url", "trusted-host"):
        values = [
            v
            for s in config.sections()
            if config.has_option(s, name)
            for v in config.get(s, name).split()
            if not v.startswith("file:")
        ]
        env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        values += [v for v in (env or "").split() if not v.startswith("file:")]
        if values:
            index[name] = " ".join(dict.fromkeys(values))
    if index.get("index-url") or index.get("extra-index-url"):
        conf = workdir / "pip.conf"
        conf.write_text("[global]\n" + "".join(f"{k} = {v}\n" for k, v in index.items()))
        secrets["pip_conf"] = conf
    return secrets


def build_context(workdir: Path, wheel: Path | None) -> Path:
    """The repository's files (tracked and untracked, not ignored) in a fresh folder, as a clean
    clone would have them, plus the torch wheel linked into `wheels/`."""
    context = workdir / "context"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = Path(raw.decode())
        source = REPO_ROOT / rel
        if not source.is_file():
            continue  # deleted in the working tree
        target = context / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    (context / "wheels").mkdir(exist_ok=True)
    if wheel is not None:
        target = context / "wheels" / wheel.name
        try:
            os.link(wheel, target)  # same file system: no 180 MB copy
        except OSError:
            shutil.copy2(wheel, target)
    return context
