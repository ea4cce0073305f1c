"""`weboter demo`: a small shop website shipped with Weboter, and a workflow that scrapes it."""
