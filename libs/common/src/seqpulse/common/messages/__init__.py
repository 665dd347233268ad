"""The message contract between services: versioned pydantic models, one subject each."""

from seqpulse.common.messages.analysis import VerdictCreated
from seqpulse.common.messages.base import Message, subject_for
from seqpulse.common.messages.collection import SampleCollected, WindowClosed
from seqpulse.common.messages.deployments import DeploymentFinished, DeploymentTriggered

__all__ = [
    "DeploymentFinished",
    "DeploymentTriggered",
    "Message",
    "SampleCollected",
    "VerdictCreated",
    "WindowClosed",
    "subject_for",
]
