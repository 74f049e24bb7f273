"""OpenRLHF's default data shape against the real e5 model: the label is the English reference
response (plain text), the prompt and response are in the target language, one sample per request
(sent with python-requests, as OpenRLHF does). Data: MGSM's parallel step-by-step exemplars."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import requests

from tests.conftest import MGSM_DIR
from tests.e2e.conftest import MGSM_LANGS

pytestmark = [pytest.mark.e2e, pytest.mark.data]

EXEMPLARS = MGSM_DIR / "exemplars.json"


@pytest.fixture(scope="module")
def exemplars() -> dict[str, dict[str, dict[str, str]]]:
    if not EXEMPLARS.is_file():
        pytest.skip(f"MGSM exemplars not found at {EXEMPLARS} (they live in ../shared)")
    data: dict[str, dict[str, dict[str, str]]] = json.loads(EXEMPLARS.read_text("utf-8"))[
        "exemplars"
    ]
    return data


def get_reward(base: str, prompt: str, response: str, label: Any) -> dict[str, float]:
    body = {"query": [prompt + " " + response], "prompts": [prompt], "labels": [label]}
    answer = requests.post(f"{base}/get_reward", json=body, timeout=180)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    return {"reward": data["rewards"][0], **{k: v[0] for k, v in data["extra_logs"].items()}}


def test_plain_text_reference_labels_are_scored_in_every_language(
    real_server: str, exemplars: dict[str, dict[str, dict[str, str]]]
) -> None:
    english = exemplars["en"]
    keys = sorted(english, key=int)
    jobs = []
    for lang in MGSM_LANGS:
        for i, key in enumerate(keys):
            prompt = exemplars[lang][key]["q"]
            response = exemplars[lang][key]["a"]
            wrong_label = english[keys[(i + 1) % len(keys)]]["a"]  # another problem's reference
            jobs.append((lang, prompt, response, english[key]["a"], wrong_label))

    def run(job: tuple[str, str, str, str, str]) -> tuple[str, dict, dict]:
        lang, prompt, response, label, wrong = job
        return (
            lang,
            get_reward(real_server, prompt, response, label),
            get_reward(real_server, prompt, response, wrong),
        )

    with ThreadPoolExecutor(16) as pool:  # OpenRLHF sends many one-sample requests at once
        results = list(pool.map(run, jobs))
    right = [r for _, r, _ in results]
    wrong = [w for _, _, w in results]
    assert all(r["excluded"] == 0.0 and r["lang_guessed"] == 1.0 for r in right + wrong)
    matched = np.mean([r["answer"] == 1.0 for r in right])
    better = np.mean([r["reward"] > w["reward"] for r, w in zip(right, wrong)])
    per_lang = {
        lang: round(float(np.mean([r["reward"] for la, r, _ in results if la == lang])), 3)
        for lang in MGSM_LANGS
    }
    print(
        f"\nOpenRLHF plain-text labels, {len(right)} samples: answers matched {matched:.1%}, "
        f"right reference beats another problem's {better:.1%}; mean reward {per_lang}"
    )
    assert matched >= 0.95
    assert better >= 0.95
    assert min(per_lang.values()) > 0.3


def test_a_150k_character_rollout_is_scored_beside_normal_ones(
    real_server: str, exemplars: dict[str, dict[str, dict[str, str]]]
) -> None:
    german, english = exemplars["de"]["1"], exemplars["en"]["1"]
    steps = " ".join(
        f"Schritt {i}: {i} Bälle plus {i} Bälle sind {2 * i} Bälle." for i in range(3500)
    )
    long_response = f"{steps} {german['a']}"
    assert len(long_response) > 150_000
    body = {
        "query": [german["q"] + " " + r for r in (german["a"], long_response, german["a"])],
        "prompts": [german["q"]] * 3,
        "labels": [english["a"]] * 3,
    }
    answer = requests.post(f"{real_server}/get_reward", json=body, timeout=180)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["extra_logs"]["truncated"] == [0.0, 1.0, 0.0]
    assert data["extra_logs"]["excluded"] == [0.0, 0.0, 0.0]
    assert data["extra_logs"]["answer"] == [1.0, 1.0, 1.0]  # the cut kept the final answer
    alone = get_reward(real_server, german["q"], german["a"], english["a"])["reward"]
    assert data["rewards"][0] == data["rewards"][2] == pytest.approx(alone, abs=1e-5)
