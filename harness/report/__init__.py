"""The report: one page of tables, figures and verdicts built from the planned results."""
