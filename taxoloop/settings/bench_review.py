"""Settings of the review benchmark's server (``benchmarks/bench_review.py``): the
production-like base settings with ``labeling.server_timing`` first in the middleware, where
the benchmark reads the server's own time for each request from.

It lives here, not beside the benchmark, because importing ``taxoloop`` reads the settings
(``taxoloop/celery.py``): a settings module outside this package would be imported twice.
"""

from .base import *  # noqa: F403
from .base import MIDDLEWARE

SERVER_TIMING = "labeling.server_timing.ServerTimingMiddleware"
MIDDLEWARE = [SERVER_TIMING, *(m for m in MIDDLEWARE if m != SERVER_TIMING)]
