"""Demo application exposing /seqpulse-metrics from its own traffic."""
