"""The NATS JetStream bus: streams and consumers as data, publishing, and the one consumer loop."""

from seqpulse.common.bus.client import Bus
from seqpulse.common.bus.consumer import Consumer, Delivery, route
from seqpulse.common.bus.streams import CONSUMERS, STREAMS, ConsumerSpec, StreamSpec

__all__ = ["CONSUMERS", "STREAMS", "Bus", "Consumer", "ConsumerSpec", "Delivery", "StreamSpec", "route"]
