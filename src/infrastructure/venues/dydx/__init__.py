"""dYdX v4 adapter."""
