"""Live progress: typed events, the bus that carries them, and the connections that receive them."""

from tusd_py.events.models import Event, EventType, event_from_json

__all__ = ["Event", "EventType", "event_from_json"]
