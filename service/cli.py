"""The `pivot-reward` command line: serve, prepare-models, score, bench, info."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from service import __version__
from service.settings import Settings

if TYPE_CHECKING:  # CPU worker processes import this module (as __main__): keep it light
    from service.state import ServiceState

logger = logging.getLogger("service.cli")


def _settings_or_exit() -> Settings:
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"PIVOT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        print(f"pivot-reward: invalid configuration: {problems}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service with uvicorn; SIGTERM drains gracefully."""
    from service.api.app import create_app
    from service.logs import configure_logging

    settings = _settings_or_exit()
    host = args.host or settings.host
    port = args.port or settings.port
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    config = uvicorn_config(app, settings, host, port)
    server = DrainingServer(config, app.state.pivot, settings.drain_delay_s)
    logger.info("starting", extra={"host": host, "port": port, "version": __version__})
    server.run()
    if server.load_failed:
        logger.error("exited because the models could not be loaded", extra={"exit_code": 1})
        return 1
    return 0


def uvicorn_config(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings for serving `app`."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        # uvicorn awaits this with asyncio.wait_for, so fractions of a second are honoured.
        timeout_graceful_shutdown=settings.shutdown_grace_s,  # type: ignore[arg-type]
        limit_concurrency=None,
        timeout_keep_alive=75,  # longer than typical trainer connection-pool idle times
    )


class DrainingServer(uvicorn.Server):
    """On SIGTERM/SIGINT: /readyz turns 503 first, then (after `drain_delay_s`) uvicorn stops
    accepting and finishes in-flight requests within its graceful-shutdown timeout."""

    def __init__(self, config: uvicorn.Config, state: ServiceState, drain_delay_s: float) -> None:
        super().__init__(config)
        self._state = state
        self._drain_delay_s = drain_delay_s
        self._drain_started = False
        self.load_failed = False  # set when the service stops because its models failed to load

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._state.status == "failed" and self._state.settings.exit_on_load_failure:
            self.load_failed = True
        self._state.start_draining()
        if self._drain_started or self._drain_delay_s <= 0:
            self._stop(sig)
            return
        self._drain_started = True
        logger.info("draining", extra={"delay_s": self._drain_delay_s})
        asyncio.get_event_loop().call_later(self._drain_delay_s, self._stop, sig)

    def _stop(self, sig: int) -> None:
        """uvicorn's `handle_exit` minus recording the signal: uvicorn re-raises recorded signals
        once shut down, so a clean drain would end killed by SIGTERM (status -15) instead of 0."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def cmd_prepare_models(args: argparse.Namespace) -> int:
    """Convert/validate the configured models into the cache (idempotent)."""
    from models.registry import ensure_model

    settings = _settings_or_exit()
    from service.engine.testing import HASH_ENCODER_NAME

    if settings.embedding_model == HASH_ENCODER_NAME:
        print("test-hash-encoder needs no preparation")
        return 0
    path = ensure_model(settings.embedding_model, settings.cache_dir, progress=not args.quiet)
    print(f"embedding model ready: {path}")
    if settings.embedding_backend == "openvino":
        from models.registry import ensure_openvino

        print(f"OpenVINO IR ready: {ensure_openvino(path, settings.cache_dir)}")
    if settings.translation_model is not None:
        from service.engine.translator import NllbTranslator

        NllbTranslator(settings.translation_model, device="cpu")
        print(f"translation model loads: {settings.translation_model}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score a JSONL file of rollouts offline (same pipeline as /v1/rewards)."""
    from service.offline import ScoreInputError, run_score

    settings = _settings_or_exit()
    logging.basicConfig(level=logging.WARNING)
    try:
        count = run_score(
            settings,
            args.input,
            args.output,
            preset_name=args.preset or settings.reward_preset,
            progress=not args.quiet,
        )
    except ScoreInputError as exc:
        print(f"pivot-reward score: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"pivot-reward score: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        print(f"scored {count} rollouts -> {args.output}", file=sys.stderr)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Replay a GRPO-shaped workload against a running instance; print pairs/s, p50/p99, errors."""
    from service.loadgen.tool import BenchArgumentError, format_report, run

    try:
        report = run(
            args.url,
            args.workload,
            max_requests=args.requests,
            duration_s=args.duration,
            api_key=args.api_key or os.environ.get("PIVOT_BENCH_API_KEY"),
        )
    except BenchArgumentError as exc:
        print(f"pivot-reward bench: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0 if report["requests_ok"] else 1


def cmd_info(args: argparse.Namespace) -> int:
    """Print version, settings and model availability as JSON."""
    settings = _settings_or_exit()
    info: dict[str, Any] = {
        "version": __version__,
        "settings": json.loads(settings.model_dump_json()),
    }
    if info["settings"].get("api_keys"):
        info["settings"]["api_keys"] = "***"
    try:
        from models.registry import BUILTIN_MODELS, is_prepared

        info["builtin_models"] = {
            name: {"prepared": is_prepared(name, settings.cache_dir)} for name in BUILTIN_MODELS
        }
    except ImportError:
        pass
    try:
        import torch

        info["torch"] = {"version": torch.__version__, "cuda": torch.cuda.is_available()}
    except ImportError:
        info["torch"] = None
    print(json.dumps(info, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pivot-reward", description="Reward scoring service for multilingual RL."
    )
    parser.add_argument("--version", action="version", version=f"pivot-reward {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the HTTP service (settings from PIVOT_* env vars)")
    serve.add_argument("--host", help="override PIVOT_HOST")
    serve.add_argument("--port", type=int, help="override PIVOT_PORT")
    serve.set_defaults(func=cmd_serve)
    prepare = sub.add_parser("prepare-models", help="convert and validate the configured models")
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    prepare.set_defaults(func=cmd_prepare_models)
    score = sub.add_parser(
        "score",
        help="score a JSONL file of rollouts offline (fields as /v1/rewards items: response, lang, reference, ...)",
    )
    score.add_argument("input", type=Path, help="JSONL file, one rollout per line")
    score.add_argument("-o", "--output", type=Path, help="output JSONL (default: stdout)")
    score.add_argument(
        "--preset",
        choices=["pb-rlsvr-embedding", "pb-rlsvr-translation", "pasmr", "hybrid"],
        help="recipe",
    )
    score.add_argument("--quiet", action="store_true", help="no progress bar")
    score.set_defaults(func=cmd_score)
    bench = sub.add_parser(
        "bench",
        help="replay a GRPO-shaped workload against a running instance (pairs/s, p50/p99, errors)",
    )
    bench.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the instance")
    from service.loadgen.workloads import WORKLOADS

    bench.add_argument("--workload", choices=list(WORKLOADS), default="grpo-g8")
    bench.add_argument("--requests", type=int, help="requests to send (default: the workload's)")
    bench.add_argument(
        "--duration", type=float, default=300.0, help="stop sending after this many seconds"
    )
    bench.add_argument("--api-key", help="bearer token (or PIVOT_BENCH_API_KEY)")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.set_defaults(func=cmd_bench)
    info = sub.add_parser("info", help="print version, settings and model status")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Before torch loads: idle OpenMP threads sleep instead of spinning, so the event loop and
    # tokenisation threads get the CPU between batches (bench/: 1.3-1.8x on 2 cores).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Answer extraction is pure-Python work in a thread; a shorter GIL switch interval lets the model
    # thread and the event loop in between its regexes (bench/: similarity p50 under a consistency
    # load 1.1 s -> 0.3 s).
    sys.setswitchinterval(0.0005)
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
