"""Rasa input and output channels: web widget, Slack, Telegram and email."""
