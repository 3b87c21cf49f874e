"""Customer-support chatbot runtime built on Rasa Open Source 3.6."""
