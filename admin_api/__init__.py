"""The admin API: internal callers create, revoke and list links."""
