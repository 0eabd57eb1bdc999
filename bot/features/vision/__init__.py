"""Photos in a conversation as a turn's feature: which images a turn shows and which model
sees them (the images' own rules are in bot/features/vision/images.py)."""
