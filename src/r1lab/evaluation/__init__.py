"""Evaluation with DeepSeek-R1's protocol: pass@1 over several samples, pass@k, cons@n, reports.

``evaluate(EvalConfig(...))`` samples each benchmark through ``r1lab.generation`` and grades it
with ``r1lab.grading``; metrics live in ``r1lab.evaluation.metrics``, published R1-Distill
scores in ``r1lab.evaluation.published``, the cross-run table in ``r1lab.evaluation.leaderboard``.
"""

from r1lab.evaluation.config import DEFAULT_SAMPLES, EvalConfig
from r1lab.evaluation.metrics import cons_at_n, pass_at_k, standard_error
from r1lab.evaluation.runner import evaluate

__all__ = ["DEFAULT_SAMPLES", "EvalConfig", "cons_at_n", "evaluate", "pass_at_k", "standard_error"]
