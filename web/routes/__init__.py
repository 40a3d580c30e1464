"""One module per area; each has ``setup(app)`` adding its routes."""
