"""Ground truth from NATS-Bench: its query API and the bundled topology-space table."""
