"""The service runtime: start order, health endpoints, graceful drain on SIGTERM."""

from seqpulse.common.runtime.service import Service, main, run_service

__all__ = ["Service", "main", "run_service"]
