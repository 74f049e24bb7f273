#!/usr/bin/env bash
# verl (tested: 0.9.1) GRPO with rewards from pivot-reward, through verl's reward loop.
#
# `pip install ./client` into verl's environment, start the service (`make serve`), then run this.
# Each row's `reward_model.ground_truth` is a label: the gold answer ("18" or 18), an English
# reference solution (text), or a JSON object {"reference", "pivot_answer", "lang"};
# `extra_info.lang` gives the target language.
#
#   PIVOT_URL     base URL(s) of the service, comma-separated for several replicas
#   PIVOT_PRESET  hybrid (default), pasmr, pb-rlsvr-embedding, pb-rlsvr-translation
#   PRINT_ONLY=1  print the overrides instead of running (tests/trainers composes verl's own
#                 config with them and runs its reward loop)
set -euo pipefail

MODEL=${MODEL:-Qwen/Qwen2.5-0.5B-Instruct}
PIVOT_URL=${PIVOT_URL:-http://127.0.0.1:8000}
PIVOT_PRESET=${PIVOT_PRESET:-hybrid}

OVERRIDES=(
  algorithm.adv_estimator=grpo
  data.train_files="${TRAIN_FILES:-mgsm_de_train.parquet}"
  data.val_files="${VAL_FILES:-mgsm_de_test.parquet}"
  actor_rollout_ref.model.path="$MODEL"
  actor_rollout_ref.rollout.n=8
  # The reward: the client's adapter, loaded by verl from the installed package
  reward.custom_reward_function.path=pkg://pivot_reward_client.verl
  reward.custom_reward_function.name=compute_score_async
  +reward.custom_reward_function.reward_kwargs.url="$PIVOT_URL"
  +reward.custom_reward_function.reward_kwargs.preset="$PIVOT_PRESET"
  +reward.custom_reward_function.reward_kwargs.timeout=60
  +reward.custom_reward_function.reward_kwargs.max_in_flight=64
)

if [[ "${PRINT_ONLY:-0}" == "1" ]]; then
  printf '%s\n' "${OVERRIDES[@]}"
  exit 0
fi
exec python -m verl.trainer.main_ppo "${OVERRIDES[@]}" "$@"
