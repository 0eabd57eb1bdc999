"""Voice replies: answers spoken with SpeechKit, and long voice notes heard asynchronously."""
