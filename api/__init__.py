"""The outside of yishi: the HTTP API and the command line. No business rule lives here."""
