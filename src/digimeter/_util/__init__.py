"""Small helpers shared by every layer (L0): no imports from the rest of digimeter except errors."""
