"""One module per handled service; the registry lists them."""
