"""The `weboter` command: parse arguments, call the layers below, print (text or --json).
No business rules live here."""
