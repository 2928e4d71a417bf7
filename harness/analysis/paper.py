"""Published numbers, each with its source and protocol: the one place the harness keeps them.

PUBLISHED              ImageNet results of the searched networks (top-1, FLOPs, params), which
                       the comparison table shows beside the harness's own, labelled as published
                       (the harness never mixes them with its measurements).
PUBLISHED_ZERO_COST    rank correlations of training-free proxies with NATS-Bench accuracy
                       (PublishedCorrelation rows), which the tests check the harness's proxies
                       against and the documentation shows beside the harness's measurements.

Sources: the BN-NAS paper (Chen et al., ICCV 2021) and its code (bychen515/BNNAS), ABS/AngleNAS,
FairNAS; for the proxies the papers and official code named in each row (`source`), "secondary"
where a number comes from a third-party copy of a table and was not checked against the paper.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PUBLISHED = [
    {"space": "spos-mobilenet", "method": "bnnas", "top1_pct": 75.7, "flops_M": 470.0, "params_M": None,
     "source": "BN-NAS paper (ICCV 2021), 0.8 GPU-days"},
    {"space": "spos-mobilenet", "method": "bnnas", "top1_pct": 75.5, "flops_M": 473.5, "params_M": 5.2,
     "source": "BN-NAS official repo re-implementation"},
    {"space": "spos-mobilenet", "method": "spos", "top1_pct": 75.4, "flops_M": 468.8, "params_M": 5.8,
     "source": "BN-NAS official repo re-implementation"},
    {"space": "spos-mobilenet", "method": "spos", "top1_pct": 75.33, "flops_M": 465.0, "params_M": None,
     "source": "ABS (AngleNAS) paper"},
    {"space": "fairnas-mobilenet", "method": "fairnas", "top1_pct": 74.24, "flops_M": 322.0, "params_M": None,
     "source": "ABS (AngleNAS) paper"},
    {"space": "fairnas-mobilenet", "method": "fairnas", "top1_pct": 74.69, "flops_M": 321.0, "params_M": 4.4,
     "source": "FairNAS-C (FairNAS paper)"},
]


@dataclass(frozen=True)
class PublishedCorrelation:
    """A published rank correlation of a proxy's score with NATS-Bench accuracy.

    method        the harness method that computes the proxy
    dataset       the NATS-Bench dataset (cifar10, cifar100, ImageNet16-120)
    target        the accuracy it is against as a column of the bundled NATS-Bench table
                  (harness.groundtruth.nats_bench_bundled FULL_TABLE), e.g. c10_test_acc_200;
                  None where that table has no such column (then `protocol` says what it is)
    archs         how many architectures (15,625 = all of NATS-Bench TSS)
    kendall_tau   Kendall's tau, None where the source gives none
    spearman_rho  Spearman's rho (as published; some sources give |rho|), None where none
    source        the paper, table or code output, "(checked)" where read in the paper text or
                  official code, "(secondary)" from a third-party copy
    protocol      what the proxy saw (data, batch, initialisation) and what it was ranked against
    """

    method: str
    dataset: str
    target: str | None
    archs: int
    kendall_tau: float | None
    spearman_rho: float | None
    source: str
    protocol: str
    space: str = "nats-tss"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


ALL_TSS = 15625
C10, C100, IN16 = "cifar10", "cifar100", "ImageNet16-120"
TEST_200 = {C10: "c10_test_acc_200", C100: "c100_test_acc_200", IN16: "in16_test_acc_200"}
ZICO_TABLE = "test accuracy after 200 epochs, all 15,625 architectures, the proxy on real labelled batches"
SUITE_ZERO = "NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 Datasets and Benchmarks), Spearman"
SUITE_ZERO_PROTOCOL = "validation accuracy, 1,000 random architectures, batch 64 (NASLib zerocost)"
NO_COLUMN: dict[str, str | None] = {C10: None, C100: None, IN16: None}


def _rows(method: str, values: dict[str, tuple[float | None, float | None]], source: str, protocol: str,
          target: dict[str, str | None] = TEST_200, archs: int = ALL_TSS) -> list[PublishedCorrelation]:
    return [PublishedCorrelation(method, dataset, target[dataset], archs, tau, rho, source, protocol)
            for dataset, (tau, rho) in values.items()]


PUBLISHED_ZERO_COST: list[PublishedCorrelation] = [
    *_rows("az_nas", {C10: (0.741, 0.913)},
           "AZ-NAS official notebook output (cvlab-yonsei/AZ-NAS, NB201/tss_general.ipynb) (checked)",
           "Gaussian input (batch 64), kaiming-normal re-initialisation, train-mode BN; CIFAR-10 ori-test "
           "accuracy after 200 epochs, all 15,625 architectures"),
    *_rows("az_nas", {C100: (0.723, None), IN16: (0.710, None)}, "AZ-NAS paper (secondary)",
           "test accuracy after 200 epochs, all 15,625 architectures"),
    *_rows("synflow", {C10: (None, 0.737), C100: (None, 0.763), IN16: (None, 0.751)},
           "Abdelfattah et al. 2021 (zero-cost proxies for lightweight NAS), |Spearman|",
           "data-free (BN removed, float64, |weights|, all-ones input); test accuracy after 200 epochs (CIFAR-10: "
           "the cifar10-valid protocol's test accuracy), all 15,625 architectures",
           target={**TEST_200, C10: "c10valid_test_acc_200"}),
    *_rows("zico", {C10: (0.61, 0.80), C100: (0.61, 0.81), IN16: (0.60, 0.79)},
           "ZiCo paper (Li et al., ICLR 2023), Table 1 (checked)", ZICO_TABLE + " (2 batches of 128)"),
    *_rows("naswot", {C10: (0.58, 0.77), C100: (0.62, 0.80), IN16: (0.60, 0.78)},
           "ZiCo paper, Table 3 (checked)", ZICO_TABLE),
    *_rows("params", {C10: (0.57, 0.75), C100: (0.55, 0.73), IN16: (0.52, 0.69)},
           "ZiCo paper, Table 1 (checked)", "test accuracy after 200 epochs, all 15,625 architectures"),
    *_rows("flops", {C10: (0.54, 0.73), C100: (0.51, 0.71), IN16: (0.49, 0.67)},
           "ZiCo paper, Table 1 (checked)", "test accuracy after 200 epochs, all 15,625 architectures"),
    *_rows("meco", {C10: (None, 0.894), C100: (None, 0.883), IN16: (None, 0.845)},
           "MeCo paper (Jiang et al., NeurIPS 2023) (secondary)",
           "one real image; test accuracy after 200 epochs, all 15,625 architectures"),
    *[row for method, values in {
        "naswot": (0.77, 0.80, 0.77), "jacob_cov": (0.75, 0.71, 0.71), "synflow": (0.73, 0.76, 0.75),
        "params": (0.72, 0.73, 0.69), "flops": (0.69, 0.71, 0.67), "epe_nas": (0.70, 0.60, 0.33),
        "snip": (0.58, 0.63, 0.57), "zen": (0.35, 0.35, 0.39)}.items()
      for row in _rows(method, {C10: (None, values[0]), C100: (None, values[1]), IN16: (None, values[2])},
                       SUITE_ZERO, SUITE_ZERO_PROTOCOL, target=NO_COLUMN, archs=1000)],
]


def published_correlation(method: str, dataset: str = C10, *, archs: int | None = ALL_TSS) -> PublishedCorrelation:
    """The published correlation of `method` on `dataset` (over all 15,625 architectures by
    default; archs=None: the first listed whatever the sample). A KeyError names what is known."""
    for row in PUBLISHED_ZERO_COST:
        if row.method == method and row.dataset == dataset and (archs is None or row.archs == archs):
            return row
    known = sorted({(row.method, row.dataset, row.archs) for row in PUBLISHED_ZERO_COST})
    raise KeyError(f"no published correlation for {method!r} on {dataset!r} over {archs} architectures; known: {known}")
