"""`seqpulse-collector`: run the collector until SIGTERM."""

from __future__ import annotations

from seqpulse.collector.app import CollectorService
from seqpulse.collector.config import CollectorSettings
from seqpulse.common.runtime import main as run_main


def main() -> None:
    settings = CollectorSettings()
    run_main(CollectorService(settings), settings)


if __name__ == "__main__":
    main()
