"""Which ground truths test a claim: a truth measured on the task the supernets were trained and
scored on (same task) decides; one measured on another dataset (transfer) is reported and
labelled, never counted.

Ground-truth names as correlate writes them: "retrain" (the run's architectures retrained from
scratch on the run's own dataset: always the same task), "nats-bench:<dataset>" (NATS-Bench on
the run's sample) and "all-nats-bench:<dataset>" (NATS-Bench on a larger sample). NATS-Bench's
"cifar10-valid" was trained on half of CIFAR-10's training set: its task is CIFAR-10.
"""

from __future__ import annotations

SAME_TASK = "same task"
TRANSFER = "transfer"
RETRAINED = "retrain"

# NATS-Bench dataset key -> the dataset its networks were trained on (harness dataset names)
NATS_TASKS = {"cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100",
              "ImageNet16-120": "ImageNet16-120"}


def truth_dataset(ground_truth: str, run_dataset: str | None) -> str | None:
    """The dataset a ground truth's accuracies were measured on."""
    if ground_truth == RETRAINED:
        return run_dataset
    key = ground_truth.split(":", 1)[1] if ":" in ground_truth else ground_truth
    return NATS_TASKS.get(key, key)


def truth_task(ground_truth: str, run_dataset: str | None) -> str:
    """SAME_TASK when the truth was measured on the run's dataset, else TRANSFER."""
    measured_on = truth_dataset(ground_truth, run_dataset)
    return SAME_TASK if measured_on is not None and measured_on == run_dataset else TRANSFER


def truth_label(ground_truth: str, run_dataset: str | None) -> str:
    """The ground truth's name as tables show it: a transfer truth says so."""
    return ground_truth if truth_task(ground_truth, run_dataset) == SAME_TASK else f"{ground_truth} (transfer)"
