"""The help centre: documents, how they are loaded and ingested, and searching them."""
