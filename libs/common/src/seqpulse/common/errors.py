"""The error hierarchy: what a consumer or an HTTP handler may raise, and what each means."""

from __future__ import annotations


class SeqPulseError(Exception):
    """Base of every error SeqPulse raises on purpose."""


class RetryableError(SeqPulseError):
    """A transient failure: the message is redelivered after `delay` seconds."""

    def __init__(self, message: str, *, delay: float | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(SeqPulseError):
    """A failure that no redelivery can fix: the message is terminated and dead-lettered."""


class ValidationFailed(SeqPulseError):
    """Bad input, with the field it concerns and the reason (rendered as problem+json by the gateway)."""

    def __init__(
        self, field: str, reason: str, *, status: int = 400, code: str = "validation_failed"
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status
        self.code = code
