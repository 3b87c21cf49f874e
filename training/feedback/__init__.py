"""Agent feedback from the inbox turned into training data (``export-feedback``)."""
