"""Proving who is asking: one-time codes sent to a contact on file, the limits on asking and
guessing, and the verified links they leave per (channel, sender)."""
