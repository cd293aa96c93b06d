"""The operator's console: server-rendered pages over the same service functions as the API."""
