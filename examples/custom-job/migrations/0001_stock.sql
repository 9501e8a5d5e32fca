-- The job's table: one row per stock-keeping unit.
CREATE TABLE IF NOT EXISTS stock (
    sku VARCHAR(32) NOT NULL,
    description VARCHAR(255) NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    PRIMARY KEY (sku)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
