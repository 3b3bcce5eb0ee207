"""Thin HTTP routes and middleware that glue requests to the protocol, the service and the store."""
