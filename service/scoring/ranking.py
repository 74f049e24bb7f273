"""Best-of-L by cross-lingual agreement (pure logic).

Without a trained cross-lingual reward model, a candidate is scored by how much the other candidates
(in other languages) agree with it:

    score_i = w_answer * answer_support_i + w_semantic * semantic_support_i + w_reference * reference_i

- `answer_support_i`: the share of the other candidates whose final answer equals candidate i's,
  each vote weighted by its semantic agreement with i (a candidate that reaches the same number by a
  different argument counts less). 0 when candidate i has no final answer.
- `semantic_support_i`: mean calibrated similarity of i to the other candidates.
- `reference_i`: calibrated similarity to the English reference, when one is given (its weight is
  otherwise spread over the other two terms).

Languages make complementary mistakes, so a final answer that several languages reach is more
likely right than any one language's. Ties go to the lower index, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.scoring.answers import answers_equal


@dataclass(frozen=True)
class RankWeights:
    answer: float = 0.6
    semantic: float = 0.25
    reference: float = 0.15


@dataclass(frozen=True)
class RankedCandidate:
    score: float
    answer: str | None
    answer_support: float
    semantic_support: float
    reference_similarity: float | None


def rank_by_agreement(
    answers: Sequence[str | None],
    similarity: np.ndarray,
    reference_similarity: np.ndarray | None = None,
    weights: RankWeights = RankWeights(),
) -> tuple[list[RankedCandidate], int]:
    """Scores per candidate and the best index, from final answers and a calibrated similarity matrix."""
    n = len(answers)
    if similarity.shape != (n, n):
        raise ValueError(f"similarity must be {n}x{n}, got {similarity.shape}")
    w_answer, w_semantic, w_reference = weights.answer, weights.semantic, weights.reference
    if reference_similarity is None:
        spread = w_reference / max(w_answer + w_semantic, 1e-12)
        w_answer, w_semantic, w_reference = w_answer * (1 + spread), w_semantic * (1 + spread), 0.0
    ranked: list[RankedCandidate] = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        if others:
            semantic_support = float(np.mean([similarity[i, j] for j in others]))
            vote_weights = np.array([max(float(similarity[i, j]), 0.05) for j in others])
            agree = np.array(
                [
                    1.0
                    if answers[i] is not None
                    and answers[j] is not None
                    and answers_equal(answers[i] or "", answers[j] or "")
                    else 0.0
                    for j in others
                ]
            )
            answer_support = float((vote_weights * agree).sum() / vote_weights.sum())
        else:
            semantic_support, answer_support = 1.0, 1.0 if answers[i] is not None else 0.0
        reference = float(reference_similarity[i]) if reference_similarity is not None else None
        score = (
            w_answer * answer_support
            + w_semantic * semantic_support
            + w_reference * (reference or 0.0)
        )
        ranked.append(
            RankedCandidate(
                round(score, 6),
                answers[i],
                round(answer_support, 6),
                round(semantic_support, 6),
                None if reference is None else round(reference, 6),
            )
        )
    best = max(range(n), key=lambda i: (ranked[i].score, -i))
    return ranked, best
