"""`seqpulse-bus apply`: create or update every declared stream and consumer."""

from __future__ import annotations

import argparse
import asyncio

from seqpulse.common.bus.client import Bus
from seqpulse.common.config import CommonSettings


async def _apply(replicas: int) -> None:
    settings = CommonSettings()
    bus = await Bus.connect(settings.nats_url, settings.bus_prefix, name="seqpulse-bus")
    try:
        for line in await bus.apply(replicas=replicas):
            print(f"applied {line}")
    finally:
        await bus.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="seqpulse-bus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    apply = sub.add_parser("apply", help="create or update streams and consumers")
    apply.add_argument("--replicas", type=int, default=1, help="stream/consumer replicas (3 in a cluster)")
    args = parser.parse_args()
    if args.command == "apply":
        asyncio.run(_apply(args.replicas))
