"""The message contract between services: versioned pydantic models, one subject each."""

from seqpulse.common.messages.analysis import (
    BacktestRequested,
    ReanalysisRequested,
    VerdictCreated,
    rpc_subject,
)
from seqpulse.common.messages.base import Message, subject_for
from seqpulse.common.messages.collection import SampleCollected, WindowClosed
from seqpulse.common.messages.deployments import DeploymentFinished, DeploymentTriggered
from seqpulse.common.messages.product import ProductEvent

__all__ = [
    "BacktestRequested",
    "DeploymentFinished",
    "DeploymentTriggered",
    "Message",
    "ProductEvent",
    "ReanalysisRequested",
    "SampleCollected",
    "VerdictCreated",
    "WindowClosed",
    "rpc_subject",
    "subject_for",
]
