"""Rasa graph components: the transformer intent classifier and the response generator."""
