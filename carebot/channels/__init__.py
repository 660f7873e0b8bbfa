"""Delivering conversations over channels: the durable inbox and outbox, the worker that runs
turns one at a time per thread, and the senders for Twilio WhatsApp and Discord."""
