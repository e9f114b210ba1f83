"""One module per verb; each returns a report object and never prints."""
