"""Conversation locks shared by several Rasa server processes."""
