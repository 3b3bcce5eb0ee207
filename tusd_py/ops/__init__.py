"""Running the server: background work, health, metrics, logging and shutdown."""
