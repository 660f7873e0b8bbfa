"""One object per channel (WhatsApp, Discord, web): its reply window, how an answer is shaped
and split, how it is sent, and what its delivery receipts and consent words mean."""
