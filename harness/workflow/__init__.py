"""The workflow layer: the config, the runs it names, the plan of jobs and what a job needs to start."""
