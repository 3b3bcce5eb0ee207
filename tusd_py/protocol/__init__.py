"""Pure tus 1.0.0: parsing and formatting headers, and deciding statuses. No I/O lives here."""
