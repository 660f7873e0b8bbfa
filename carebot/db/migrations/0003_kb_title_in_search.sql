-- The document's title says what every one of its chunks is about ("Contact and opening hours"):
-- index it with each chunk (weight C: it tells documents apart, not the sections of one).
ALTER TABLE kb_chunks ADD COLUMN title text NOT NULL DEFAULT '';
UPDATE kb_chunks c SET title = d.title FROM kb_documents d WHERE d.id = c.document_id;
ALTER TABLE kb_chunks DROP COLUMN tsv;
ALTER TABLE kb_chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(ts_config, title), 'C') ||
    setweight(to_tsvector(ts_config, heading), 'A') ||
    setweight(to_tsvector(ts_config, body), 'B')) STORED;
CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);
