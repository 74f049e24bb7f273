#!/usr/bin/env bash
# OpenRLHF (tested: 0.11.2) GRPO/REINFORCE++ with rewards from pivot-reward.
#
# Start the service first (`make serve`, or several replicas), then run this on the Ray head.
# The dataset is JSONL with a prompt column and a label column; the label may be the English
# reference response (text), the gold answer (a number), or an object
# {"reference": "...", "pivot_answer": "18", "lang": "de"}.
#
#   PIVOT_URLS     comma-separated /get_reward URLs of the replicas (default: one local)
#   PIVOT_KEY      API key, if the service has PIVOT_API_KEYS set: sent in the URL's user-info
#                  (http://KEY:@host:port/get_reward), which OpenRLHF's HTTP client sends as Basic
#   REWARD_FILE=1  use the client's reward file instead of the HTTP route (failover, bearer key,
#                  retries; needs `pip install ./client` on the rollout workers)
#   PRINT_ONLY=1   print the command instead of running it (tests/trainers checks it)
set -euo pipefail

MODEL=${MODEL:-Qwen/Qwen2.5-0.5B-Instruct}
DATA=${DATA:-mgsm_de_train.jsonl}
PIVOT_URLS=${PIVOT_URLS:-http://127.0.0.1:8000/get_reward}

if [[ -n "${PIVOT_KEY:-}" ]]; then
  PIVOT_URLS=$(echo "$PIVOT_URLS" | sed -E "s#(https?://)#\1${PIVOT_KEY}:@#g")
fi
REMOTE=$PIVOT_URLS
if [[ "${REWARD_FILE:-0}" == "1" ]]; then
  REMOTE=$(python -m pivot_reward_client path openrlhf)  # reads PIVOT_REWARD_URL, PIVOT_API_KEY
fi

ARGS=(
  --actor.model_name_or_path "$MODEL"
  --data.prompt_dataset "$DATA"
  --data.input_key question
  --data.label_key label
  --data.apply_chat_template
  --reward.remote_url "$REMOTE"
)

if [[ "${PRINT_ONLY:-0}" == "1" ]]; then
  printf '%s\n' "${ARGS[@]}"
  exit 0
fi
exec python -m openrlhf.cli.train_ppo_ray "${ARGS[@]}" "$@"
