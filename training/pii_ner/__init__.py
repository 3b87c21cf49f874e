"""The MiniLM tagger of person names and addresses: generated data and fine-tuning."""
