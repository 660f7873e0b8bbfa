"""The machine side of a message: accepting it (inbox), answering it one turn at a time per
conversation (answering, jobs), sending the reply (outbox) on its channel (`channels/`), acks,
consent and the providers' delivery receipts."""
