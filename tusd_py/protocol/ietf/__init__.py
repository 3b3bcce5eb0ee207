"""The IETF draft "Resumable Uploads for HTTP" (draft-ietf-httpbis-resumable-upload), every interop version."""
