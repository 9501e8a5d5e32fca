-- Migration 1: the table the function reads.
-- Applied once and recorded in schema_history with this file's SHA-256: never edit it once
-- deployed; change the schema with a new, higher-numbered file instead.
-- Statements end with a semicolon, so none may appear inside a literal or a comment.

CREATE TABLE employees (
    id INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name VARCHAR(100) NOT NULL,
    email VARCHAR(255) NULL,
    department VARCHAR(100) NULL,
    hired_on DATE NULL,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    UNIQUE KEY uq_employees_email (email)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
