class ServiceError(Exception):
    """A business rule refused the request; the message says what and why."""
