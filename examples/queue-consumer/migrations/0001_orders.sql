-- One row per queue message: the message ID makes a redelivered record a no-op.
CREATE TABLE IF NOT EXISTS orders (
    message_id VARCHAR(128) NOT NULL PRIMARY KEY,
    sku VARCHAR(64) NOT NULL,
    quantity INT NOT NULL,
    stored_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)
