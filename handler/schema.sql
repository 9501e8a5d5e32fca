-- The schema the function reads, applied by migrate.handler at deploy time from inside
-- the VPC. Every statement is idempotent: running the file again changes nothing.
-- (One statement per ';'. Keep ';' out of literals and comments.)

CREATE TABLE IF NOT EXISTS employees (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NULL,
    department VARCHAR(100) NULL,
    hired_on DATE NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    UNIQUE KEY uq_employees_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS schema_migrations (
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (checksum)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
