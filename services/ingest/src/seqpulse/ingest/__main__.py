"""`seqpulse-ingest`: run the ingest service until SIGTERM."""

from __future__ import annotations

from seqpulse.common.runtime import main as run_main
from seqpulse.ingest.app import IngestService
from seqpulse.ingest.config import IngestSettings


def main() -> None:
    settings = IngestSettings()
    run_main(IngestService(settings), settings)


if __name__ == "__main__":
    main()
