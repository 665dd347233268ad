"""SeqPulse gateway service."""
