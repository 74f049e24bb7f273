"""The bounded load generator lives in the service package (the `pivot-reward bench` tool uses it
too); bench/ modes import it from here."""

from __future__ import annotations

from service.loadgen.load import LoadResult, Request, json_request, load, run_load

__all__ = ["LoadResult", "Request", "json_request", "load", "run_load"]
