"""The redirector: the public hot path, one Lua call a request."""
