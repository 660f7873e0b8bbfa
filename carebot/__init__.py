"""carebot: a WhatsApp customer-care agent built on LangGraph."""

__version__ = "0.1.0"
