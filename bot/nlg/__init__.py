"""Reply generation and the channel adapters (length, tone and format per channel)."""
