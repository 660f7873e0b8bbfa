-- Chunk embeddings for semantic search (EMBEDDINGS=bedrock:…|openai:…), one row per chunk and
-- embedding model. Only where the pgvector extension is available (the embedded PostgreSQL has
-- it); without it full-text search still works and EMBEDDINGS fails with a clear message.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        CREATE EXTENSION IF NOT EXISTS vector;
        -- No fixed dimension: it depends on the model, and a help centre is small enough to scan.
        CREATE TABLE kb_chunk_embeddings (
            chunk_id   bigint NOT NULL REFERENCES kb_chunks (id) ON DELETE CASCADE,
            model      text NOT NULL,
            embedding  vector NOT NULL,
            PRIMARY KEY (chunk_id, model)
        );
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pgvector is available but this role may not create it: semantic search is off';
END
$$;
