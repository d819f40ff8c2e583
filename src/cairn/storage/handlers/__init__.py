"""Reference handlers, one module per scheme, chosen by URI from one registry (``base``)."""
