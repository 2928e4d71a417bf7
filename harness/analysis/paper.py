"""Published ImageNet numbers the comparison table shows beside the harness's own (labelled as
published; the harness never mixes them with its measurements). Sources: PAPER_FACTS.md."""

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
