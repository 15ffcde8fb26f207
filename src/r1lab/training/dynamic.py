"""DAPO-style dynamic sampling on top of TRL's GRPOTrainer, without forking it.

A group whose completions all earn the same reward has zero advantage for every completion, so it
teaches GRPO nothing; TRL still counts its tokens in the loss normalizer (``loss_type`` dapo/bnpo)
and applies the KL term to it, and logs how many there were as ``frac_reward_zero_std``. DAPO
(Yu et al. 2025, section 3.2) keeps sampling until the batch holds only groups with mixed rewards.

TRL 1.16 has no such option (``scale_rewards``, ``mask_truncated_completions`` and
``top_entropy_quantile`` mask other things), so :class:`DynamicSamplingGRPOTrainer` overrides two
methods and calls TRL's own for everything:

* ``_calculate_rewards``: keeps the gathered per-function rewards of the batch just scored;
* ``_generate_and_score_completions``: after TRL has scored the batch, finds the zero-variance
  groups and removes their completions from the loss by zeroing their completion mask (as TRL's
  ``mask_truncated_completions`` does for truncated ones) and recounting ``num_items_in_batch``.

What it does not do is DAPO's over-sampling: a step trains on the informative groups of its own
batch, fewer than the batch size when some are skipped, instead of generating more to refill it
(that would mean re-running generation inside TRL's buffering). With ``loss_type`` dapo, bnpo or
cispo the skipped groups then no longer dilute the token-mean; with ``grpo`` (a mean over sequences)
they still count in the denominator. Logged per step: ``dynamic_sampling/skipped_share`` (groups
left out, the "before": TRL's ``frac_reward_zero_std`` measures the same thing for group scaling),
``dynamic_sampling/zero_std_share_after`` (zero-variance share among the groups trained on: 0 by
construction; not logged for a step where every group was skipped) and ``dynamic_sampling/kept_groups``.

A micro-batch with every group left out skips the forward and backward passes (``compute_loss``): its
loss and gradient are zero whatever they would compute, and on a CPU those passes are most of a step
(the smollm2 demo, 1 group a step: 47% of its 30 steps, ~11 of their ~13.5 s each). Logged as
``dynamic_sampling/skipped_passes``.
"""

from __future__ import annotations

import logging

import torch
from trl import GRPOTrainer

logger = logging.getLogger(__name__)

METRIC_SKIPPED = "dynamic_sampling/skipped_share"
METRIC_AFTER = "dynamic_sampling/zero_std_share_after"
METRIC_KEPT = "dynamic_sampling/kept_groups"
METRIC_PASSES_SKIPPED = "dynamic_sampling/skipped_passes"


def informative_groups(
    rewards_per_func: torch.Tensor, weights: torch.Tensor, num_generations: int, atol: float = 1e-6
) -> torch.Tensor:
    """A bool per completion: does its group's weighted total reward vary? (the rows are grouped in order).

    Unscorable completions (every reward None, NaN here) are left out of the comparison, as TRL
    leaves them out of the group baseline; a group with fewer than two scored completions has no
    variance to learn from.
    """
    scored = ~torch.isnan(rewards_per_func).all(dim=1)
    totals = (rewards_per_func * weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
    groups = totals.view(-1, num_generations)
    valid = scored.view(-1, num_generations)
    high = torch.where(valid, groups, torch.full_like(groups, -torch.inf)).max(dim=1).values
    low = torch.where(valid, groups, torch.full_like(groups, torch.inf)).min(dim=1).values
    varies = (valid.sum(dim=1) >= 2) & ((high - low) > atol)
    return varies.repeat_interleave(num_generations)


class DynamicSamplingGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that leaves groups with identical rewards out of the loss (see the module docstring)."""

    _last_rewards_per_func: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._last_rewards_per_func = rewards
        return rewards

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        rewards = self._last_rewards_per_func
        if not self.model.training or rewards is None:
            return output  # evaluation reports every group as it is
        keep_all = informative_groups(rewards, self.reward_weights, self.num_generations)
        local = output["completion_ids"].size(0)
        start = self.accelerator.process_index * local
        keep = keep_all[start : start + local].to(output["completion_mask"].device)
        mask = output["completion_mask"] * keep.unsqueeze(1).to(output["completion_mask"].dtype)
        output["completion_mask"] = mask
        loss_mask = mask if output.get("tool_mask") is None else mask * output["tool_mask"]
        output["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()

        groups = keep_all.view(-1, self.num_generations)[:, 0]
        kept = int(groups.sum().item())
        metrics = self._metrics["train"]
        metrics[METRIC_SKIPPED].append(1.0 - kept / len(groups))
        metrics[METRIC_KEPT].append(float(kept))
        if kept:
            metrics[METRIC_AFTER].append(0.0)  # by construction; kept as a metric so "after" is on record
        else:
            logger.info(
                "dynamic sampling: all %d groups have identical rewards; this step learns nothing",
                len(groups),
            )
        self._last_rewards_per_func = None
        return output

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """A micro-batch whose groups were all left out has a zero loss and a zero gradient: skip its
        forward and backward passes (most of a CPU step) and return a zero that reaches every
        trainable weight, so the optimizer sees zero gradients, as after TRL's own passes, not
        missing ones (Adam's moments still decay). Only in a single process: DDP and ZeRO expect
        every rank's forward pass."""
        if (
            model.training
            and not inputs["completion_mask"].any()
            and self.accelerator.num_processes == 1
            and not self.is_deepspeed_enabled
        ):
            self._metrics["train"][METRIC_PASSES_SKIPPED].append(1.0)
            return sum((p * 0).sum() for p in model.parameters() if p.requires_grad)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


__all__ = ["DynamicSamplingGRPOTrainer", "informative_groups"]
