from harness.cli import main
from harness.environment import write_job_record

status = main()
write_job_record(status)  # a workflow job's record of what it ran with (harness.environment)
raise SystemExit(status)
