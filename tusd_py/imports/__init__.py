"""Imports: a URL fetched by the server into a new upload, through the same append path as a PATCH."""
