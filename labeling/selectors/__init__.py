"""Read-side queries: take keyword arguments, return querysets or plain data."""
