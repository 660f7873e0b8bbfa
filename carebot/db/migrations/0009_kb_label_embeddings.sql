-- A second vector per chunk: the question it answers (its document's title and section heading:
-- "Do I have to pay for return shipping?", "Shipping and delivery: Delivery times"). A customer's
-- paraphrase is much closer to that question than to the answer's wording. Chunks embedded before
-- have none and are embedded again at the next start-up (`embed_pending_chunks`).
DO $$
BEGIN
    IF to_regclass('kb_chunk_embeddings') IS NOT NULL THEN
        ALTER TABLE kb_chunk_embeddings ADD COLUMN label_embedding vector;
    END IF;
END
$$;
