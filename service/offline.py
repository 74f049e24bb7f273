"""`pivot-reward score`: score a JSONL file of rollouts offline, through the service's own pipeline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from service.api.schemas import RewardItem
from service.pipeline.rewards import RewardInput, score_items
from service.scoring.rewards import preset as get_preset
from service.settings import Settings
from service.state import ServiceState


class ScoreInputError(ValueError):
    """A line of the input file is not a valid rollout (names the line and field)."""


def read_rollouts(path: Path) -> Iterator[tuple[int, dict[str, Any], RewardInput]]:
    """(line number, original record, validated input) per non-empty line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScoreInputError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise ScoreInputError(f"{path}:{number}: each line must be a JSON object")
            fields = {k: record[k] for k in RewardItem.model_fields if k in record}
            try:
                item = RewardItem(**fields)
            except ValidationError as exc:
                problem = exc.errors()[0]
                loc = ".".join(str(p) for p in problem["loc"])
                raise ScoreInputError(f"{path}:{number}: {loc}: {problem['msg']}") from None
            yield (
                number,
                record,
                item.to_input(f"line {number}"),
            )


async def score_file(
    settings: Settings,
    source: Path,
    sink: TextIO,
    *,
    preset_name: str,
    chunk: int = 256,
    progress: bool = True,
) -> int:
    """Score every rollout of `source` and write one JSON line per input line to `sink`."""
    from tqdm import tqdm

    from service.lifecycle import close_models, load_models

    spec = get_preset(preset_name)
    rows = list(read_rollouts(source))  # validate the whole file before loading any model
    state = ServiceState(settings=settings)
    await load_models(state)
    try:
        with tqdm(total=len(rows), unit="rollout", disable=not progress, desc="scoring") as bar:
            for start in range(0, len(rows), chunk):
                part = rows[start : start + chunk]
                outputs = await score_items(state, spec, [inp for _, _, inp in part])
                for (_, record, _), out in zip(part, outputs, strict=True):
                    record = {
                        **record,
                        "reward": out.reward,
                        "reason": out.reason,
                        "components": out.components,
                        "gate": out.gate,
                        "detected_lang": out.detected_lang,
                        "answer_status": out.answer_status,
                        "lang": out.lang,
                        "lang_source": out.lang_source,
                        "truncated": out.truncated,
                        "original_chars": out.original_chars,
                        "preset": spec.name,
                    }
                    if out.translation is not None:
                        record["translation"] = out.translation
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                bar.update(len(part))
    finally:
        await close_models(state)
    return len(rows)


def run_score(
    settings: Settings, source: Path, output: Path | None, *, preset_name: str, progress: bool
) -> int:
    """Synchronous entry point for the CLI."""
    if output is None:
        import sys

        return asyncio.run(
            score_file(settings, source, sys.stdout, preset_name=preset_name, progress=progress)
        )
    tmp = output.with_name(output.name + ".partial")
    with tmp.open("w", encoding="utf-8") as sink:
        count = asyncio.run(
            score_file(settings, source, sink, preset_name=preset_name, progress=progress)
        )
    tmp.replace(output)  # never leave a half-written result under the final name
    return count
