"""SeqPulse ingest service: stores product analytics events."""
