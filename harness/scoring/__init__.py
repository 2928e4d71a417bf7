"""Scoring subnets: the supernet scorers (SPOS evaluation, the BN indicator), zero-cost proxies, BN diagnostics."""
