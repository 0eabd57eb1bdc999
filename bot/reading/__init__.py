"""Documents read into text: the formats (PDF, DOCX, PPTX, XLSX, HTML, Markdown, text, FAQ
files) to blocks (`extractors.py`), read in bounded worker processes (`reading.py`, fairly
between users: `reading_queue.py`), the blocks cut into passages (`chunking.py`), and the
words' stems (`stemming.py`). A library below the features: the knowledge base reads KB_PATH
with it, documents sent in chat are read with it too. It imports nothing of bot but the
grounding's labels (the worker process imports only this package)."""
