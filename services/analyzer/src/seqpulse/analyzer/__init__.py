"""SeqPulse analyzer service."""
