-- Pruning of finished deliveries (DESIGN §7): the scheduler deletes delivered, superseded and
-- skipped rows past the retention, oldest first, in batches; dead ones stay for replay. The
-- partial index keeps each batch an index range scan however large the outbox has grown.
CREATE INDEX delivery_finished_idx ON delivery (finished_at)
    WHERE state IN ('delivered', 'superseded', 'skipped');
