"""SeqPulse collector service."""
