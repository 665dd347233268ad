"""The `seqpulse` command line: CI gate and offline analysis."""
