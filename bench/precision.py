"""Reduced-precision variants of the embedding model, for the int8 mode's accuracy/speed table.

* ``int8-dynamic``: torch dynamic quantisation of every nn.Linear (qint8 weights, per tensor),
  what `PIVOT_EMBEDDING_QUANTIZE=int8` does;
* ``int8-dynamic-per-channel``: the same with per-channel weight scales;
* ``bf16-autocast``: `torch.autocast("cpu", torch.bfloat16)` around the forward pass;
* ``bf16-ffn``: only the feed-forward linears (intermediate and output dense) in bf16, with fp32
  inputs and outputs; attention projections, LayerNorm and pooling stay fp32.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any

VARIANTS = ("int8-dynamic", "int8-dynamic-per-channel", "bf16-autocast", "bf16-ffn")


class _Bf16Linear:
    """Built lazily (torch imported on use)."""

    @staticmethod
    def make(linear: Any) -> Any:
        import torch

        class Bf16Linear(torch.nn.Module):
            def __init__(self, lin: torch.nn.Linear) -> None:
                super().__init__()
                self.register_buffer("weight", lin.weight.detach().to(torch.bfloat16))
                self.register_buffer(
                    "bias", None if lin.bias is None else lin.bias.detach().clone()
                )

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                y = torch.nn.functional.linear(x.to(torch.bfloat16), self.weight).float()
                return y + self.bias if self.bias is not None else y

        return Bf16Linear(linear)


def _replace_linears(model: Any, keep: Callable[[str], bool]) -> Any:
    import torch

    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, torch.nn.Linear) and keep(full):
                setattr(module, child_name, _Bf16Linear.make(child))
    return model


def _is_ffn(name: str) -> bool:
    return "intermediate.dense" in name or (
        name.endswith("output.dense") and "attention" not in name
    )


def build(
    model: Any, variant: str
) -> tuple[Any, Callable[[], contextlib.AbstractContextManager[Any]]]:
    """(model copy, context manager factory to run its forward passes in)."""
    import torch

    def nothing() -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    if variant == "bf16-autocast":

        @contextlib.contextmanager
        def autocast() -> Iterator[None]:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                yield

        return model, autocast
    clone = copy.deepcopy(model)
    if variant == "int8-dynamic":
        torch.ao.quantization.quantize_dynamic(
            clone, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
        )
    elif variant == "int8-dynamic-per-channel":
        from torch.ao.quantization import per_channel_dynamic_qconfig

        torch.ao.quantization.quantize_dynamic(
            clone, {torch.nn.Linear: per_channel_dynamic_qconfig}, inplace=True
        )
    elif variant == "bf16-ffn":
        _replace_linears(clone, _is_ffn)
    else:
        raise ValueError(f"unknown precision variant {variant!r}")
    return clone, nothing
