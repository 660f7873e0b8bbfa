"""The human side: the conversation's status (one module writes it), the transcript, operator
accounts, what operators see and do (take over, reply, hand back), timers and stats."""
