"""How full the KV cache will get: the forecast ``--max-concurrent auto`` admits requests by.

Why a forecast: a request admitted now holds only its prompt, but it will grow one token per decode
step until it finishes. With R1-like completions (thousands of tokens) the cache's usage today says
almost nothing about its usage a few hundred steps from now: a gate that admits while today's usage
is under a target admits a cohort of young requests that later outgrows the cache together, and
every preemption then recomputes a long context (1.3-1.6x the best fixed window's makespan on the
simulator with prefill at a tenth of a decode step per token).

The forecast prices that growth. From the completions seen so far (finished lengths) and the
requests still running (each known to have generated at least its age in decode steps, a censored
observation) a Kaplan-Meier estimate gives the survival S(t) of completion lengths; beyond the
longest observation the tail falls like 1/t (a request that has run long tends to run on) and ends
at ``max_tokens``. A request of age ``a`` is still running ``t`` steps from now with probability
S(a + t) / S(a), and then holds ``prompt + a + t`` tokens. The expected usage ``t`` steps ahead,
plus ``z`` standard deviations (requests finish independently), maximised over ``t``, is the peak
the running requests are heading for; new requests are admitted while that peak, with them in it,
stays under the target share of the cache.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

#: Future decode steps the peak is searched over (as fractions of the longest horizon).
HORIZON_POINTS = 48


class LengthSurvival:
    """Kaplan-Meier survival of completion lengths (decode steps), with a 1/t tail to ``cap``."""

    def __init__(self, finished: Sequence[float], running_ages: Sequence[float], cap: float) -> None:
        self.cap = float(cap)
        events = np.sort(np.minimum(np.asarray(finished, dtype=float), self.cap))
        censored = np.sort(np.minimum(np.asarray(running_ages, dtype=float), self.cap))
        times = np.unique(events)
        # at risk at time t: every observation (finished or running) that reached t
        at_risk = (len(events) - np.searchsorted(events, times, side="left")) + (
            len(censored) - np.searchsorted(censored, times, side="left")
        )
        deaths = np.searchsorted(events, times, side="right") - np.searchsorted(events, times, side="left")
        self.times = times
        self.survival = np.cumprod(1.0 - deaths / np.maximum(at_risk, 1))
        longest = max(events[-1] if len(events) else 0.0, censored[-1] if len(censored) else 0.0)
        self.tail_start = max(1.0, longest)
        self.tail_level = float(self.survival[-1]) if len(times) else 1.0
        # with no request finished yet nothing says the tail falls: any may run to ``cap``
        self.tail_decays = len(events) > 0

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """P(length > t), for an array of t."""
        t = np.asarray(t, dtype=float)
        idx = np.searchsorted(self.times, t, side="right") - 1
        inside = np.where(idx >= 0, self.survival[np.maximum(idx, 0)] if len(self.times) else 1.0, 1.0)
        tail = self.tail_level * (
            self.tail_start / np.maximum(t, self.tail_start) if self.tail_decays else 1.0
        )
        value = np.where(t <= self.tail_start, inside, tail)
        return np.where(t >= self.cap, 0.0, value)


def _horizon_steps(survival: LengthSurvival, ages: np.ndarray, new: int) -> np.ndarray:
    """The future decode steps searched: far enough for the youngest (a new request starts at age
    0) to reach the cap."""
    return _grid(max(1.0, survival.cap - (ages.min() if len(ages) and not new else 0.0)))


@functools.lru_cache(maxsize=64)
def _grid(horizon: float) -> np.ndarray:
    """0 and ``HORIZON_POINTS`` steps spaced geometrically up to ``horizon`` (read-only: shared)."""
    grid = np.concatenate([[0.0], np.geomspace(1.0, horizon, HORIZON_POINTS)])
    grid.flags.writeable = False
    return grid


def _running_usage(
    survival: LengthSurvival,
    ages: np.ndarray,
    sequences: np.ndarray,
    prompt: float,
    steps: np.ndarray,
    ceiling: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the tokens the running requests hold at each of ``steps`` from now."""
    alive_now = np.maximum(survival(ages), 1e-12)[:, None]
    p = np.minimum(survival(ages[:, None] + steps[None, :]) / alive_now, 1.0)  # (requests, steps)
    held = np.minimum(prompt + ages[:, None] + steps[None, :], ceiling) * sequences[:, None]
    return (p * held).sum(axis=0), (p * (1 - p) * held**2).sum(axis=0)


def _new_usage(
    survival: LengthSurvival, prompt: float, steps: np.ndarray, new_sequences: int, ceiling: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of what one new request holds at each of ``steps`` from its admission."""
    p_new = survival(steps)
    held_new = np.minimum(prompt + steps, ceiling) * new_sequences
    return p_new * held_new, p_new * (1 - p_new) * held_new**2


def peak_usage(
    survival: LengthSurvival,
    ages: np.ndarray,
    sequences: np.ndarray,
    prompt: float,
    new: int,
    z: float,
    new_sequences: int = 1,
    ceiling: float = np.inf,
) -> float:
    """The forecast peak of the cache's usage in tokens: the running requests (``ages`` in decode
    steps, ``sequences`` each) and ``new`` fresh ones, no further admissions, ``z`` s.d. above the mean.
    ``ceiling``: the most one sequence can hold (the cache's size: a longer one cannot be held)."""
    steps = _horizon_steps(survival, ages, new)
    mean, var = _running_usage(survival, ages, sequences, prompt, steps, ceiling)
    if new:
        one_mean, one_var = _new_usage(survival, prompt, steps, new_sequences, ceiling)
        mean, var = mean + new * one_mean, var + new * one_var
    return float((mean + z * np.sqrt(var)).max())


def admissible(
    survival: LengthSurvival,
    ages: Sequence[float],
    sequences: Sequence[int],
    prompt: float,
    room: float,
    z: float,
    most: int,
    new_sequences: int = 1,
    ceiling: float = np.inf,
) -> int:
    """How many new requests (up to ``most``) keep the forecast peak within ``room`` tokens.

    ``ceiling`` bounds what one sequence holds: the cache's size. Without it, where ``max_tokens``
    exceeds the cache, the 1/t tail let one long request alone (a 7% chance of reaching 4,096
    tokens, at 1.5 s.d.) fill a 2,000-token cache in the forecast, and nothing was admitted while it
    ran: the simulator's window fell to 1 for a tenth of a run. vLLM never gets there (a request's
    context must fit its cache), so there the bound changes nothing.

    The running requests' forecast is computed once and each candidate count only adds its new
    requests' share: the controller runs this at every reading (every 32nd of a request's latency),
    and recomputing the whole forecast per bisection step made it ~10% of a short run's wall time
    on a fast engine, time the client's event loop did not send or collect requests.
    """
    ages_a = np.asarray(ages, dtype=float)
    seq_a = np.asarray(sequences, dtype=float)
    if peak_usage(survival, ages_a, seq_a, prompt, 0, z, new_sequences, ceiling) > room:
        return 0
    steps = _horizon_steps(survival, ages_a, 1)
    mean, var = _running_usage(survival, ages_a, seq_a, prompt, steps, ceiling)
    one_mean, one_var = _new_usage(survival, prompt, steps, new_sequences, ceiling)

    def fits(new: int) -> bool:
        return float((mean + new * one_mean + z * np.sqrt(var + new * one_var)).max()) <= room

    low, high = 0, max(0, most)  # the peak grows with every request added: bisect
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low
