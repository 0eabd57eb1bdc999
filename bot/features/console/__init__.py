"""The console for the support lead (issue 80): every answer inspectable in a browser, served
by the bot's own web server (CONSOLE=on)."""
