"""Analysis: rank metrics, correlations with CIs, the perfect-scorer ceiling, structure control, verdicts, published numbers."""
