"""Records: the one place that opens result files.

Every file a job writes under the results directory is read back through this package: typed
records of training, scoring, search, retraining and correlations, loaded through the run's
manifest. Analysis, verdicts, the report, `verify` and `bundle` take these records; nothing else
under harness/ globs or opens a result file (tests/test_results_boundary.py enforces it).
"""
