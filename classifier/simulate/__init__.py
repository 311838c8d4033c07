"""Active-learning simulator: ``python -m classifier.simulate FILE [options]``.

Runs the review loop with an oracle (the file's own labels) to find out which data and
which sampling strategy reach a good model with the fewest labels. Modules:

- ``cli``: the command line (``--help`` documents every option);
- ``run``: ``SimConfig`` and ``simulate(config)``: data, features, splits, reports;
- ``data``: the embedding cache, class filtering, the title-grouped split;
- ``loop``: full supervision and one learning curve (train, score, select, repeat);
- ``report``: curves.csv, curves.png, summary.json / summary.md and ``labels_to_reach``.
"""

from classifier.simulate.report import labels_to_reach
from classifier.simulate.run import SimConfig, SimulationError, simulate

__all__ = ["SimConfig", "SimulationError", "labels_to_reach", "simulate"]
