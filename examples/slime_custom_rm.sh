#!/usr/bin/env bash
# slime (THUDM/slime) with rewards from pivot-reward: its custom reward hook.
#
# `pip install ./client` into slime's environment and start the service (`make serve`). slime
# imports `--custom-rm-path` and awaits it per sample, or per group with `--group-rm` (one request
# per group). `--rm-url` is the service's base URL (or set PIVOT_REWARD_URL). The dataset's label
# column (`--label-key`) is read as OpenRLHF labels are: reference text, gold number, or object.
#
# Without our client in slime's environment: `--rm-type remote_rm --rm-url "$PIVOT_URL/slime/reward"`
# (one request per sample, the reward only, null rewards as 0.0).
#
#   PRINT_ONLY=1  print the reward arguments instead of running (tests/trainers checks them)
set -euo pipefail

PIVOT_URL=${PIVOT_URL:-http://127.0.0.1:8000}

REWARD_ARGS=(
  --custom-rm-path pivot_reward_client.slime.reward_func
  --group-rm
  --rm-url "$PIVOT_URL"
  --label-key label
)

if [[ "${PRINT_ONLY:-0}" == "1" ]]; then
  printf '%s\n' "${REWARD_ARGS[@]}"
  exit 0
fi
# Add your model, data and parallelism arguments (see slime's examples) after the reward ones.
exec python "${SLIME_DIR:?set SLIME_DIR to a slime checkout}/train.py" "${REWARD_ARGS[@]}" "$@"
