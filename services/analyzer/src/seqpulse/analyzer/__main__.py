"""`seqpulse-analyzer`: run the analyzer until SIGTERM."""

from __future__ import annotations

from seqpulse.analyzer.app import AnalyzerService
from seqpulse.analyzer.config import AnalyzerSettings
from seqpulse.common.runtime import main as run_main


def main() -> None:
    settings = AnalyzerSettings()
    run_main(AnalyzerService(settings), settings)


if __name__ == "__main__":
    main()
