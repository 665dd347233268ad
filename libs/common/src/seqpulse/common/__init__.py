"""Shared library of the SeqPulse services: config, bus, database, telemetry, runtime."""
