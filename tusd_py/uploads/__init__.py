"""Upload orchestration: one straight line from a request body, through the lock, into the store."""
